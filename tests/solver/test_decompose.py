"""Decomposition (solver/decompose.py): groups of nearby routes improved in parallel, polish."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver.decompose import left_orders, route_groups, subproblem
from solver.routing import NO_DEADLINE, RoutingInput, SearchParams, solve
from solver.strategy import n_parts
from solver.thresholds import Thresholds


def _two_cities(orders_per_city: int = 6) -> RoutingInput:
    """Vehicles 0, 1 start and end at x=0 (city A), vehicles 2, 3 at x=1000 (city B).

    Node layout: starts 0-3, ends 4-7, then ``orders_per_city`` orders near A (x = 1..k), then
    as many near B (x = 1001..1000+k). Travel = distance on the line; windows [0, 5000].
    """
    xs = [0, 0, 1000, 1000, 0, 0, 1000, 1000]
    xs += [1 + k for k in range(orders_per_city)] + [1001 + k for k in range(orders_per_city)]
    pos = np.asarray(xs, dtype=np.int64)
    travel = np.abs(pos[:, None] - pos[None, :])
    n = len(xs)
    allowed: list[list[int] | None] = [None] * n
    allowed[8] = [3]  # the first order near A may only go to vehicle 3 (in B)
    return RoutingInput(
        travel_s=travel,
        arc_cost=travel,
        service_s=np.full(n, 10, dtype=np.int64),
        starts=[0, 1, 2, 3],
        ends=[4, 5, 6, 7],
        start_min_s=[0] * 4,
        start_max_s=[0] * 4,
        horizon_s=5000,
        windows=[[] for _ in range(8)] + [[(0, 5000)] for _ in range(n - 8)],
        allowed_vehicles=allowed,
        drop_penalty=np.full(n, 10**9, dtype=np.int64),
        deadline_s=np.full(n, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(n, dtype=np.int64),
    )


def test_nearby_routes_form_a_group_and_idle_vehicles_join_the_nearest_one() -> None:
    # Routes of vehicles 0 and 2 lie near A (x 1..3, 4..5), vehicle 3's near B; vehicle 1
    # (based in A) is idle. Two groups: the routes near A together, B's alone, and the idle
    # vehicle joins A's group whichever route seeds first.
    data = _two_cities()
    routes = [[9, 10, 11], [], [12, 13], [14, 15, 16]]
    assert sorted(sorted(g) for g in route_groups(data, routes, 2)) == [[0, 1, 2], [3]]
    assert sorted(sorted(g) for g in route_groups(data, routes, 2, first=2)) == [[0, 1, 2], [3]]
    # One group only: everything together.
    assert sorted(sorted(g) for g in route_groups(data, routes, 1)) == [[0, 1, 2, 3]]


def test_unserved_orders_join_the_group_nearest_to_them_that_may_serve_them() -> None:
    # Order 8 (x=1, near A) may only go to vehicle 3 (in B's group); 17 (x=1004) is near B.
    data = _two_cities()
    routes = [[9, 10, 11], [], [12, 13], [14, 15, 16, 18, 19]]
    groups = [[0, 1, 2], [3]]
    assert left_orders(data, routes, groups) == [[], [8, 17]]
    # Nobody may serve order 8 at all: it stays out of every part.
    allowed = list(data.allowed_vehicles)
    allowed[8] = []
    blocked = replace(data, allowed_vehicles=allowed)
    assert left_orders(blocked, routes, groups) == [[], [17]]


def test_subproblem_renumbers_nodes_and_vehicles_consistently() -> None:
    data = _two_cities()
    part = subproblem(data, [2, 3], [8, 14, 15])
    assert part.nodes.tolist() == [2, 3, 6, 7, 8, 14, 15]
    assert part.data.starts == [0, 1] and part.data.ends == [2, 3]
    g = part.nodes
    assert np.array_equal(part.data.travel_s, data.travel_s[np.ix_(g, g)])
    assert part.data.allowed_vehicles[4] == [1]  # order 8: vehicle 3 is local vehicle 1
    assert part.data.windows[5] == [(0, 5000)]


def test_decomposed_solve_serves_every_order_once_from_the_parts_routes() -> None:
    data = _two_cities()
    params = SearchParams(time_limit_s=60, solution_limit=30, parts=2)
    result = solve(data, params)
    assert result.initial == "parts"
    served = sorted(n for r in result.routes for n in r)
    assert served == list(range(8, 20)) and result.dropped == []
    assert 8 in result.routes[3]  # the restriction holds in the part and in the whole
    # The objective is the arc cost of the routes as returned (global node numbers).
    cost = 0
    for v, route in enumerate(result.routes):
        path = [data.starts[v], *route, data.ends[v]]
        cost += sum(int(data.arc_cost[a, b]) for a, b in zip(path, path[1:], strict=False))
    assert result.objective == cost


def test_problems_are_not_split_unless_asked_or_large() -> None:
    data = _two_cities()
    assert n_parts(data, SearchParams()) == 1
    assert n_parts(data, SearchParams(parts=3)) == 3
    assert n_parts(data, SearchParams(parts=9)) == 4  # never more parts than vehicles
    assert n_parts(data, SearchParams(parts=0)) == 1  # automatic: 12 orders are not split


def test_automatic_parts_hold_about_100_orders_and_6_routes_each() -> None:
    n = 4 + 1200
    big = RoutingInput(
        travel_s=np.zeros((n, n), dtype=np.int64),
        arc_cost=np.zeros((n, n), dtype=np.int64),
        service_s=np.zeros(n, dtype=np.int64),
        starts=[0, 1],
        ends=[2, 3],
        start_min_s=[0, 0],
        start_max_s=[0, 0],
        horizon_s=10,
        windows=[[] for _ in range(n)],
        allowed_vehicles=[None] * n,
        drop_penalty=np.ones(n, dtype=np.int64),
        deadline_s=np.full(n, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(n, dtype=np.int64),
    )
    auto = SearchParams(parts=0)
    assert n_parts(big, auto, used_routes=120) == 1  # below auto_from_orders: the whole model
    auto = SearchParams(parts=0, thresholds=Thresholds(auto_from_orders=1000))
    assert n_parts(big, auto, used_routes=120) == 12  # 1,200 orders / 100
    assert n_parts(big, auto, used_routes=20) == 3  # 20 long routes / 6
    assert n_parts(big, auto, used_routes=5) == 2  # at least two


@pytest.mark.parametrize("parts", [-1, -2])
def test_parts_must_be_positive(parts: int) -> None:
    with pytest.raises(ValueError, match="parts"):
        SearchParams(parts=parts)
