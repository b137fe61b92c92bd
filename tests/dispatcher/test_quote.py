"""ETA quotes (dispatcher/quote.py): a hand-checked case, the quote against the next
incremental re-plan, unservable orders, displaced visits, and every option checked by the
independent checker once applied to the plan."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from dispatcher.check import check_plan
from dispatcher.codec import format_datetime, plan_to_dict, problem_from_dict
from dispatcher.compile import compile_problem
from dispatcher.decode import decode
from dispatcher.diff import published_visits
from dispatcher.domain import Location, Order, Plan, Problem, Reason, Site, Window
from dispatcher.errors import InputError
from dispatcher.generate import generate_problem
from dispatcher.planner import PlanOptions, plan_problem
from dispatcher.quote import QuoteBook, QuoteOption, order_facts, quote
from dispatcher.travel import geodesic_km

FIXTURE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "small" / "two_engineers_four_orders.json"
)
LIMITED = PlanOptions(time_limit_s=60, solution_limit=30)
INCREMENTAL = replace(LIMITED, mode="incremental")


def _small() -> tuple[Problem, Plan]:
    """The fixture (E1: A then B, E2: C then D; arithmetic in its comments), planned and
    published."""
    problem = problem_from_dict(json.loads(FIXTURE.read_text()))
    plan = plan_problem(problem, LIMITED)
    return replace(problem, published=published_visits(plan)), plan


def _order(order_id: str, lat: float, lon: float, **more: object) -> Order:
    fields: dict[str, object] = {
        "id": order_id,
        "site": Site(Location(lat, lon), "KE", order_id),
        "received_at": datetime.fromisoformat("2026-11-23T07:00:00+00:00"),
        "service_minutes": 30,
    }
    fields.update(more)
    return Order(**fields)  # type: ignore[arg-type]


def _applied(problem: Problem, plan: Plan, order: Order, option: QuoteOption) -> Plan:
    """``plan`` with ``order`` inserted where ``option`` puts it, decoded by the planner's
    decoder from the problem with the order."""
    grown = replace(problem, orders=(*problem.orders, order))
    c = compile_problem(grown)
    routes = [[c.order_node[v.order_id] for v in r.visits] for r in plan.routes]
    v = next(k for k, e in enumerate(grown.engineers) if e.id == option.engineer_id)
    routes[v].insert(option.position, c.order_node[order.id])
    return decode(c, routes, "feasible", {})


def _hard(problem: Problem, plan: Plan) -> list[str]:
    return [f"{v.code}: {v.message}" for v in check_plan(problem, plan) if v.hard]


def test_hand_checked_quote_puts_the_order_after_b_at_b_end_plus_the_leg() -> None:
    problem, plan = _small()
    # N, no skill needed, 0.5 deg east of B (1.0, 0.0). E1 after B: B->N 55.7 km + N->home
    # 123.6 - B->home 110.6 = 68.7 km more; before B: A->N 78.2 + N->B 55.7 - A->B 55.3 =
    # 78.6; E2 (at 1.0, 2.0 after D) is 1.5 deg away: its cheapest detour is dearer.
    new = _order("N", 1.0, 0.5)
    q = quote(problem, new, limit=3)
    assert q.reason is None
    assert [o.engineer_id for o in q.options] == ["E1", "E2"]
    best = q.options[0]
    # B ends at 11:50:34 (fixture comments); drive 60 km/h, circuity 1: minutes = km.
    leg_s = round(float(geodesic_km(1.0, 0.0, 1.0, 0.5)) / 60.0 * 3600.0)
    b_end = datetime.fromisoformat("2026-11-23T11:50:34+00:00")
    assert best.eta == b_end + timedelta(seconds=leg_s)
    assert best.start == best.eta and best.position == 2
    assert best.on_time and best.deadline == datetime.fromisoformat("2026-11-24T07:00:00+00:00")
    assert best.slack_minutes == pytest.approx((best.deadline - best.eta).total_seconds() / 60)
    back = float(geodesic_km(1.0, 0.5, 0.0, 0.0)) - float(geodesic_km(1.0, 0.0, 0.0, 0.0))
    assert best.extra_travel_km == pytest.approx(float(geodesic_km(1.0, 0.0, 1.0, 0.5)) + back)
    assert best.displaces == ()
    # The checker agrees with every option applied to the plan, arrival to the second.
    for option in q.options:
        applied = _applied(problem, plan, new, option)
        grown = replace(problem, orders=(*problem.orders, new))
        assert not _hard(grown, applied)
        (visit,) = [v for r in applied.routes for v in r.visits if v.order_id == "N"]
        assert (visit.arrival, visit.start) == (option.eta, option.start)
    doc = q.to_dict()
    assert doc["options"][0]["engineer_id"] == "E1" and doc["reason"] is None
    assert set(doc["options"][0]) == {
        "engineer_id", "eta", "start", "on_time", "deadline", "slack_minutes",
        "extra_travel_km", "displaces",
    }  # fmt: skip


def test_a_limit_of_one_gives_the_best_option_only() -> None:
    problem, _ = _small()
    q = quote(problem, _order("N", 1.0, 0.5), limit=1)
    assert [o.engineer_id for o in q.options] == ["E1"]


def test_displaces_names_the_published_visit_the_insertion_makes_late() -> None:
    problem, plan = _small()
    # B must be reached by 11:00 (it is at 10:50:34). N, mechanical, halfway between A and B,
    # open 10:00-11:00 for 15 minutes: it fits only between A and B, and B then arrives at
    # 11:05:33, late. Still cheaper than leaving N out (a breach costs less than a drop).
    tight = tuple(
        replace(o, deadline=datetime.fromisoformat("2026-11-23T11:00:00+00:00"))
        if o.id == "B" else o
        for o in problem.orders
    )  # fmt: skip
    problem = replace(problem, orders=tight)

    new = _order(
        "N", 0.75, 0.0, service_minutes=15, required_skills=frozenset({"mechanical"}),
        site_windows=(Window(datetime.fromisoformat("2026-11-23T10:00:00+00:00"),
                             datetime.fromisoformat("2026-11-23T11:00:00+00:00")),),
    )  # fmt: skip
    q = quote(problem, new)
    (option,) = q.options
    assert (option.engineer_id, option.position, option.on_time) == ("E1", 1, True)
    assert option.displaces == ("B",)
    applied = _applied(problem, plan, new, option)
    late = {x.order_id for x in applied.late}
    assert late == {"B"}
    grown = replace(problem, orders=(*problem.orders, new))
    assert not _hard(grown, applied)


@pytest.mark.parametrize(
    ("more", "reason"),
    [
        ({"required_skills": frozenset({"hydraulic"})}, Reason.NO_SKILLED_ENGINEER),
        (
            {"required_skills": frozenset({"mechanical"}), "excluded_engineers": ("E1",)},
            Reason.EXCLUDED,
        ),
    ],
)
def test_an_order_nobody_can_serve_gets_no_option_and_its_reason(
    more: dict[str, object], reason: Reason
) -> None:
    problem, _ = _small()
    q = quote(problem, _order("X", 1.0, 0.5, **more))
    assert q.options == () and q.reason is reason and q.detail
    assert q.to_dict()["reason"] == reason.value


def test_bad_limit_and_an_open_order_id_are_refused_naming_the_field() -> None:
    problem, _ = _small()
    with pytest.raises(InputError, match="limit"):
        quote(problem, _order("N", 1.0, 0.5), limit=0)
    with pytest.raises(InputError, match="^id"):
        quote(problem, _order("A", 1.0, 0.5))


@pytest.fixture(scope="module")
def generated() -> tuple[Problem, Plan, list[Order]]:
    """40 open orders for 6 engineers, planned with a solution limit and published, and new
    tickets of the same generator."""
    doc = generate_problem(48, 6, seed=3)
    full = problem_from_dict(doc)
    problem = replace(full, orders=full.orders[:40])
    plan = plan_problem(problem, LIMITED)
    return replace(problem, published=published_visits(plan)), plan, list(full.orders[40:])


def test_the_quote_is_where_the_next_incremental_plan_puts_the_order(
    generated: tuple[Problem, Plan, list[Order]],
) -> None:
    problem, plan, tickets = generated
    book = QuoteBook(problem)
    placed = 0
    for order in tickets:
        q = book.quote(order, limit=3)
        grown = replace(problem, orders=(*problem.orders, order))
        after = plan_problem(grown, INCREMENTAL)
        got = [(r.engineer_id, v.arrival) for r in after.routes for v in r.visits
               if v.order_id == order.id]  # fmt: skip
        assert [(o.engineer_id, o.eta) for o in q.options[:1]] == got, order.id
        if not q.options:
            (left,) = [u for u in after.unassigned if u.order_id == order.id]
            assert q.reason is left.reason
            continue
        placed += 1
        assert len({o.engineer_id for o in q.options}) == len(q.options) <= 3
        for option in q.options:
            applied = _applied(problem, plan, order, option)
            assert not _hard(grown, applied), (order.id, option.engineer_id)
            (visit,) = [v for r in applied.routes for v in r.visits if v.order_id == order.id]
            assert (visit.arrival, visit.start, visit.on_time) == (
                option.eta, option.start, option.on_time
            )  # fmt: skip
    assert placed >= 3  # the property is not vacuous


def test_order_facts_are_what_compile_problem_gives_the_order(
    generated: tuple[Problem, Plan, list[Order]],
) -> None:
    problem, _, tickets = generated
    c = compile_problem(problem)
    awkward = problem_from_dict(generate_problem(30, 6, seed=5, awkward=True)).orders
    for order in [*tickets, *awkward]:
        order = replace(order, id=f"new-{order.id}")
        facts = order_facts(c, order)
        grown = compile_problem(replace(problem, orders=(*problem.orders, order)))
        if order.id not in grown.order_node:
            assert facts is None
            continue
        assert facts is not None
        d, j = grown.data, grown.order_node[order.id]
        assert facts.windows == [tuple(w) for w in d.windows[j]]
        assert (facts.service_s, facts.drop_penalty, facts.deadline_s, facts.late_cost_per_s) == (
            d.service_s[j], d.drop_penalty[j], d.deadline_s[j], d.late_cost_per_s[j]
        )  # fmt: skip
        assert facts.breach_cost == (0 if d.breach_cost is None else d.breach_cost[j])
        allowed = d.allowed_vehicles[j]
        assert facts.allowed == (None if allowed is None else list(allowed))
        n_v = len(problem.engineers)
        column = np.zeros(n_v) if d.vehicle_node_cost is None else d.vehicle_node_cost[:, j]
        got = np.zeros(n_v) if facts.vehicle_cost is None else facts.vehicle_cost
        assert np.array_equal(got, column)


def test_an_on_time_place_beats_a_cheaper_late_one_like_the_fill() -> None:
    problem, _ = _small()
    # Travel dear (1,000 a km), lateness cheap (1 a second, no breach): E1 after B (68.7 km
    # more, 46 min late) costs less than E1 between A and B (78.6 km more, on time), but the
    # fill tries on-time places first, and so does the quote.
    weights = replace(problem.policy.weights, travel_per_km=1000, late_per_breach=0,
                      late_per_minute=0)  # fmt: skip
    problem = replace(problem, policy=replace(problem.policy, weights=weights))
    new = _order("N", 1.0, 0.5, deadline=datetime.fromisoformat("2026-11-23T12:00:00+00:00"))
    best = quote(problem, new).options[0]
    a_end = datetime.fromisoformat("2026-11-23T09:55:17+00:00")
    leg_s = round(float(geodesic_km(0.5, 0.0, 1.0, 0.5)) / 60.0 * 3600.0)
    assert (best.engineer_id, best.position, best.on_time) == ("E1", 1, True)
    assert best.eta == a_end + timedelta(seconds=leg_s)
    grown = replace(problem, orders=(*problem.orders, new))
    after = plan_problem(grown, INCREMENTAL)
    (visit,) = [v for r in after.routes for v in r.visits if v.order_id == "N"]
    assert visit.arrival == best.eta


def test_an_order_that_changes_the_time_rewrite_is_quoted_the_slow_way_and_agrees() -> None:
    problem, _ = _small()

    # Every order with a window (no order straddles 15:00), the new one open 13:00-14:00 and
    # 15:00-16:00: 15:00 becomes a boundary of the solver's time rewrite for everyone.
    def window(a: str, b: str) -> Window:
        return Window(datetime.fromisoformat(f"2026-11-23T{a}:00+00:00"),
                      datetime.fromisoformat(f"2026-11-23T{b}:00+00:00"))  # fmt: skip

    orders = tuple(
        o if o.site_windows else replace(o, site_windows=(window("08:00", "13:00"),))
        for o in problem.orders
    )
    problem = replace(problem, orders=orders)
    plan = plan_problem(replace(problem, published=()), LIMITED)
    problem = replace(problem, published=published_visits(plan))
    new = _order("N", 1.0, 0.5, site_windows=(window("13:00", "14:00"), window("15:00", "16:00")))
    q = quote(problem, new)
    assert q.rebuilt and q.options
    grown = replace(problem, orders=(*problem.orders, new))
    after = plan_problem(grown, INCREMENTAL)
    (visit,) = [(r.engineer_id, v.arrival) for r in after.routes for v in r.visits
                if v.order_id == "N"]  # fmt: skip
    assert visit == (q.options[0].engineer_id, q.options[0].eta)


def test_one_order_time_rules_are_the_whole_rewrite_s() -> None:
    from solver.quote import node_time_rules
    from solver.timemodel import rewrite

    problem = problem_from_dict(generate_problem(60, 6, seed=5, awkward=True))
    d = compile_problem(problem).data
    tm = rewrite(d.n_nodes, d.order_nodes(), d.windows, d.service_s, d.breaks, d.n_vehicles,
                 d.start_min_s, d.horizon_s)  # fmt: skip
    assert tm.boundaries
    visit = tm.visit_v if tm.visit_v is not None else np.tile(tm.visit_s, (d.n_vehicles, 1))
    for j in d.order_nodes():
        windows, row = node_time_rules(
            d.windows[j], int(d.service_s[j]), tm.boundaries, d.breaks, d.n_vehicles, d.horizon_s
        )
        if tm.hull[j] is None or any(a <= d.horizon_s and b >= 0 for a, b in tm.windows[j]):
            assert windows == tm.windows[j], j
        assert row == visit[:, j].tolist(), j


def test_dispatch_quote_prints_a_table_or_json_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dispatcher.cli import main

    problem, plan = _small()
    problem_file = tmp_path / "problem.json"
    problem_file.write_text(FIXTURE.read_text())
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan_to_dict(plan)))
    order = {"id": "N", "site": {"lat": 1.0, "lon": 0.5, "country": "KE"},
             "received_at": "2026-11-23T07:00:00Z", "service_minutes": 30}  # fmt: skip
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps(order))
    argv = ["quote", str(problem_file), str(plan_file), str(order_file)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Quote for N: 2 option(s)" in out and "E1" in out.splitlines()[2]
    assert main([*argv, "--json", "--limit", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [o["engineer_id"] for o in doc["options"]] == ["E1"]
    assert doc["options"][0]["eta"] == format_datetime(
        quote(problem, _order("N", 1.0, 0.5)).options[0].eta
    )
    order_file.write_text(json.dumps({**order, "service_minutes": -1}))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "service_minutes" in err[0]
    assert main([*argv[:3], str(tmp_path / "missing.json")]) == 2
    assert main([*argv, "--limit", "21"]) == 2


def test_tickets_stored_since_the_plan_was_published_are_fitted_in_first() -> None:
    """The re-plan's fill tries every order the published routes leave out, by deadline: a
    ticket stored since publishing that comes first takes its place before the quoted one,
    in the quote as in the plan."""
    problem, _ = _small()
    # X: mechanical, due at 13:00, right where N (due later) would go after B.
    x = _order("X", 1.0, 0.5, required_skills=frozenset({"mechanical"}),
               deadline=datetime.fromisoformat("2026-11-23T13:00:00+00:00"))  # fmt: skip
    problem = replace(problem, orders=(*problem.orders, x))
    book = QuoteBook(problem)
    assert book.fixed is not None and len(book.fixed.strict_marks) == 1
    new = _order("N", 1.0, 0.5, required_skills=frozenset({"mechanical"}))
    q = book.quote(new)
    grown = replace(problem, orders=(*problem.orders, new))
    after = plan_problem(grown, INCREMENTAL)
    route = next(r for r in after.routes if r.engineer_id == "E1")
    assert [v.order_id for v in route.visits] == ["A", "B", "X", "N"]
    assert (q.options[0].engineer_id, q.options[0].eta) == ("E1", route.visits[3].arrival)
    assert q.options[0].position == 3  # after X, which the fill placed first


def test_generated_tickets_quoted_with_others_stored_since_publishing(
    generated: tuple[Problem, Plan, list[Order]],
) -> None:
    problem, _, tickets = generated
    stored, quoted = tickets[:3], tickets[3:]
    problem = replace(problem, orders=(*problem.orders, *stored))
    book = QuoteBook(problem)
    for order in quoted:
        q = book.quote(order)
        after = plan_problem(replace(problem, orders=(*problem.orders, order)), INCREMENTAL)
        got = [(r.engineer_id, v.arrival) for r in after.routes for v in r.visits
               if v.order_id == order.id]  # fmt: skip
        assert [(o.engineer_id, o.eta) for o in q.options[:1]] == got, order.id
