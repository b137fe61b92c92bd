"""Invariants over random small problems (Hypothesis): every plan passes the checker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatcher.check import check_plan, format_violations
from dispatcher.domain import CurrentPosition, Engineer, Location, Order, Problem, Site, Window
from dispatcher.planner import PlanOptions, plan_problem

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
SKILLS = ("mech", "elec", "plc")
OPTIONS = PlanOptions(time_limit_s=30, solution_limit=30, metaheuristic="GREEDY_DESCENT")


def _location(draw: st.DrawFn, overseas: bool = False) -> Location:
    if overseas:
        return Location(draw(st.floats(40, 45)), draw(st.floats(70, 80)))
    return Location(draw(st.floats(30, 40)), draw(st.floats(110, 120)))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    days = draw(st.integers(1, 3))
    engineers = []
    for i in range(draw(st.integers(1, 3))):
        shifts = tuple(
            Window(
                START + timedelta(days=d, hours=h0), START + timedelta(days=d, hours=h0 + length)
            )
            for d in range(days)
            for h0, length in [
                (draw(st.sampled_from([0, 1, 2])), draw(st.sampled_from([8, 9, 10])))
            ]
        )
        current = None
        if draw(st.booleans()):
            current = CurrentPosition(
                _location(draw), START + timedelta(minutes=draw(st.integers(0, 600)))
            )
        engineers.append(
            Engineer(
                id=f"E{i}",
                name=f"Engineer {i}",
                home=_location(draw),
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), min_size=1))),
                shifts=shifts,
                max_overtime_minutes=draw(st.sampled_from([0, 0, 60])),
                can_travel_overseas=draw(st.booleans()),
                current=current,
            )
        )
    orders = []
    for j in range(draw(st.integers(1, 6))):
        overseas = draw(st.integers(0, 9)) == 0
        windows: tuple[Window, ...] = ()
        if draw(st.booleans()):
            d = draw(st.integers(0, days - 1))
            h = draw(st.integers(0, 12))
            windows = (
                Window(START + timedelta(days=d, hours=h), START + timedelta(days=d, hours=h + 4)),
            )
        orders.append(
            Order(
                id=f"O{j}",
                site=Site(_location(draw, overseas), "KZ" if overseas else "CN"),
                received_at=START - timedelta(hours=draw(st.integers(0, 20))),
                service_minutes=draw(st.integers(0, 300)),
                priority=draw(st.sampled_from(["critical", "high", "normal", "low"])),
                required_skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=2))),
                site_windows=windows,
                pinned_engineer=draw(st.sampled_from([None, None, None, "E0", "E9"])),
                excluded_engineers=tuple(draw(st.sets(st.sampled_from(["E0", "E1"]), max_size=1))),
            )
        )
    return Problem(
        planning_start=START,
        engineers=tuple(engineers),
        orders=tuple(orders),
        horizon_hours=24 * days,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_plan_of_a_random_problem_passes_the_independent_checker(problem: Problem) -> None:
    plan = plan_problem(problem, OPTIONS)
    hard = [v for v in check_plan(problem, plan) if v.hard]
    assert not hard, format_violations(hard)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_order_appears_exactly_once_and_kpis_add_up(problem: Problem) -> None:
    plan = plan_problem(problem, OPTIONS)
    visited = [v.order_id for r in plan.routes for v in r.visits]
    listed = visited + [u.order_id for u in plan.unassigned]
    assert sorted(listed) == sorted(o.id for o in problem.orders)
    k = plan.kpis
    assert k.assigned == len(visited) and k.unassigned == len(plan.unassigned)
    assert k.on_time + k.late == k.assigned == sum(len(r.visits) for r in plan.routes)
    assert {x.order_id for x in plan.late} == {
        v.order_id for r in plan.routes for v in r.visits if not v.on_time
    }
    legs = sum(v.travel_km for r in plan.routes for v in r.visits)
    legs += sum(r.return_leg.travel_km for r in plan.routes if r.return_leg)
    assert abs(k.travel_km - legs) < 1e-6
    assert k.hotel_nights == sum(n.hotel for r in plan.routes for n in r.overnights)
