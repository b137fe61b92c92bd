"""End-to-end planning on hand-checked fixtures; the checker runs on every plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from dispatcher.domain import Plan, Problem, Reason
from dispatcher.errors import InputError
from dispatcher.planner import PlanOptions, plan_problem

Solve = Callable[..., Plan]
Load = Callable[[str], Problem]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_two_engineers_four_orders_matches_the_hand_computed_schedule(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    plan = solve_checked(fixture_problem("small/two_engineers_four_orders.json"))
    routes = {r.engineer_id: r for r in plan.routes}
    assert [v.order_id for v in routes["E1"].visits] == ["A", "B"]
    assert [v.order_id for v in routes["E2"].visits] == ["C", "D"]
    a, b = routes["E1"].visits
    # 55.29 km at 60 km/h = 55 min 17 s; 60 min service; another 55 min 17 s.
    assert a.arrival == _t("2026-11-23T08:55:17Z")
    assert a.end == _t("2026-11-23T09:55:17Z")
    assert b.arrival == _t("2026-11-23T10:50:34Z")
    assert routes["E1"].return_leg is not None
    assert routes["E1"].return_leg.arrival == _t("2026-11-23T13:41:08Z")
    assert plan.kpis.travel_km == pytest.approx(442.3, abs=0.1)
    assert plan.kpis.on_time == 4 and plan.kpis.hotel_nights == 0
    assert plan.status == "feasible"


def test_overseas_order_is_served_over_three_days_with_two_hotel_nights(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    plan = solve_checked(fixture_problem("small/overseas_overnight.json"))
    (route,) = plan.routes
    (visit,) = route.visits
    assert visit.travel_mode == "flight"
    assert visit.arrival == _t("2026-11-23T16:07:14+08:00")  # fly day 1
    assert visit.start == _t("2026-11-24T08:00:00+08:00")  # service day 2
    assert visit.end == _t("2026-11-24T16:00:00+08:00")
    assert route.return_leg is not None
    assert route.return_leg.arrival == _t("2026-11-25T14:07:14+08:00")  # home day 3
    assert visit.on_time and visit.deadline == _t("2026-11-26T07:00:00+08:00")
    assert [(n.night_of, n.hotel) for n in route.overnights] == [
        ("2026-11-23", True),
        ("2026-11-24", True),
    ]
    assert plan.kpis.hotel_nights == 2


def test_each_reason_code_is_true_for_its_situation(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    plan = solve_checked(fixture_problem("small/reasons.json"))
    unassigned = {u.order_id: u.reason for u in plan.unassigned}
    late = {x.order_id: x.reason for x in plan.late}
    assert unassigned == {
        "NOSKILL": Reason.NO_SKILLED_ENGINEER,
        "EXCLUDED": Reason.EXCLUDED,
        "OVERSEAS": Reason.OVERSEAS_NOT_ALLOWED,
        "PINNED": Reason.PINNED_ENGINEER_UNAVAILABLE,
        "WINDOW": Reason.SITE_WINDOW_CLOSED,
        "CAP_2": Reason.CAPACITY,
        "BEYOND": Reason.BEYOND_HORIZON,
    }
    assert late == {"LATE": Reason.UNREACHABLE_BEFORE_DEADLINE}
    served = {v.order_id: r.engineer_id for r in plan.routes for v in r.visits}
    assert served == {"CAP_1": "E1", "LATE": "E2"}
    assert all(u.detail for u in plan.unassigned) and all(x.detail for x in plan.late)


def test_critical_order_outranks_low_when_only_one_fits(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    plan = solve_checked(fixture_problem("small/reasons.json"))
    assert "CAP_1" in {v.order_id for r in plan.routes for v in r.visits}


def test_pinned_order_goes_to_its_engineer(solve_checked: Solve, fixture_problem: Load) -> None:
    from dataclasses import replace

    problem = fixture_problem("small/two_engineers_four_orders.json")
    orders = list(problem.orders)
    # E2 lacks mechanical, so pin B to E1's colleague is impossible; pin A to E1 explicitly and
    # give E2 the skill: A must still go to E1.
    engineers = [
        problem.engineers[0],
        replace(problem.engineers[1], skills=frozenset({"electrical", "mechanical"})),
    ]
    orders[0] = replace(orders[0], pinned_engineer="E1")
    orders[1] = replace(orders[1], pinned_engineer="E2")
    plan = solve_checked(replace(problem, engineers=tuple(engineers), orders=tuple(orders)))
    served = {v.order_id: r.engineer_id for r in plan.routes for v in r.visits}
    assert served["A"] == "E1" and served["B"] == "E2"


def test_late_order_is_served_rather_than_dropped(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    plan = solve_checked(fixture_problem("small/reasons.json"))
    (late,) = plan.late
    assert late.order_id == "LATE" and late.minutes_late == pytest.approx(312, abs=1)


@pytest.mark.parametrize(
    ("late_per_breach", "order", "minutes_late"),
    [
        (None, ["B", "A"], {"A": 145.85}),  # default weights: one breach, 145.9 min
        (0, ["A", "B"], {"A": 5.28, "B": 5.85}),  # minutes only: two breaches, 11.1 min
    ],
)
def test_one_long_breach_beats_two_short_ones_unless_breaches_are_free(
    solve_checked: Solve,
    fixture_problem: Load,
    late_per_breach: int | None,
    order: list[str],
    minutes_late: dict[str, float],
) -> None:
    from dataclasses import replace

    problem = fixture_problem("small/breach_vs_minutes.json")
    if late_per_breach is not None:
        weights = replace(problem.policy.weights, late_per_breach=late_per_breach)
        problem = replace(problem, policy=replace(problem.policy, weights=weights))
    plan = solve_checked(problem)
    (route,) = plan.routes
    assert [v.order_id for v in route.visits] == order
    assert {x.order_id: x.minutes_late for x in plan.late} == pytest.approx(minutes_late, abs=0.02)


def test_plan_meta_records_solver_limits_and_input_hash(fixture_problem: Load) -> None:
    problem = fixture_problem("small/two_engineers_four_orders.json")
    options = PlanOptions(time_limit_s=5, solution_limit=10, metaheuristic="GREEDY_DESCENT")
    a = plan_problem(problem, options)
    b = plan_problem(problem, options)
    assert a.meta["solver"] == "ortools-routing" and a.meta["time_limit_s"] == 5
    assert (
        str(a.meta["input_hash"]).startswith("sha256:")
        and a.meta["input_hash"] == b.meta["input_hash"]
    )
    assert a.routes == b.routes  # solution-limited search is deterministic


def test_progress_callback_reports_best_cost(fixture_problem: Load) -> None:
    seen = []
    plan_problem(
        fixture_problem("small/two_engineers_four_orders.json"),
        PlanOptions(time_limit_s=5, solution_limit=20, metaheuristic="GREEDY_DESCENT"),
        on_progress=seen.append,
    )
    assert seen and all(p.best_cost > 0 for p in seen)
    assert seen[0].on_time is not None


def test_demo_fixture_plans_clean_with_the_checker(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    problem = fixture_problem("demo.json")
    plan = solve_checked(problem, PlanOptions(time_limit_s=60, solution_limit=5))
    assert plan.kpis.orders == len(problem.orders) == 200
    assert plan.kpis.assigned + plan.kpis.unassigned == 200
    assert plan.kpis.assigned >= 100  # even the first plans serve most of the demo's orders


def test_empty_roster_leaves_every_order_unassigned_without_calling_the_solver(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    from dataclasses import replace

    problem = replace(fixture_problem("small/two_engineers_four_orders.json"), engineers=())
    plan = solve_checked(problem)
    assert {u.reason for u in plan.unassigned} == {Reason.NO_SKILLED_ENGINEER}
    assert len(plan.unassigned) == 4 and plan.routes == ()


def test_visit_longer_than_any_shift_is_beyond_horizon_with_the_lengths_named(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    from dataclasses import replace

    problem = fixture_problem("small/two_engineers_four_orders.json")
    long_b = replace(problem.orders[1], service_minutes=600)  # shifts are 540 minutes long
    plan = solve_checked(replace(problem, orders=(problem.orders[0], long_b, *problem.orders[2:])))
    (u,) = plan.unassigned
    assert u.order_id == "B" and u.reason == Reason.BEYOND_HORIZON
    assert "600-minute" in u.detail and "540 min" in u.detail


def test_decomposed_plan_passes_the_checker_and_keeps_every_order(solve_checked: Solve) -> None:
    from dispatcher.codec import problem_from_dict
    from dispatcher.generate import generate_problem

    problem = problem_from_dict(generate_problem(60, 8, seed=3))
    options = PlanOptions(
        time_limit_s=60, solution_limit=30, metaheuristic="GREEDY_DESCENT", parts=2
    )
    plan = solve_checked(problem, options)
    assert plan.meta["initial_solution"] == "parts"
    seen = [v.order_id for r in plan.routes for v in r.visits] + [
        u.order_id for u in plan.unassigned
    ]
    assert sorted(seen) == sorted(o.id for o in problem.orders)


def test_overtime_band_of_one_engineer_is_offered_to_the_solver(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    # Site EVE opens 17:00-18:00, after every shift: only E1's overtime band holds the visit
    # (fixture comment has the arithmetic). E2, who has no overtime, must not be sent.
    from dataclasses import replace

    problem = fixture_problem("small/overtime_evening.json")
    plan = solve_checked(problem)
    served = {v.order_id: (r.engineer_id, v) for r in plan.routes for v in r.visits}
    engineer, visit = served["EVE"]
    assert engineer == "E1"
    assert visit.start == _t("2026-11-23T17:00:00Z") and visit.end == _t("2026-11-23T17:30:00Z")
    assert visit.overtime_minutes == pytest.approx(30.0)
    assert plan.kpis.overtime_minutes == pytest.approx(30.0)
    # The objective prices those 30 minutes at 1,200 an hour on top of E1's two 55.3-km
    # legs (2 x (3,317 s x 600 / 3,600 + 55.29 km) = 2 x 608).
    assert plan.meta["objective"] == 2 * 608 + 600

    (eve,) = problem.orders
    without_e1 = replace(problem, orders=(replace(eve, excluded_engineers=("E1",)),))
    plan = solve_checked(without_e1)
    assert [u.order_id for u in plan.unassigned] == ["EVE"]


def test_overtime_costs_so_an_engineer_in_regular_time_serves_when_that_is_cheaper(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    # fixtures/small/overtime_priced.json (arithmetic in its comment): E1 is 16.6 km nearer
    # but would work 30 min of overtime (600 at 1,200 an hour); E2 drives 365 more in travel
    # cost and works in its shift. With overtime free, E1 is the cheaper plan.
    from dataclasses import replace

    problem = fixture_problem("small/overtime_priced.json")
    for options in (None, PlanOptions(time_limit_s=1.0)):
        plan = solve_checked(problem, options)
        served = {v.order_id: r.engineer_id for r in plan.routes for v in r.visits}
        assert served == {"OT": "E2"}
        assert plan.kpis.overtime_minutes == 0
        assert (
            plan.meta["objective"] == 486
        )  # E2 there and back: 2 x rint(1,327 s x 600 / 3,600 + 22.1 km)

    weights = replace(problem.policy.weights, overtime_per_hour=0)
    free = replace(problem, policy=replace(problem.policy, weights=weights))
    plan = solve_checked(free)
    served = {v.order_id: r.engineer_id for r in plan.routes for v in r.visits}
    assert served == {"OT": "E1"}
    assert plan.kpis.overtime_minutes == pytest.approx(30.0)


def test_engineers_whose_shifts_never_overlap_all_get_their_working_time(
    solve_checked: Solve, fixture_problem: Load
) -> None:
    # fixtures/small/two_timezones.json: E1 works 03:30-12:30Z, E2 and E3 12:30-21:30Z. The
    # old work clock was the calendar most engineers share, so E1 had no time at all and A
    # went late by air; every engineer's work time is on the clock now.
    problem = fixture_problem("small/two_timezones.json")
    plan = solve_checked(problem)
    served = {v.order_id: (r.engineer_id, v) for r in plan.routes for v in r.visits}
    engineer, visit = served["A"]
    assert engineer == "E1"
    assert visit.start == _t("2026-11-23T04:25:17Z") and visit.on_time
    engineer, visit = served["B"]
    assert engineer in ("E2", "E3")
    assert visit.start == _t("2026-11-23T13:25:40Z")
    assert plan.late == () and plan.unassigned == ()


def test_a_plan_stopped_at_once_still_has_its_constructed_plan() -> None:
    # 120 orders: the construction, timed exactly, is the first incumbent; a job
    # cancelled at once keeps that plan instead of ending with none, and the orders left out
    # that no phase got to try say so instead of claiming "capacity".
    from dispatcher.check import check_plan
    from dispatcher.codec import problem_from_dict
    from dispatcher.generate import generate_problem

    problem = problem_from_dict(generate_problem(orders=120, engineers=12, seed=3))
    plan = plan_problem(problem, PlanOptions(time_limit_s=30), should_stop=lambda: True)
    assert plan.meta["final_phase"] in ("greedy", "insertion")
    assert plan.meta["solve_seconds"] < 5  # stopped, not run to the 30-s limit
    assert plan.kpis.assigned > 0
    assert all(u.reason != Reason.CAPACITY for u in plan.unassigned)
    assert [v for v in check_plan(problem, plan) if v.hard] == []


def test_a_plan_stopped_during_ruin_and_recreate_keeps_the_constructed_plan() -> None:
    # 260 orders x 80 engineers (20,800 pairs, one window per working day): the insertion
    # construction builds the first plan, restored at once, then ruin and recreate would run
    # for 75 % of the 30-s limit; a job cancelled then ends at the next move with that plan.
    from dispatcher.check import check_plan
    from dispatcher.codec import problem_from_dict
    from dispatcher.compile import compile_problem
    from dispatcher.generate import generate_problem
    from solver.routing import SearchParams, wants_greedy

    problem = problem_from_dict(generate_problem(orders=260, engineers=80, seed=2))
    assert wants_greedy(compile_problem(problem).data, SearchParams(time_limit_s=30))
    asked: list[float] = []

    def stop() -> bool:
        asked.append(0.0)
        return True

    plan = plan_problem(problem, PlanOptions(time_limit_s=30), should_stop=stop)
    assert plan.meta["initial_solution"] in ("insertion", "quick")
    assert plan.meta["solve_seconds"] < 10  # stopped, not run to the 30-s limit
    assert asked, "the search never asked whether to stop"
    assert plan.kpis.assigned > 200
    assert [v for v in check_plan(problem, plan) if v.hard] == []


def test_the_solvers_own_routes_are_accepted_as_a_warm_start() -> None:
    # Generated 60 x 8 (seed 3): a route of the first solve serves a late-twinned order right
    # after a visit whose visit length (a hole turned into a boundary break) reaches into the
    # engineer's rest; OR-Tools accepts that visit on its on-time node. Timing the warm start
    # with the longest visit lengths put it on the late twin, whose longer visit cannot fit,
    # and the whole warm start was rejected (the decomposition lost every part's work).
    from dispatcher.codec import problem_from_dict
    from dispatcher.compile import compile_problem
    from dispatcher.generate import generate_problem
    from solver.routing import SearchParams, solve

    data = compile_problem(problem_from_dict(generate_problem(60, 8, seed=3))).data
    params = SearchParams(time_limit_s=60, solution_limit=30, metaheuristic="GREEDY_DESCENT")
    first = solve(data, params)
    again = solve(data, params, initial_routes=first.routes)
    assert again.initial == "given"
    assert again.objective is not None and first.objective is not None
    assert again.objective <= first.objective


def _window_out_of_reach(site_windows: list[dict[str, str]]) -> Problem:
    """E1 at (0,0) works 08:00-17:00 UTC; order A at (1.0, 0) is a 60-minute visit.

    Default travel: 110.57 km x 1.3 circuity at 65 km/h = 132.7 min, so E1 arrives at 10:12
    at the earliest; a window 08:00-09:30 is in working time but out of reach.
    """
    from dispatcher.codec import problem_from_dict

    return problem_from_dict(
        {
            "planning_start": "2026-11-23T08:00:00Z",
            "horizon_hours": 24,
            "policy": {"home_country": "KE"},
            "engineers": [
                {
                    "id": "E1",
                    "home": {"lat": 0.0, "lon": 0.0},
                    "skills": ["mechanical"],
                    "shifts": [{"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T17:00:00Z"}],
                }
            ],
            "orders": [
                {
                    "id": "A",
                    "site": {"lat": 1.0, "lon": 0.0, "country": "KE"},
                    "received_at": "2026-11-23T07:00:00Z",
                    "service_minutes": 60,
                    "required_skills": ["mechanical"],
                    "site_windows": site_windows,
                }
            ],
        }
    )


def test_site_window_nobody_can_reach_in_time_is_site_window_closed_not_beyond_horizon(
    solve_checked: Solve,
) -> None:
    plan = solve_checked(
        _window_out_of_reach([{"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T09:30:00Z"}])
    )
    (u,) = plan.unassigned
    assert u.reason == Reason.SITE_WINDOW_CLOSED, u.detail
    assert "E1 at 2026-11-23 10:12" in u.detail
    assert "2026-11-23 08:00 +0000 to 2026-11-23 09:30 +0000" in u.detail


def test_visit_that_cannot_finish_in_the_horizon_even_without_windows_stays_beyond_horizon(
    solve_checked: Solve,
) -> None:
    from dataclasses import replace

    problem = _window_out_of_reach(
        [{"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T16:30:00Z"}]
    )
    (order,) = problem.orders
    # Ignoring travel, 420 minutes fit the window (08:00-15:00); from the 10:12 arrival they
    # end at 17:12, after the only shift in the horizon, windows or not.
    plan = solve_checked(replace(problem, orders=(replace(order, service_minutes=420),)))
    (u,) = plan.unassigned
    assert u.reason == Reason.BEYOND_HORIZON, u.detail


def test_workers_reach_the_search_and_a_bad_count_names_the_field() -> None:
    assert PlanOptions(workers=2).search_params().workers == 2
    assert PlanOptions().search_params().workers == 1
    with pytest.raises(InputError) as err:
        PlanOptions(workers=0).search_params()
    assert err.value.path == "workers"


def test_a_limit_that_covers_the_command_leaves_the_search_what_the_set_up_did_not_use() -> None:
    from dispatcher.planner import (
        BUILD_PER_COMPILE,
        COMMAND_MARGIN_S,
        MIN_SEARCH_SHARE,
        WIND_DOWN_PER_COMPILE,
        search_budget,
    )

    command = PlanOptions(time_limit_s=60.0, limit_covers="command")
    # 5 s spent (of them 4 compiling): the build and the wind-down are estimated from the 4 s,
    # the fixes keep their 2 s (under a tenth of the limit), and 1 s is the interpreter's.
    search_s, fixes_s = search_budget(command, 5.0, 4.0)
    rest = 4.0 * (BUILD_PER_COMPILE + WIND_DOWN_PER_COMPILE) + 2.0 + COMMAND_MARGIN_S
    assert (search_s, fixes_s) == (pytest.approx(60.0 - 5.0 - rest), 2.0)
    # A set-up that used the whole limit still leaves the search its floor; short limits
    # give the fixes a tenth of the limit at most.
    assert search_budget(command, 70.0, 60.0) == (pytest.approx(MIN_SEARCH_SHARE * 60.0), 2.0)
    assert search_budget(PlanOptions(time_limit_s=5.0, limit_covers="command"), 0.0, 0.0)[1] == 0.5
    # The search's own limit, and a solution-limited run, keep the options' values.
    assert search_budget(PlanOptions(time_limit_s=60.0), 5.0, 4.0) == (60.0, 2.0)
    limited = PlanOptions(time_limit_s=60.0, limit_covers="command", solution_limit=10)
    assert search_budget(limited, 5.0, 4.0) == (60.0, 2.0)


def test_limit_covers_names_the_field_when_unknown() -> None:
    with pytest.raises(InputError) as err:
        PlanOptions(limit_covers="everything")
    assert err.value.path == "limit_covers"
