"""The compiled ruin and recreate's fast paths (solver/fastrr.py) against its general ones
and the Python timing: ``_retime_plain`` (a vehicle without rests on a problem without
boundaries) against ``_retime``, and the moves on problems where such vehicles share the
plan with rested ones, deadlines and overtime."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import fastrr
from solver.insertion import Insertion
from solver.routing import NO_DEADLINE, RoutingInput

pytestmark = pytest.mark.skipif(not fastrr.AVAILABLE, reason="numba is not installed")

DAY = 1000


def _mixed(n: int, seed: int, boundaries: bool = False) -> Insertion:
    """``n`` orders on a three-day plan for 4 vehicles: vehicles 0 and 1 rest at night, 2 and
    3 do not; windows per day, deadlines (with a breach cost) on half the orders, skills on a
    third, overtime bands every evening. No boundaries unless asked, so vehicles 2 and 3
    take the rest-free path."""
    rng = np.random.default_rng(seed)
    pts = np.asarray([(0, 0), *rng.integers(-50, 51, size=(n, 2)).tolist()], dtype=float)
    d = np.ceil(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    m = n + 1
    svc = np.asarray([0, *rng.integers(5, 30, size=n).tolist()], dtype=np.int64)
    windows = [[]] + [
        [(day * DAY + int(a), day * DAY + int(a) + 300) for day in range(3)]
        for a in rng.integers(0, 400, size=n)
    ]
    deadline = np.where(rng.random(m) < 0.5, rng.integers(300, 3 * DAY, size=m), NO_DEADLINE)
    deadline[0] = NO_DEADLINE
    allowed = [None] + [[int(rng.integers(0, 4))] if rng.random() < 0.3 else None for _ in range(n)]
    data = RoutingInput(
        travel_s=d,
        arc_cost=d,
        service_s=svc,
        starts=[0] * 4,
        ends=[0] * 4,
        start_min_s=[0] * 4,
        start_max_s=[0] * 4,
        horizon_s=3 * DAY,
        windows=windows,
        allowed_vehicles=allowed,
        drop_penalty=np.full(m, 10**5, dtype=np.int64),
        deadline_s=deadline.astype(np.int64),
        late_cost_per_s=np.full(m, 3, dtype=np.int64),
        breaks=[[(day * DAY + 750, 250) for day in range(3)]] * 2 + [[], []],
        demand=np.ones(m, dtype=np.int64),
        capacity=[10**6] * 4,
        breach_cost=np.full(m, 1000, dtype=np.int64),
        overtime_bands=[[(day * DAY + 600, day * DAY + 750) for day in range(3)]] * 4,
        overtime_cost_per_hour=3600,
    )
    return Insertion(data, None, [DAY, 2 * DAY] if boundaries else [], 40)


def _grid(n: int, seed: int) -> Insertion:
    """A plain problem: ``n`` orders, one to three windows each, 5 vehicles, capacity."""
    rng = np.random.default_rng(seed)
    pts = np.asarray([(0, 0), *rng.integers(-50, 51, size=(n, 2)).tolist()], dtype=float)
    d = np.ceil(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    m = n + 1
    windows: list[list[tuple[int, int]]] = [[]]
    for _ in range(n):
        cuts = np.sort(rng.choice(1000, size=2 * int(rng.integers(1, 4)), replace=False))
        windows.append([(int(cuts[i]), int(cuts[i + 1])) for i in range(0, cuts.size, 2)])
    data = RoutingInput(
        travel_s=d,
        arc_cost=d,
        service_s=np.asarray([0, *rng.integers(1, 20, size=n).tolist()], dtype=np.int64),
        starts=[0] * 5,
        ends=[0] * 5,
        start_min_s=[0] * 5,
        start_max_s=[0] * 5,
        horizon_s=1000,
        windows=windows,
        allowed_vehicles=[None] * m,
        drop_penalty=np.full(m, 10**6, dtype=np.int64),
        deadline_s=np.full(m, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(m, dtype=np.int64),
        demand=np.asarray([0, *rng.integers(1, 5, size=n).tolist()], dtype=np.int64),
        capacity=[40] * 5,
    )
    return Insertion(data)


def _both_retimes(P: fastrr.Problem, routes: list[list[int]], v: int) -> tuple[list, list]:
    """(ok, ST, LT) of route v by ``_retime`` and by ``_retime_plain``."""
    n_v, n = int(P.starts.size), int(P.travel.shape[0])
    R = np.zeros((n_v, n + 1), dtype=np.int64)
    rl = np.zeros(n_v, dtype=np.int64)
    R[v, : len(routes[v])] = routes[v]
    rl[v] = len(routes[v])
    out = []
    for plain in (False, True):
        ST, LT = np.zeros_like(R), np.zeros_like(R)
        if plain:
            ok = fastrr._retime_plain(v, R, rl, ST, LT, fastrr._plain_arrays(P), P.horizon)
        else:
            ok = fastrr._retime(v, R, rl, ST, LT, P)
        k = int(rl[v])
        out.append(
            [bool(ok), *(ST[v, :k].tolist() if ok else []), *(LT[v, :k].tolist() if ok else [])]
        )
    return out[0], out[1]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 30), seed=st.integers(0, 10**6), shuffle=st.booleans())
def test_the_plain_retime_times_a_route_as_the_general_one(
    n: int, seed: int, shuffle: bool
) -> None:
    # Routes of the Python construction (feasible) or shuffled (often not): the rest-free
    # path gives the same verdict, service starts and latest starts as the general one, and
    # the starts are the Python timing's.
    ins = _grid(n, seed)
    ins.place(ins.orders, True)
    routes = [r[:] for r in ins.routes]
    if shuffle:
        rng = np.random.default_rng(seed)
        routes = [[int(x) for x in rng.permutation(r)] for r in routes]
    P = ins.problem()
    for v, route in enumerate(routes):
        general, plain = _both_retimes(P, routes, v)
        assert plain == general
        times = ins.retime(v, route)
        assert general[0] == (times is not None)
        if times is not None:
            assert general[1 : 1 + len(route)] == times


@settings(max_examples=20, deadline=None)
@given(n=st.integers(8, 30), seed=st.integers(0, 10**6))
def test_rest_free_vehicles_among_rested_ones_are_timed_as_the_general_path(
    n: int, seed: int
) -> None:
    # Deadlines, breaches, overtime and rests elsewhere in the problem: the rest-free
    # vehicles (2 and 3) are timed alike by both paths, the kernel's route costs are the
    # Python ones, and each left-out order's cheapest place (the kernel's scan and exact
    # timing) is where the Python insertion would put it at the same cost.
    ins = _mixed(n, seed)
    ins.place(ins.orders, True)
    P = ins.problem()
    assert not P.exact.any()  # deadlines: every vehicle's places are timed exactly
    for v in (2, 3):
        general, plain = _both_retimes(P, ins.routes, v)
        assert plain == general
        assert general[1 : 1 + len(ins.routes[v])] == ins.times[v]
    assert fastrr.route_cost(P, ins.routes) == [ins.route_cost(v) for v in range(ins.n_v)]
    routes = [r[1:] for r in ins.routes]  # each route's first order out again
    assert ins.take(routes)
    for j in sorted({r[0] for r in ins.routes if r} - {j for r in routes for j in r}):
        for strict in (False, True):
            c, v, _ = fastrr.best_place(P, routes, j, strict, max_exact=10**6)
            assert (None if v < 0 else c) == _python_best(ins, j, strict)


def _python_best(ins: Insertion, j: int, strict: bool) -> int | None:
    """The Python moves' cheapest place of ``j`` (every allowed vehicle with room)."""
    allowed = ins.allowed_vehicles[j]
    cand = np.arange(ins.n_v) if allowed is None else np.asarray(allowed, dtype=np.int64)
    assert ins.cap is not None and ins.demand is not None
    cand = cand[ins.load[cand] + int(ins.demand[j]) <= ins.cap[cand]]
    best = ins._cheapest(j, cand, strict) if cand.size else None
    return None if best is None else best[0]


