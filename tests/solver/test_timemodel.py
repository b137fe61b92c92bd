"""Window holes before a common boundary become one-second breaks (solver/timemodel.py)."""

from __future__ import annotations

import numpy as np

from solver.routing import NO_DEADLINE, RoutingInput, SearchParams, solve
from solver.timemodel import rewrite

# Working days end at 100 on the work clock; a 30-long service may start by 70 (day 1) or
# from 100 (day 2): the hole (70, 100) says "do not straddle the day end".
DAYS = [(0, 70), (100, 170)]


def test_straddle_hole_becomes_a_boundary_break() -> None:
    service = np.array([0, 0, 30, 30])
    tm = rewrite(4, [2, 3], [[], [], DAYS, DAYS], service, [[]], 1, [0], 200)
    assert tm.boundaries == [100]
    assert tm.holes[2] == [] and tm.hull[2] == (0, 170)
    assert tm.breaks == [[(100, 1)]]
    assert int(tm.visit_s[2]) == 30  # L = 100 - 70
    # Exact starts: (70, 100] is forbidden by the break; the instant 100 is the price.
    assert tm.windows[2] == [(0, 70), (101, 170)]


def test_site_closing_early_widens_the_visit_length() -> None:
    # Order 3's site closes 20 earlier each day: hole (50, 100) -> visit length 50.
    service = np.array([0, 0, 30, 30])
    tm = rewrite(4, [2, 3], [[], [], DAYS, [(0, 50), (100, 150)]], service, [[]], 1, [0], 200)
    assert tm.boundaries == [100]
    assert int(tm.visit_s[3]) == 50
    assert tm.windows[3] == [(0, 50), (101, 150)]


def test_a_vehicle_resting_over_the_boundary_gets_the_visit_length_its_rest_needs() -> None:
    # Order 3's site closes at 50, the day at 100 (visit length 50 for the boundary break).
    # Vehicle 1 rests over [80, 100): no boundary break for it; its rest alone must keep the
    # starts in (50, 100] out, which a visit of 80 - 50 = 30 does (the service itself, 30):
    # a start at 50 ends at 80, where the rest begins. The common length 50 would have held
    # it to starts by 30. Vehicle 0 (no rest) keeps 50; order 2 (no early close) keeps 30.
    service = np.array([0, 0, 0, 0, 30, 30])
    windows = [[], [], [], [], DAYS, [(0, 50), (100, 150)]]
    tm = rewrite(6, [4, 5], windows, service, [[], [(80, 20)]], 2, [0, 0], 200)
    assert tm.boundaries == [100]
    assert tm.breaks == [[(100, 1)], [(80, 20)]]
    assert tm.visit_v is not None
    assert tm.visit_v[:, 5].tolist() == [50, 30]
    assert tm.visit_v[:, 4].tolist() == [30, 30]
    # A rest from 60: the service itself keeps the starts by 30, so the length is the service.
    tm = rewrite(6, [4, 5], windows, service, [[], [(60, 40)]], 2, [0, 0], 200)
    assert tm.visit_v is not None and tm.visit_v[:, 5].tolist() == [50, 30]
    # A rest from 90: starts in (50, 60] would end by 90 (site closed); a length 40 keeps
    # them out and nothing else.
    tm = rewrite(6, [4, 5], windows, service, [[], [(90, 10)]], 2, [0, 0], 200)
    assert tm.visit_v is not None and tm.visit_v[:, 5].tolist() == [50, 40]


def test_no_boundary_when_some_order_could_straddle_it() -> None:
    # Order 3 has no window: it may straddle 100, so no break may forbid that.
    service = np.array([0, 0, 30, 30])
    tm = rewrite(4, [2, 3], [[], [], DAYS, []], service, [[]], 1, [0], 200)
    assert tm.boundaries == []
    assert tm.holes[2] == [(71, 99)]
    assert tm.breaks == [[]]


def test_disabled_rewrite_keeps_the_holes() -> None:
    service = np.array([0, 0, 30, 30])
    tm = rewrite(4, [2, 3], [[], [], DAYS, DAYS], service, [[]], 1, [0], 200, enabled=False)
    assert tm.boundaries == [] and tm.holes[2] == [(71, 99)]


def test_both_models_serve_the_order_on_day_two() -> None:
    # Travel 80 to the order: too late for day 1 (last start 70); day 2 opens at 100.
    n = 3
    travel = np.array([[0, 0, 80], [0, 0, 0], [80, 0, 0]])
    data = RoutingInput(
        travel_s=travel,
        arc_cost=travel,
        service_s=np.array([0, 0, 30]),
        starts=[0],
        ends=[1],
        start_min_s=[0],
        start_max_s=[0],
        horizon_s=200,
        windows=[[], [], DAYS],
        allowed_vehicles=[None] * n,
        drop_penalty=np.full(n, 10**6),
        deadline_s=np.full(n, NO_DEADLINE),
        late_cost_per_s=np.zeros(n, dtype=np.int64),
    )
    params = SearchParams(time_limit_s=60, solution_limit=50, metaheuristic="GREEDY_DESCENT")
    holes = solve(data, SearchParams(**{**params.__dict__, "holes_as_breaks": False}))
    breaks = solve(data, params)
    assert holes.routes == breaks.routes == [[2]]
    assert holes.start_s == [[100]]
    assert breaks.start_s[0][0] >= 100  # 101 once the break is propagated: the price of T
