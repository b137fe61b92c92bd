"""Re-planning against the present and the published plan (docs/model.md, "Re-planning"):
visits under way are fixed, published visits stay unless their engineer is gone, every
move is listed with its reason, and the independent checker passes every plan."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from dispatcher.check import check_plan
from dispatcher.codec import plan_to_dict, problem_from_dict, problem_to_dict
from dispatcher.compile import compile_problem
from dispatcher.diff import plan_changes, published_visits
from dispatcher.domain import InProgress, Plan, Problem, PublishedVisit
from dispatcher.errors import InputError
from dispatcher.generate import generate_problem
from dispatcher.planner import PlanOptions, plan_problem
from solver.problem import NO_DEADLINE
from solver.timing import retime_cost

FULL = PlanOptions(time_limit_s=60, solution_limit=40)
INCREMENTAL = replace(FULL, mode="incremental")


def _hard(problem: Problem, plan: Plan) -> list[str]:
    return [f"{v.code}: {v.message}" for v in check_plan(problem, plan) if v.hard]


def _assignments(plan: Plan) -> dict[str, tuple[str, object]]:
    return {v.order_id: (r.engineer_id, v.start) for r in plan.routes for v in r.visits}


@pytest.fixture(scope="module")
def published() -> tuple[Problem, Plan]:
    """A 40-order, 6-engineer problem, planned once: the plan in force."""
    problem = problem_from_dict(generate_problem(40, 6, seed=11))
    plan = plan_problem(problem, FULL)
    assert not _hard(problem, plan)
    return replace(problem, published=published_visits(plan)), plan


def test_an_unchanged_world_replans_to_the_identical_plan(published: tuple[Problem, Plan]) -> None:
    problem, before = published
    after = plan_problem(problem, INCREMENTAL)
    assert _assignments(after) == _assignments(before)
    assert plan_changes(problem, after) == []
    assert after.meta["final_phase"] == "given"
    assert not _hard(problem, after)


def test_one_new_ticket_moves_no_published_visit(published: tuple[Problem, Plan]) -> None:
    problem, before = published
    extra = problem_from_dict(generate_problem(41, 6, seed=11)).orders[-1]
    extra = replace(extra, id="NEW-1")
    grown = replace(problem, orders=(*problem.orders, extra))
    after = plan_problem(grown, INCREMENTAL)
    assert not _hard(grown, after)
    now = _assignments(after)
    for order_id, (engineer, _) in _assignments(before).items():
        assert now[order_id][0] == engineer, order_id
    changes = {c.order_id: c for c in plan_changes(grown, after)}
    if "NEW-1" in now:
        assert changes["NEW-1"].kind == "added" and changes["NEW-1"].reason == "new_order"
    assert all(c.kind in ("added", "retimed") for c in changes.values())


def test_a_sick_engineer_moves_only_their_visits(published: tuple[Problem, Plan]) -> None:
    problem, before = published
    busiest = max(before.routes, key=lambda r: len(r.visits))
    sick = busiest.engineer_id
    roster = tuple(e if e.id != sick else replace(e, shifts=()) for e in problem.engineers)
    after = plan_problem(replace(problem, engineers=roster), INCREMENTAL)
    problem_after = replace(problem, engineers=roster)
    assert not _hard(problem_after, after)
    now = _assignments(after)
    theirs = {v.order_id for v in busiest.visits}
    changes = {c.order_id: c for c in plan_changes(problem_after, after)}
    for order_id, (engineer, _) in _assignments(before).items():
        if order_id in theirs:
            continue
        if order_id in now:
            assert now[order_id][0] == engineer, order_id  # kept, never reassigned
        else:  # gave its place to a more important order of the sick engineer
            assert changes[order_id].kind == "dropped"
            assert changes[order_id].reason == "capacity"
    for order_id in theirs:
        change = changes[order_id]
        assert change.kind in ("reassigned", "dropped")
        assert change.from_engineer == sick
        if change.kind == "reassigned":
            assert change.reason == "engineer_unavailable"


def test_a_visit_under_way_is_fixed_and_never_overlapped(published: tuple[Problem, Plan]) -> None:
    problem, before = published
    route = next(r for r in before.routes if len(r.visits) >= 2)
    first = route.visits[0]
    order = next(o for o in problem.orders if o.id == first.order_id)
    end = problem.planning_start + timedelta(hours=5)
    visit = InProgress(
        order.id, route.engineer_id, order.site.location, problem.planning_start, end
    )
    now = replace(
        problem,
        orders=tuple(o for o in problem.orders if o.id != order.id),
        in_progress=(visit,),
        published=tuple(p for p in problem.published if p.order_id != order.id),
    )
    engineer = now.engineer(route.engineer_id)
    assert engineer is not None and engineer.current is not None
    assert engineer.current.available_from == end
    for mode in ("full", "incremental"):
        plan = plan_problem(now, replace(FULL, mode=mode))
        assert not _hard(now, plan), mode
        mine = next(r for r in plan.routes if r.engineer_id == route.engineer_id)
        assert order.id not in _assignments(plan)
        if mine.visits:
            assert mine.visits[0].departure >= end
            assert mine.start_location == order.site.location
    # A hand-made plan that sends the engineer off during the visit is flagged.
    bad_route = replace(route, visits=route.visits[1:])
    bad = replace(before, routes=tuple(bad_route if r is route else r for r in before.routes))
    kinds = {v.code for v in check_plan(now, bad)}
    assert "in_progress_overlap" in kinds
    twice = replace(before, routes=tuple(r for r in before.routes))
    assert "in_progress_planned" in {v.code for v in check_plan(now, twice)}


def test_an_order_cannot_be_open_and_under_way(published: tuple[Problem, Plan]) -> None:
    problem, _ = published
    order = problem.orders[0]
    visit = InProgress(
        order.id, "x", order.site.location, problem.planning_start, problem.planning_start
    )
    with pytest.raises(InputError) as caught:
        replace(problem, in_progress=(visit,))
    assert caught.value.path == "in_progress[0].order_id"


def test_the_present_round_trips_through_the_contract(published: tuple[Problem, Plan]) -> None:
    problem, _ = published
    order = problem.orders[0]
    end = problem.planning_start + timedelta(hours=2)
    visit = InProgress(
        order.id, problem.engineers[0].id, order.site.location, problem.planning_start, end
    )
    now = replace(
        problem,
        orders=problem.orders[1:],
        in_progress=(visit,),
        published=problem.published[:3],
    )
    doc = problem_to_dict(now)
    again = problem_from_dict(doc)
    assert again.in_progress == now.in_progress and again.published == now.published
    assert problem_to_dict(again) == doc
    assert again.engineers[0].current == now.engineers[0].current


def test_published_visits_are_pinned_when_frozen_and_priced_otherwise(
    published: tuple[Problem, Plan],
) -> None:
    problem, before = published
    compiled = compile_problem(problem)
    base = compile_problem(replace(problem, published=())).data.vehicle_node_cost
    base = np.zeros((len(problem.engineers), compiled.data.n_nodes)) if base is None else base
    index = {e.id: v for v, e in enumerate(problem.engineers)}
    frozen_s = problem.policy.stability.frozen_hours * 3600
    w = problem.policy.weights
    priority = {o.id: o.priority for o in problem.orders}
    data = compiled.data
    assert data.target_s is not None and data.retime_cost_per_hour is not None
    assert data.vehicle_node_cost is not None
    extra = data.vehicle_node_cost - base
    checked = frozen = 0
    for pub in problem.published:
        node = compiled.order_node[pub.order_id]
        v = index[pub.engineer_id]
        start_s = (pub.start - problem.planning_start).total_seconds()
        assert data.target_s[node] != NO_DEADLINE
        if start_s < frozen_s:
            assert data.allowed_vehicles[node] == [v]
            frozen += 1
        else:
            assert extra[v, node] == 0
            may = data.allowed_vehicles[node] or range(data.n_vehicles)
            charge = w.reassign * w.priority_factor[priority[pub.order_id]]
            assert all(extra[u, node] == charge for u in may if u != v)
        checked += 1
    assert checked == len(_assignments(before))
    assert 0 < frozen < checked  # both kinds were seen


def test_drift_is_priced_beyond_the_tolerance_either_way() -> None:
    class Data:
        target_s = np.array([NO_DEADLINE, 1000, 1000])
        retime_tolerance_s = 600
        retime_cost_per_hour = np.array([0, 3600, 7200])

    nodes = np.array([0, 1, 2])
    # node 1 starts 1000 s late (400 s beyond), node 2 1000 s early (400 s beyond).
    assert retime_cost(Data(), nodes, np.array([5, 2000, 0])) == 400 + 800  # type: ignore[arg-type]
    assert retime_cost(Data(), nodes, np.array([5, 1500, 500])) == 0  # type: ignore[arg-type]
    _ = PublishedVisit  # the contract type the published plan is made of


def test_the_cli_replans_against_a_plan_file_and_lists_the_changes(
    published: tuple[Problem, Plan], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dispatcher.cli import main

    problem, before = published
    busiest = max(before.routes, key=lambda r: len(r.visits))
    roster = tuple(
        e if e.id != busiest.engineer_id else replace(e, shifts=()) for e in problem.engineers
    )
    (tmp_path / "problem.json").write_text(
        json.dumps(problem_to_dict(replace(problem, engineers=roster, published=())))
    )
    (tmp_path / "plan.json").write_text(json.dumps(plan_to_dict(before)))
    code = main(
        [
            "plan", str(tmp_path / "problem.json"), "--published", str(tmp_path / "plan.json"),
            "--solution-limit", "40", "--quiet", "--out", str(tmp_path / "new.json"),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Changes against the published plan:" in out
    listed = out.split("Changes against the published plan:")[1].splitlines()
    for visit in busiest.visits:
        line = next(x for x in listed if f" {visit.order_id} " in x)
        assert busiest.engineer_id in line and ("reassigned" in line or "dropped" in line)
    new = json.loads((tmp_path / "new.json").read_text())
    assert new["meta"]["mode"] == "incremental"
    assert main(["plan", str(tmp_path / "problem.json"), "--mode", "partial"]) == 2