def _total(ins: Insertion) -> int:
    served = {j for r in ins.routes for j in r}
    out = sum(int(ins.drop_penalty[j]) for j in ins.orders if j not in served)
    return sum(ins.route_cost(v) for v in range(ins.n_v)) + out


@pytest.mark.parametrize("boundaries", [False, True])
@pytest.mark.parametrize("seed", [3, 17])
def test_the_moves_on_mixed_vehicles_keep_the_rules_and_repeat(seed: int, boundaries: bool) -> None:
    # The kernel on a plan where rest-free vehicles (the fast path without boundaries, the
    # general one with) share the orders with rested ones: every route it returns is timed
    # by the Python rules, skills kept, the total never worse, and one seed and move count
    # give the same routes.
    ins = _mixed(30, seed, boundaries)
    ins.place(ins.orders, True)
    built, routes = _total(ins), [r[:] for r in ins.routes]
    assert ins.compiled()
    assert ins.improve(60.0, seed, True, max_moves=400) == 400
    assert all(ins.retime(v, r) is not None for v, r in enumerate(ins.routes))
    for v, r in enumerate(ins.routes):
        for j in r:
            allowed = ins.allowed_vehicles[j]
            assert allowed is None or v in allowed
    assert _total(ins) <= built
    again = _mixed(30, seed, boundaries)
    assert again.take(routes)
    again.improve(60.0, seed, True, max_moves=400)
    assert again.routes == ins.routes
