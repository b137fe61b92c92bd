"""Decomposition (solver/decompose.py): split by geography, parts in parallel, polish."""

from __future__ import annotations

import numpy as np
import pytest

from solver.decompose import n_parts, partition, subproblem
from solver.routing import NO_DEADLINE, RoutingInput, SearchParams, solve


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


def test_orders_go_to_the_part_of_their_nearest_allowed_vehicle() -> None:
    data = _two_cities()
    parts = partition(data, 2)
    assert sorted(vs for vs, _ in parts) == [[0, 1], [2, 3]]
    by_vehicles = {tuple(vs): sorted(os) for vs, os in parts}
    # Order 8 is near A but only vehicle 3 (in B) may serve it.
    assert by_vehicles[(0, 1)] == [9, 10, 11, 12, 13]
    assert by_vehicles[(2, 3)] == [8, 14, 15, 16, 17, 18, 19]


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


def test_problems_are_not_split_unless_asked() -> None:
    data = _two_cities()
    assert n_parts(data, SearchParams()) == 1
    assert n_parts(data, SearchParams(parts=3)) == 3
    assert n_parts(data, SearchParams(parts=9)) == 4  # never more parts than vehicles


@pytest.mark.parametrize("parts", [0, -2])
def test_parts_must_be_positive(parts: int) -> None:
    with pytest.raises(ValueError, match="parts"):
        SearchParams(parts=parts)
