"""Plans you can trust at any time limit: the plan returned is the last one progress showed,
passes the independent checker, is never the construction when something better was found,
and never blames capacity while capable engineers are idle."""

from __future__ import annotations

import pytest

from dispatcher.check import check_plan
from dispatcher.codec import problem_from_dict
from dispatcher.compile import compile_problem
from dispatcher.domain import Plan, Problem, Reason, eligible_engineers
from dispatcher.generate import generate_problem
from dispatcher.planner import PlanOptions, PlanProgress, plan_problem
from solver.routing import Progress, SearchParams, solve


def _generated(orders: int, engineers: int, seed: int) -> Problem:
    return problem_from_dict(generate_problem(orders=orders, engineers=engineers, seed=seed))


def _hard(problem: Problem, plan: Plan) -> list[str]:
    return [str(v) for v in check_plan(problem, plan) if v.hard]


@pytest.mark.parametrize(("orders", "engineers", "seed"), [(60, 8, 1), (120, 14, 2)])
def test_a_time_limited_plan_is_the_last_progress_value_and_passes_the_checker(
    orders: int, engineers: int, seed: int
) -> None:
    problem = _generated(orders, engineers, seed)
    seen: list[PlanProgress] = []
    plan = plan_problem(problem, PlanOptions(time_limit_s=2), on_progress=seen.append)
    assert seen, "no progress reported"
    assert plan.meta["objective"] == seen[-1].best_cost
    assert plan.kpis.on_time == seen[-1].on_time
    assert [p.best_cost for p in seen[:-1]] == sorted({p.best_cost for p in seen[:-1]})[::-1]
    assert _hard(problem, plan) == []
    assert plan.meta["final_phase"]
    assert plan.meta["candidates_offered"] >= plan.meta["candidates_improving"] >= 1


def test_a_time_limited_construction_run_returns_the_best_exactly_timed_plan() -> None:
    # 250 orders x 40 engineers from the insertion construction and its ruin and recreate
    # (the path of field problems from 1,000 orders): whatever the load, the plan returned is
    # the cheapest one offered, and it is not the construction when the moves or the search
    # found a cheaper one.
    problem = _generated(250, 40, 5)
    compiled = compile_problem(problem)
    seen: list[Progress] = []
    result = solve(
        compiled.data,
        SearchParams(time_limit_s=3, initial="insertion", recreate_share=0.6),
        on_progress=seen.append,
        progress_every_s=0,
    )
    objectives = [o for _, o in result.history]
    assert result.objective == min(objectives) == seen[-1].objective
    if min(objectives) < objectives[0]:
        assert result.phase != "insertion"
    assert result.candidates["offered"] >= 2


def test_ten_orders_in_one_second_blame_no_capacity_while_capable_engineers_idle() -> None:
    problem = _generated(10, 30, 4)
    compiled = compile_problem(problem)
    for limit in (1.0, 0.001):  # 1 ms: the limit runs out before any search solution
        plan = plan_problem(problem, PlanOptions(time_limit_s=limit))
        assert _hard(problem, plan) == []
        idle = {v for v, r in enumerate(plan.routes) if not r.visits}
        orders = {o.id: o for o in problem.orders}
        for u in plan.unassigned:
            if u.reason == Reason.CAPACITY:
                capable = set(eligible_engineers(problem, orders[u.order_id]))
                assert not capable & idle, (limit, u, sorted(capable & idle))
        assert plan.kpis.assigned > 0, limit
    assert compiled.data.n_vehicles == 30
