"""The OR-Tools core over arrays (solver/routing.py), one constraint function at a time.

Every instance is tiny and named; its arithmetic fits in the comment above it. Node layout
in every instance: vehicle start nodes, then vehicle end nodes, then orders. Searches are
bounded by solution count (greedy descent stops at its local optimum), never by wall time.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver import routing
from solver.greedy import greedy_routes
from solver.routing import (
    CONSTRAINTS,
    NO_DEADLINE,
    Progress,
    RoutingInput,
    SearchParams,
    on_time_only,
    solve,
)
from solver.twins import with_late_twins

EXACT = SearchParams(time_limit_s=60, solution_limit=200, metaheuristic="GREEDY_DESCENT")
BIG = 10**9


def make_input(
    travel: list[list[int]],
    *,
    n_vehicles: int = 1,
    service: list[int] | None = None,
    horizon: int = 1000,
    windows: dict[int, list[tuple[int, int]]] | None = None,
    allowed: dict[int, list[int]] | None = None,
    drop: dict[int, int] | None = None,
    deadline: dict[int, int] | None = None,
    late_cost: dict[int, int] | None = None,
    breaks: list[list[tuple[int, int]]] | None = None,
    arc_cost: list[list[int]] | None = None,
    start_max: int = 0,
    **extra: object,
) -> RoutingInput:
    """Vehicle ``v`` starts at node ``v`` and ends at node ``n_vehicles + v``; the rest are orders."""
    t = np.asarray(travel, dtype=np.int64)
    n = t.shape[0]
    v = n_vehicles

    def vec(values: dict[int, int] | None, default: int) -> np.ndarray:
        out = np.full(n, default, dtype=np.int64)
        for node, value in (values or {}).items():
            out[node] = value
        return out

    return RoutingInput(
        travel_s=t,
        arc_cost=t if arc_cost is None else np.asarray(arc_cost, dtype=np.int64),
        service_s=np.asarray(service or [0] * n, dtype=np.int64),
        starts=list(range(v)),
        ends=list(range(v, 2 * v)),
        start_min_s=[0] * v,
        start_max_s=[start_max] * v,
        horizon_s=horizon,
        windows=[(windows or {}).get(i, []) for i in range(n)],
        allowed_vehicles=[(allowed or {}).get(i) for i in range(n)],
        drop_penalty=vec(drop, BIG),
        deadline_s=vec(deadline, NO_DEADLINE),
        late_cost_per_s=vec(late_cost, 0),
        breaks=breaks or [],
        **extra,  # type: ignore[arg-type]
    )


def line(positions: list[int]) -> list[list[int]]:
    """Travel = distance between points on a line."""
    return [[abs(a - b) for b in positions] for a in positions]


def test_constraints_are_listed_in_one_place() -> None:
    names = [f.__name__ for f in CONSTRAINTS]
    assert names == [
        "_add_arc_costs",
        "_add_time_dimension",
        "_add_shift_breaks",
        "_add_site_windows",
        "_add_vehicle_restrictions",
        "_add_deadline_penalties",
        "_add_drop_penalties",
        "_add_capacity_dimension",
    ]


# ------------------------------------------------------------------ time dimension and windows


def test_service_starts_after_travel_and_the_previous_service() -> None:
    # start 0 -> order 2 (at 10) -> order 3 (at 25) = end; service 4 at order 2:
    # order 2 starts 10, order 3 starts 10 + 4 + 15 = 29. (3 then 2 would cost 25 + 15 + 15.)
    data = make_input(line([0, 25, 10, 25]), service=[0, 0, 4, 0])
    result = solve(data, EXACT)
    assert result.routes == [[2, 3]]
    assert result.start_s == [[10, 29]]
    assert result.objective == 10 + 15 + 0


@pytest.mark.parametrize(
    ("windows", "expected_start"),
    [
        ([(0, 5), (30, 40)], 30),  # arrives at 10: first window closed, waits for the second
        ([(0, 20), (30, 40)], 10),  # arrives at 10: inside the first window
        ([(30, 40), (0, 5)], 30),  # windows need not come sorted
    ],
)
def test_service_starts_in_one_of_several_windows(
    windows: list[tuple[int, int]], expected_start: int
) -> None:
    # start 0 -> order 2 at distance 10.
    data = make_input(line([0, 0, 10]), windows={2: windows})
    result = solve(data, EXACT)
    assert result.routes == [[2]]
    assert result.start_s == [[expected_start]]


def test_order_whose_windows_are_all_unreachable_is_dropped() -> None:
    # Order 2 at distance 10 opens only during [0, 5] and [8, 9]; the vehicle leaves at 0.
    data = make_input(line([0, 0, 10]), windows={2: [(0, 5), (8, 9)]})
    result = solve(data, EXACT)
    assert result.status != "no_solution"
    assert result.routes == [[]]
    assert result.dropped == [2]


# ------------------------------------------------------------------ breaks


def test_travel_pauses_across_a_break() -> None:
    # 10 s of travel from 0; rest during [5, 25): 5 s before, 5 s after -> arrives at 30.
    data = make_input(line([0, 0, 10]), breaks=[[(5, 20)]])
    result = solve(data, EXACT)
    assert result.routes == [[2]]
    assert result.start_s == [[30]]


def test_vehicle_does_not_serve_during_a_break() -> None:
    # Order 2 at the start point, service 10; rest during [5, 25). Serving at 0 would run
    # into the rest ([0, 10) overlaps [5, 25)), so service starts when the rest ends: 25.
    data = make_input(line([0, 0, 0]), service=[0, 0, 10], breaks=[[(5, 20)]])
    result = solve(data, EXACT)
    assert result.routes == [[2]]
    (start,) = result.start_s[0]
    assert start >= 25
    assert start == 25


def test_order_that_cannot_fit_around_breaks_is_dropped() -> None:
    # Service 10 must fit in [0, 5) or [25, 30] (window closes at 30, horizon 100): it fits
    # only from 25 to 35? No: the window is on the start, so 25 is allowed. Close the window
    # at 24 instead: [0, 24] with a rest [5, 25) leaves only starts 0..-5 -> dropped.
    data = make_input(
        line([0, 0, 0]), service=[0, 0, 10], breaks=[[(5, 20)]], windows={2: [(0, 24)]}
    )
    result = solve(data, EXACT)
    assert result.dropped == [2]


# ------------------------------------------------------------------ vehicles


def test_order_goes_only_to_an_allowed_vehicle() -> None:
    # Vehicle 0 starts next to the order (1), vehicle 1 far away (50); only 1 is allowed.
    travel = line([40, 90, 40, 90, 41])
    free = solve(make_input(travel, n_vehicles=2), EXACT)
    assert free.routes == [[4], []]
    restricted = solve(make_input(travel, n_vehicles=2, allowed={4: [1]}), EXACT)
    assert restricted.routes == [[], [4]]


@pytest.mark.parametrize(("penalised", "expected"), [(0, [[], [4]]), (1, [[4], []])])
def test_preferred_vehicle_wins_when_otherwise_equal(
    penalised: int, expected: list[list[int]]
) -> None:
    # Two identical vehicles at the same point; serving order 4 with the penalised one costs 5.
    travel = line([0, 0, 0, 0, 10])
    cost = np.zeros((2, 5), dtype=np.int64)
    cost[penalised, 4] = 5
    result = solve(make_input(travel, n_vehicles=2, vehicle_node_cost=cost), EXACT)
    assert result.routes == expected
    assert result.objective == 20  # the preference cost is avoided entirely


def test_capacity_splits_orders_over_vehicles_or_drops_one() -> None:
    # Two orders of load 6 each; capacity 10 per vehicle.
    travel = line([0, 0, 0, 0, 5, 6])
    two = make_input(travel, n_vehicles=2, demand=np.array([0, 0, 0, 0, 6, 6]), capacity=[10, 10])
    result = solve(two, EXACT)
    assert sorted(map(sorted, result.routes)) == [[4], [5]]
    one = make_input(
        line([0, 0, 5, 6]), demand=np.array([0, 0, 6, 6]), capacity=[10], drop={2: 100, 3: 200}
    )
    result = solve(one, EXACT)
    assert result.routes == [[3]]  # the higher penalty is kept
    assert result.dropped == [2]


def test_fixed_cost_and_soft_end_bound_enter_the_objective() -> None:
    # Out 10, back 10: arcs 20; route ends at 20, soft bound 5 at 1/s: 15; fixed cost 100.
    data = make_input(
        line([0, 0, 10]),
        end_soft_max_s=[5],
        end_late_cost_per_s=1,
        vehicle_fixed_cost=[100],
    )
    result = solve(data, EXACT)
    assert result.routes == [[2]]
    assert result.objective == 20 + 15 + 100


# ------------------------------------------------------------------ penalties


def test_node_is_dropped_only_when_it_cannot_be_served() -> None:
    # Order 2 (distance 10) must start by 5: impossible. Order 3 (distance 5) costs 5 + 5 to
    # serve, less than its penalty 100: served although its penalty is much lower.
    data = make_input(line([0, 0, 10, -5]), windows={2: [(0, 5)]}, drop={2: BIG, 3: 100})
    result = solve(data, EXACT)
    assert result.routes == [[3]]
    assert result.dropped == [2]
    assert result.objective == 10 + BIG


@pytest.mark.parametrize(("penalties", "kept"), [((1000, 2000), 3), ((2000, 1000), 2)])
def test_higher_penalty_is_kept_when_only_one_fits(penalties: tuple[int, int], kept: int) -> None:
    # Orders 2 and 3 both at distance 10 must start exactly at 10 and take 10: one vehicle
    # can serve only one of them.
    data = make_input(
        line([0, 0, 10, 10]),
        service=[0, 0, 10, 10],
        windows={2: [(10, 10)], 3: [(10, 10)]},
        drop={2: penalties[0], 3: penalties[1]},
    )
    result = solve(data, EXACT)
    assert result.routes == [[kept]]
    assert result.dropped == [5 - kept]


@pytest.mark.parametrize(("late_cost", "expected"), [(1, [2, 3]), (3, [3, 2])])
def test_soft_deadline_trades_lateness_against_travel(late_cost: int, expected: list[int]) -> None:
    # Start at 0; A (node 2) at -10, B (node 3) at +20; the end node is free to reach.
    #   A then B: travel 10 + 30 = 40, B reached at 40, 5 s after its deadline 35.
    #   B then A: travel 20 + 30 = 50, B on time.
    # At 1/s late: 40 + 5 = 45 < 50 -> the cheaper late plan; at 3/s: 40 + 15 = 55 > 50.
    pos = [0, 0, -10, 20]
    travel = [[0 if j == 1 else abs(a - pos[j]) for j in range(4)] for a in pos]
    data = make_input(travel, deadline={3: 35}, late_cost={3: late_cost})
    result = solve(data, EXACT)
    assert result.routes == [expected]
    assert result.objective == min(40 + 5 * late_cost, 50)


# Start 0, A = node 2, B = node 3; the end is free to reach (travel 0). Asymmetric travel:
#   start->A 50, start->B 70, A->B 60, B->A 40; deadlines A 45, B 105.
#   A then B: A at 50 (5 late), B at 110 (5 late): two breaches, 10 s late, travel 110.
#   B then A: B at 70 (on time), A at 110 (65 late): one breach, 65 s late, travel 110.
TWO_SMALL_OR_ONE_BIG = [
    [0, 0, 50, 70],
    [0, 0, 0, 0],
    [0, 0, 0, 60],
    [0, 0, 40, 0],
]


def two_small_or_one_big(breach: int = 1000) -> RoutingInput:
    """TWO_SMALL_OR_ONE_BIG with its deadlines, 1/s lateness and ``breach`` per late order
    (0: no breach cost at all)."""
    return make_input(
        TWO_SMALL_OR_ONE_BIG,
        deadline={2: 45, 3: 105},
        late_cost={2: 1, 3: 1},
        breach_cost=np.array([0, 0, breach, breach]) if breach else None,
    )


@pytest.mark.parametrize(
    ("breach", "expected", "objective"),
    [
        (0, [2, 3], 110 + 10 * 1),  # minutes only: 10 s late beats 65 s late
        (1000, [3, 2], 110 + 1000 + 65 * 1),  # one breach (1065) beats two (2010)
    ],
)
def test_breach_cost_prefers_fewer_late_orders_over_fewer_late_seconds(
    breach: int, expected: list[int], objective: int
) -> None:
    data = two_small_or_one_big(breach)
    result = solve(data, EXACT)
    assert result.routes == [expected]
    assert result.objective == objective
    assert result.dropped == []


def test_breach_cost_of_an_order_that_cannot_be_on_time_is_paid_once() -> None:
    # Order 2 at 50, its site opens at 20, its deadline is 10: no on-time start exists, so it
    # gets no twin and the breach is paid on the arc into it.
    # 50 there + 50 back + 1000 breach + 40 s late (served at 50).
    data = make_input(
        line([0, 0, 50]),
        windows={2: [(20, 1000)]},
        deadline={2: 10},
        late_cost={2: 1},
        breach_cost=np.array([0, 0, 1000]),
    )
    result = solve(data, EXACT)
    assert result.routes == [[2]]
    assert result.start_s == [[50]]
    assert result.objective == 50 + 50 + 1000 + 40 * 1


def test_order_that_cannot_be_late_gets_no_twin() -> None:
    # Order 2's window closes at 40, before its deadline 60: served at all means on time.
    # Order 3 (window to 100, deadline 60) can be late: it alone gets a twin (node 4).
    data = make_input(
        line([0, 0, 10, 20]),
        windows={2: [(0, 40)], 3: [(0, 100)]},
        deadline={2: 60, 3: 60},
        late_cost={2: 1, 3: 1},
        breach_cost=np.array([0, 0, 1000, 1000]),
    )
    expanded, twins = with_late_twins(data)
    assert twins is not None and twins.late == {3: 4}
    assert expanded.n_nodes == 5
    assert expanded.windows[2] == [(0, 40)] and expanded.windows[3] == [(0, 60)]


def test_breach_cost_keeps_warm_start_and_greedy_routes_in_original_nodes() -> None:
    # A late warm-start visit is mapped onto the late twin and back: routes name node 3.
    data = two_small_or_one_big()
    given = solve(data, SearchParams(time_limit_s=60, solution_limit=1), initial_routes=[[2, 3]])
    assert given.initial == "given"
    assert given.routes == [[2, 3]]
    assert given.objective == 110 + 2 * 1000 + 10
    greedy = solve(data, replace(EXACT, initial="insertion"))
    assert greedy.initial == "insertion"
    assert greedy.routes == [[3, 2]]
    assert greedy.dropped == []


def test_on_time_only_makes_every_deadline_hard() -> None:
    # A (node 2, deadline 45) cannot be reached by 45 from anywhere (start->A is 50); B
    # (node 3, deadline 105) can. With hard deadlines only B is served.
    data = two_small_or_one_big()
    strict = on_time_only(data)
    assert strict.windows[2] == [(0, 45)] and strict.windows[3] == [(0, 105)]
    assert strict.breach_cost is None and not strict.late_cost_per_s.any()
    result = solve(strict, EXACT)
    assert result.routes == [[3]] and result.dropped == [2]


def test_on_time_phase_starts_the_whole_search_from_the_on_time_routes() -> None:
    # Phase 1 serves B on time; phase 2 inserts A after it (one breach, 65 s late), the
    # optimum of test_breach_cost_prefers_fewer_late_orders_over_fewer_late_seconds.
    data = two_small_or_one_big()
    result = solve(data, replace(EXACT, on_time_phase=0.5))
    assert result.initial == "on_time_first"
    assert result.routes == [[3, 2]]
    assert result.objective == 110 + 1000 + 65


@pytest.mark.parametrize("registration", ["matrix", "callback"])
def test_vehicle_node_cost_and_late_twins_still_leave_a_solution(
    registration: str,
) -> None:
    # OR-Tools 9.15 returned no solution for this model when the per-vehicle cost was a
    # dimension of vehicle transits (it meets the order/late-twin disjunction). Order 4 costs
    # 300 on either vehicle, order 5 costs 3000 on vehicle 1: both go to vehicle 0 along the
    # line (10 + 10 there, 20 back) = 40 + 300; serving 5 on vehicle 1 would add 3000.
    # Both ways of registering the matrices (C++ matrix, Python callback) price it alike.
    data = make_input(
        line([0, 0, 0, 0, 10, 20]),
        n_vehicles=2,
        deadline={4: 50},
        late_cost={4: 1},
        breach_cost=np.array([0, 0, 0, 0, 100, 0]),
        vehicle_node_cost=np.array([[0, 0, 0, 0, 300, 0], [0, 0, 0, 0, 300, 3000]]),
    )
    result = solve(data, replace(EXACT, matrix_registration=registration))
    assert result.status != "no_solution"
    assert result.routes == [[4, 5], []]
    assert result.objective == 40 + 300


# ------------------------------------------------------------------ search behaviour


def _random_instance(n_orders: int, seed: int) -> RoutingInput:
    # Two vehicles from a depot in the middle of a 100 x 100 square, loose windows.
    rng = np.random.default_rng(seed)
    xy = np.vstack([[[50, 50]] * 4, rng.integers(0, 100, size=(n_orders, 2))])
    travel = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    windows = {i: [(0, 400)] for i in range(4, 4 + n_orders)}
    return make_input(travel.astype(int).tolist(), n_vehicles=2, horizon=1000, windows=windows)


def test_progress_reports_an_improving_best_so_far() -> None:
    seen: list[Progress] = []
    data = _random_instance(12, seed=3)
    result = solve(data, EXACT, on_progress=seen.append, progress_every_s=0)
    assert seen, "no progress reported"
    objectives = [p.objective for p in seen]
    assert objectives == sorted(objectives, reverse=True)
    assert [p.elapsed_s for p in seen] == sorted(p.elapsed_s for p in seen)
    assert objectives[-1] == result.objective
    assert all(p.on_time is None or p.on_time == 12 for p in seen[:-1])  # no deadlines
    assert result.history and result.history[-1][1] == result.objective


def test_solution_limit_makes_the_search_deterministic() -> None:
    data = _random_instance(20, seed=7)
    params = SearchParams(time_limit_s=60, solution_limit=40)  # guided local search
    first, second = solve(data, params), solve(data, params)
    assert first.routes == second.routes
    assert first.objective == second.objective
    assert first.solutions == second.solutions == 40


def test_infeasible_vehicle_is_reported_as_no_solution() -> None:
    # The vehicle may leave only at 60, after the horizon (50) has closed.
    data = replace(make_input(line([0, 0, 1]), horizon=50), start_min_s=[60], start_max_s=[60])
    result = solve(data, EXACT)
    assert result.status == "no_solution"
    assert result.objective is None
    assert result.routes == [[]]
    assert result.first_solution_s is None


def test_an_order_whose_windows_lie_past_the_horizon_is_left_out_and_the_rest_planned() -> None:
    # Horizon 100. Order 2 (at 10) may start only in [150, 160] — never; order 3 (at 20) any
    # time. Before, the window's bounds emptied the cumul domain while the model was built
    # and the whole problem came back as no solution.
    data = make_input(line([0, 0, 10, 20]), horizon=100, windows={2: [(150, 160)]})
    for params in (EXACT, SearchParams(time_limit_s=1)):
        result = solve(data, params)
        assert result.status in ("feasible", "optimal")
        assert result.routes == [[3]] and result.dropped == [2]


def test_warm_start_from_given_routes() -> None:
    data = _random_instance(8, seed=1)
    given = [[4, 5, 6, 7], [8, 9, 10, 11]]
    result = solve(data, SearchParams(time_limit_s=60, solution_limit=1), initial_routes=given)
    assert result.initial == "given"
    m = routing.build(data)
    plan, removed = routing.exact_timing(m, data).plan(given, "given")
    assert not removed
    # The given routes are the first plan; the result is never worse than them.
    assert result.history[0][1] == plan.objective
    assert result.objective is not None and result.objective <= plan.objective


def test_greedy_first_solution_is_used_and_feasible() -> None:
    # ("auto" picks the greedy start only on large problems with several windows per order.)
    data = make_input(line([0, 0, 10, 20]), windows={2: [(0, 5), (30, 40)], 3: [(0, 100)]})
    result = solve(data, replace(EXACT, initial="greedy"))
    assert result.initial == "greedy"
    assert sorted(result.routes[0]) == [2, 3]
    assert result.start_s[0][result.routes[0].index(2)] >= 30


def test_greedy_routes_respect_windows_breaks_and_allowed_vehicles() -> None:
    # Vehicle 0 rests during [0, 100); vehicle 1 may not serve order 5; order 4 opens at 50.
    data = make_input(
        line([0, 0, 0, 0, 10, 20]),
        n_vehicles=2,
        windows={4: [(50, 60)], 5: [(0, 40)]},
        allowed={5: [0]},
        breaks=[[(0, 100)], []],
        horizon=1000,
    )
    routes = greedy_routes(data)
    # Order 5 needs vehicle 0, which cannot arrive before 110 > 40: left out.
    assert routes == [[], [4]]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"solution_limit": 0}, "solution_limit"),
        ({"first_solution": "NOPE"}, "first_solution"),
        ({"metaheuristic": "NOPE"}, "metaheuristic"),
        ({"initial": "NOPE"}, "initial"),
        ({"gls_lambda": 0}, "gls_lambda"),
        ({"ls_neighbors_ratio": 1.5}, "ls_neighbors_ratio"),
        ({"extra": "no_such_field: 1"}, "extra"),
        ({"on_time_phase": 1.0}, "on_time_phase"),
        ({"on_time_phase": -0.1}, "on_time_phase"),
    ],
)
def test_search_params_reject_bad_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SearchParams(**kwargs)  # type: ignore[arg-type]


def test_search_params_options_reach_or_tools() -> None:
    data = _random_instance(10, seed=2)
    params = SearchParams(
        time_limit_s=60,
        solution_limit=20,
        gls_lambda=0.2,
        ls_neighbors_ratio=0.5,
        ls_min_neighbors=3,
        cumul_scheduling=False,
        lns_time_limit_s=0.05,
        extra="guided_local_search_reset_penalties_on_new_best_solution: true",
    )
    result = solve(data, params)
    assert result.status == "feasible"
    assert result.solutions == 20


def test_iterated_local_search_finds_a_solution() -> None:
    # OR-Tools 9.15 has no default ruin strategy; without one it rejects the parameters.
    data = _random_instance(10, seed=4)
    result = solve(
        data, SearchParams(time_limit_s=60, solution_limit=20, iterated_local_search=True)
    )
    assert result.status == "feasible"
    assert sorted(n for r in result.routes for n in r) == list(range(4, 14))


def test_should_stop_ends_a_time_bounded_search_at_the_next_solution() -> None:
    # Six orders on a line: GLS would run to its 30 s limit; a stop request after the third
    # solution must end the search at once and still return the best plan found.
    import time

    data = make_input(line([0, 0, 3, 7, 1, 9, 4, 6]), horizon=10_000)
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) >= 3

    started = time.perf_counter()
    result = solve(data, SearchParams(time_limit_s=30), should_stop=stop)
    assert time.perf_counter() - started < 10
    assert result.status in ("feasible", "optimal") and not result.dropped
    assert len(asked) >= 3


def test_a_limit_too_short_for_any_first_solution_still_returns_the_greedy_plan() -> None:
    # 60 orders on a line, 2 vehicles, 1 ms: OR-Tools finds no first solution in that time;
    # the greedy construction, timed exactly, is a plan from the start (no restore needed).
    positions = [0, 0, 0, 0] + list(range(1, 61))
    data = make_input(line(positions), n_vehicles=2, horizon=10_000)
    result = solve(data, SearchParams(time_limit_s=0.001))
    assert result.status == "feasible"
    assert result.phase in ("greedy", "search", "fill")
    assert result.history[0][1] >= result.objective
    assert sorted(j for r in result.routes for j in r) == list(range(4, 64))
    timing = routing.exact_timing(routing.build(data), data)
    assert [timing.starts(v, r) for v, r in enumerate(result.routes)] == result.start_s


def test_a_search_plan_that_starts_a_visit_in_a_window_hole_is_not_returned() -> None:
    # One vehicle without rests, horizon 150, a boundary at 100 (both orders' windows reopen
    # there, so the hole before it becomes a one-second break and order 2 a 60-s visit).
    # Order 2 (at 50, 10 s) may start in [0, 40] or [100, 105]; order 3 (at 55, 10 s) in
    # [0, 90] or [100, 110]. Reached at 50, order 2 really starts at 101 and nothing after it
    # fits: only order 3 alone can be served. OR-Tools' break constraint checks the rest
    # against the visits before the arc it lies on, so it accepts [2, 3] with order 2 at 50
    # (inside the hole) — the plan the search returned before; now the greedy one replaces it.
    pos = [0, 0, 50, 55]
    t = np.asarray([[abs(a - b) for b in pos] for a in pos], dtype=np.int64)
    data = RoutingInput(
        travel_s=t,
        arc_cost=t,
        service_s=np.asarray([0, 0, 10, 10], dtype=np.int64),
        starts=[0],
        ends=[1],
        start_min_s=[0],
        start_max_s=[0],
        horizon_s=150,
        windows=[[], [], [(0, 40), (100, 105)], [(0, 90), (100, 110)]],
        allowed_vehicles=[None] * 4,
        drop_penalty=np.full(4, 10_000, dtype=np.int64),
        deadline_s=np.full(4, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(4, dtype=np.int64),
        breaks=[[]],
    )
    m = routing.build(data)
    assert m.time.boundaries == [100] and int(m.time.visit_s[2]) == 60
    timing = routing.exact_timing(m, data)
    assert timing.starts(0, [2, 3]) is None and timing.starts(0, [2]) is None
    assert timing.starts(0, [3]) == [55] and timing.starts(0, [3, 2]) is None
    result = solve(data, SearchParams(time_limit_s=1))
    assert result.routes == [[3]]
    assert result.start_s == [[55]]
