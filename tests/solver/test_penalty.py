"""Adaptive capacity penalties (solver/penalty.py, the compiled moves of solver/fastrr.py and
the population of solver/population.py): off, the moves are today's; on, every plan returned
is within capacity and exactly timed; the weight rises when few results are within capacity
and falls when many are; an overloaded route gives up orders rather than all of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from solver import fastrr, penalty, population
from solver.params import SearchParams
from solver.problem import ParamError
from solver.routing import RoutingInput
from tests.solver.test_fastrr import _check, _plain, _problem

pytestmark = pytest.mark.skipif(not fastrr.AVAILABLE, reason="numba is not installed")


def _tight(n: int, seed: int) -> RoutingInput:
    """``n`` orders at random sites, windows wide open (0-3,000), demands 5-14, 4 vehicles
    whose capacity holds about 1.1 times the mean load: capacity, not time, binds."""
    rng = np.random.default_rng(seed)
    xy = [(int(x), int(y)) for x, y in rng.integers(-50, 51, size=(n, 2))]
    demand = [int(q) for q in rng.integers(5, 15, size=n)]
    return _plain(
        xy,
        [[(0, 3000)]] * n,
        n_vehicles=4,
        horizon=3000,
        demand=demand,
        capacity=int(1.1 * sum(demand) / 4),
    )


def _moves(data: RoutingInput) -> dict[str, np.ndarray]:
    """The kernel's inputs for ``data``: each order's 10 nearest orders (itself first)."""
    orders = np.arange(1, data.n_nodes, dtype=np.int64)
    sub = data.travel_s[np.ix_(orders, orders)]
    near = orders[np.argsort(sub + sub.T, axis=1, kind="stable")[:, :11]]
    row = np.full(data.n_nodes, -1, dtype=np.int64)
    row[orders] = np.arange(orders.size)
    return {
        "drop": np.asarray(data.drop_penalty, dtype=np.int64),
        "kind": np.zeros(4, dtype=np.int64),
        "neighbours": near,
        "row": row,
        "pick": orders,
        "orders": orders,
    }


def _start(data: RoutingInput) -> list[list[int]]:
    """Orders in turn onto the first vehicle with room (a feasible, poor start)."""
    assert data.demand is not None and data.capacity is not None
    routes: list[list[int]] = [[] for _ in range(4)]
    load = [0] * 4
    for j in range(1, data.n_nodes):
        v = next(v for v in range(4) if load[v] + data.demand[j] <= data.capacity[v])
        routes[v].append(j)
        load[v] += int(data.demand[j])
    return routes


def _improve(data: RoutingInput, seed: int, moves: int, **extra: Any) -> list[list[int]]:
    m = _moves(data)
    routes, done = fastrr.improve(
        _problem(data), m["drop"], m["kind"], m["neighbours"], m["row"], m["pick"],
        _start(data), 60.0, seed, moves, None, anneal=True, t_hot=50.0, t_ratio=0.01,
        max_string=10, string_share=0.5, random_share=0.5, noise=10, on_time_first=False,
        max_exact=40, orders=m["orders"], **extra,
    )  # fmt: skip
    assert done == moves
    return routes


def _evolve(data: RoutingInput, seed: int, moves: int, **extra: Any) -> list[list[int]]:
    m = _moves(data)
    routes, done = population.evolve(
        _problem(data), m["drop"], m["kind"], m["neighbours"], m["row"], m["pick"],
        _start(data), 60.0, seed, moves, None, size=4, t_hot=50.0, orders=m["orders"],
        max_string=10, string_share=0.5, random_share=0.5, noise=10, on_time_first=False,
        max_exact=40, **extra,
    )  # fmt: skip
    assert done == moves
    return routes


# The routes of _improve(_tight(30, 1), 7, 3000) and _evolve(_tight(30, 1), 7, 6000) before
# the capacity penalties existed (commit 1aa7c44): without them the moves are the same.
TODAY_IMPROVE = [
    [1, 8, 15, 22, 3, 10, 5, 18],
    [27, 16, 26, 21, 24, 30, 7],
    [14, 25, 2, 4, 11, 12, 9],
    [23, 20, 29, 19, 17, 28, 13, 6],
]
TODAY_EVOLVE = [
    [1, 8, 15, 22, 3, 10, 5, 18],
    [14, 25, 2, 4, 11, 12, 9],
    [6, 13, 28, 19, 17, 29, 20, 23],
    [27, 16, 26, 21, 24, 30, 7],
]


def test_without_the_penalty_the_moves_are_todays() -> None:
    data = _tight(30, 1)
    assert _improve(data, 7, 3000) == TODAY_IMPROVE
    assert _improve(data, 7, 3000, cap_penalty=penalty.off()) == TODAY_IMPROVE
    assert _evolve(data, 7, 6000) == TODAY_EVOLVE
    assert _evolve(data, 7, 6000, cap_penalty=False) == TODAY_EVOLVE


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_with_the_penalty_every_plan_is_within_capacity_and_exactly_timed(seed: int) -> None:
    data = _tight(30, seed)
    P = _problem(data)
    pen = penalty.weights(P, np.arange(1, data.n_nodes))
    start = pen[penalty.W]
    routes = _improve(data, seed, 3000, cap_penalty=pen)
    assert pen[penalty.W] != start  # the moves counted their results and adapted the weight
    _check(data, routes)  # capacity, windows and the horizon, independently
    fastrr.state_of(P, routes)  # the kernel times every route
    evolved = _evolve(data, seed, 6000, cap_penalty=True)
    _check(data, evolved)
    fastrr.state_of(P, evolved)
    assert sorted(j for r in evolved for j in r) == list(range(1, data.n_nodes))


def test_the_penalised_moves_do_go_over_capacity() -> None:
    """The weight at its floor: a placement past capacity costs next to nothing, so the
    current routes leave capacity and the weight has to rise again; the routes returned are
    still within it."""
    data = _tight(30, 4)
    P = _problem(data)
    pen = penalty.weights(P, np.arange(1, data.n_nodes))
    pen[penalty.W] = pen[penalty.LO]
    routes = _improve(data, 4, 2000, cap_penalty=pen)
    assert pen[penalty.W] > pen[penalty.LO]  # too few results within capacity: dearer
    _check(data, routes)


def test_the_weight_rises_when_few_results_are_within_capacity_and_falls_when_many() -> None:
    lo, hi = 0.1, 10.0
    assert penalty.adapt(1.0, 10, 100, 0.45, lo, hi) == pytest.approx(penalty.UP)
    assert penalty.adapt(1.0, 90, 100, 0.45, lo, hi) == pytest.approx(penalty.DOWN)
    assert penalty.adapt(1.0, 45, 100, 0.45, lo, hi) == 1.0  # on target: unchanged
    assert penalty.adapt(9.0, 0, 100, 0.45, lo, hi) == hi  # clamped
    assert penalty.adapt(0.11, 100, 100, 0.45, lo, hi) == lo
    assert penalty.adapt(1.0, 0, 0, 0.45, lo, hi) == 1.0  # nothing counted


def test_the_start_weight_is_a_mean_arc_per_mean_demand_and_zero_without_capacity() -> None:
    # Two orders 3 apart and 4 from the depot (arcs 3 and 3 between them), demands 2 and 4.
    data = _plain([(0, 4), (3, 4)], [[(0, 100)]] * 2, demand=[2, 4], capacity=5)
    assert penalty.start_weight(_problem(data), np.asarray([1, 2])) == pytest.approx(3 / 3)
    free = _plain([(0, 4), (3, 4)], [[(0, 100)]] * 2, demand=[0, 0])
    assert penalty.weights(_problem(free), np.asarray([1, 2]))[penalty.W] == 0.0


def test_repair_unloads_an_overloaded_route_and_puts_its_orders_back_within_it() -> None:
    data = _tight(30, 5)
    P = _problem(data)
    orders = np.arange(1, data.n_nodes, dtype=np.int64)
    start = _start(data)
    over = [[j for r in start[:2] for j in r], [], *start[2:]]  # two routes' orders on one
    assert data.demand is not None and data.capacity is not None
    assert int(data.demand[over[0]].sum()) > data.capacity[0]
    fixed = population.repair(P, data.drop_penalty, over, orders, np.random.default_rng(0))
    _check(data, fixed)
    assert sorted(j for r in fixed for j in r) == orders.tolist()
    # The overloaded route itself: orders out, in its order otherwise, until within capacity.
    R, ST, LT = (np.zeros((4, 32), dtype=np.int64) for _ in range(3))
    rl = np.zeros(4, dtype=np.int64)
    R[0, : len(over[0])], rl[0] = over[0], len(over[0])
    assert fastrr._retime(0, R, rl, ST, LT, P)
    load = population._unload(0, P, R, rl, ST, LT)
    kept = R[0, : rl[0]].tolist()
    assert load == int(data.demand[kept].sum()) <= data.capacity[0]
    assert kept == [j for j in over[0] if j in kept]
    out = [j for j in over[0] if j not in kept]  # no more than it took: over before the last
    assert load + max(int(data.demand[j]) for j in out) > data.capacity[0]


def test_the_switch_is_a_search_parameter_off_by_default() -> None:
    assert SearchParams().cap_penalty is False
    assert SearchParams(cap_penalty=True).cap_penalty is True
    with pytest.raises(ParamError) as err:
        SearchParams(cap_penalty="yes")  # type: ignore[arg-type]
    assert err.value.field == "cap_penalty"


def test_the_switch_reaches_the_population_of_a_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SearchParams.cap_penalty`` goes from the search through the insertion to the
    population (a spy on the real one), and the solve's plan keeps every rule. Under a time
    limit (the population runs where the moves anneal over the clock); nothing here depends
    on how far the search gets."""
    from solver import insertion
    from solver.routing import solve

    seen: list[object] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("cap_penalty"))
        return population.evolve(*args, **kwargs)

    monkeypatch.setattr(insertion, "evolve_population", spy)
    data = _tight(30, 4)
    for on in (False, True):
        params = SearchParams(time_limit_s=3, initial="insertion", population=4, cap_penalty=on)
        result = solve(data, params)
        assert seen and seen[-1] is on
        _check(data, result.routes)
