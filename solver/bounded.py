"""The insertion construction against the clock: one by one while there is time, compiled
after.

Why: at 10,000 orders / 1,000 engineers the cheapest insertion of every order, one by one in
Python (:meth:`solver.insertion.Insertion.place`), took 34 s of a 26-s search budget on a
loaded machine, and nothing bounded it: the whole ``dispatch plan`` command ran past its
limit (docs/performance.md, "Scale"). With a deadline, :func:`construct` places the orders
in the construction's order one by one until then, and the rest with the compiled kernel's
cheapest insertion (:func:`place_compiled`, :mod:`solver.fastrr`: the same time rules, costs
and candidate vehicles, on-time places first; ties may fall otherwise, so only past the
deadline), which places all 10,000 in a few seconds. It is not cut by the clock itself: an
order left out then costs more than its placing (it is explained one by one when the plan is
decoded: 10,000 orders left out took 400 s there, under load). Without a deadline (a
solution-limited solve, whose plan must not depend on the clock) the construction is the
one-by-one insertion alone.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING

import numpy as np

from solver import fastrr
from solver.fastrr import BIG, _candidates, _refine, _retime, _scan, _scan_arrays, njit

if TYPE_CHECKING:
    from solver.insertion import Insertion

NEAR = 40  # served orders whose routes an order is offered first (the kernel's moves': 40)
# Wall seconds per pair of orders of the ruin and recreate's set-up (its neighbour lists):
# 2.65 s at 5,000 orders, load 4.2.
SETUP_S_PER_PAIR = 1e-7


def construct(ins: Insertion, on_time_first: bool, deadline: float | None = None) -> None:
    """Every order of ``ins`` (``ins.orders``) placed as :meth:`Insertion.place` does: one by
    one until ``deadline`` (``time.perf_counter()``; None: throughout), the rest compiled."""
    if deadline is None:
        ins.place(ins.orders, on_time_first)
        return
    rest = ins.place(ins.orders, on_time_first, deadline)
    if rest and ins.compiled():
        place_compiled(ins, rest, on_time_first)
    elif rest:
        ins.place(rest, on_time_first)


def moves_left(left_s: float, deadline: float | None, orders: int) -> float:
    """The seconds left for the ruin and recreate after a construction: ``left_s``, or none
    where the construction hurried (``deadline`` passed) and ``left_s`` would not even cover
    the moves' set-up (:data:`SETUP_S_PER_PAIR`): at 5,000 x 500 under load the set-up of a
    1-s ruin and recreate took 2.7 s past the limit, the fill then had no time left."""
    if deadline is None or time.perf_counter() < deadline:
        return left_s
    return left_s if left_s >= SETUP_S_PER_PAIR * orders * orders else 0.0


def place_compiled(ins: Insertion, nodes: list[int], on_time_first: bool) -> None:
    """``nodes`` inserted into the routes of ``ins`` in this order by the compiled kernel:
    on-time places first, then any place (as :meth:`Insertion.place`), each at its cheapest
    place unless leaving it out costs less, granular as the kernel's moves (:func:`_place`):
    at 10,000 x 1,000 a place over every route took as long as the one-by-one insertion
    under load (11 s CPU for 10,000 orders)."""
    if not nodes:
        return
    P = ins.problem()
    R, rl, ST, LT, load, route_of = fastrr.state_of(P, ins.routes)
    drop = np.ascontiguousarray(ins.drop_penalty, dtype=np.int64)
    kind = np.ascontiguousarray(ins.kind, dtype=np.int64)
    todo = np.asarray(nodes, dtype=np.int64)
    for strict in (True, False) if on_time_first else (False,):
        placed = np.zeros(todo.size, dtype=np.bool_)
        _place(todo, strict, placed, drop, kind, int(ins.kinds), int(ins.max_exact), P, R, rl,
               ST, LT, load, route_of)  # fmt: skip
        todo = todo[~placed]
    routes = [[int(x) for x in R[v, : rl[v]]] for v in range(rl.size)]
    if not ins.take(routes):  # the kernel keeps every route feasible: a bug
        warnings.warn(
            "the compiled placing returned a route the exact timing rejects; the orders "
            "are placed one by one instead",
            RuntimeWarning,
            stacklevel=2,
        )
        ins.place(nodes, on_time_first)


@njit
def put(j, v, p, R, rl, ST, LT, load, route_of, P):  # type: ignore[no-untyped-def]
    """Order ``j`` into vehicle ``v``'s route at position ``p``, the route re-timed: the
    put of this placing and of the population's repair (:mod:`solver.population`); the
    kernel's moves keep theirs inline, with the plain timing where it applies."""
    n = rl[v]
    for k in range(n, p, -1):
        R[v, k] = R[v, k - 1]
    R[v, p] = j
    rl[v] = n + 1
    load[v] += P.demand[j]
    route_of[j] = v
    _retime(v, R, rl, ST, LT, P)


@njit
def _nearest_served(j, k, route_of, travel, near):
    """The ``k`` served nodes nearest to j by travel from it (one way: its row is read in
    order, its column would be a cache miss per node) into ``near[0]``, padded with j (on no
    route yet); how many were found."""
    found = 0
    worst, worst_at = -1, 0
    for n in range(route_of.size):
        if route_of[n] < 0:
            continue
        d = travel[j, n]
        if found < k:
            near[0, found] = n
            found += 1
            if d > worst:
                worst, worst_at = d, found - 1
        elif d < worst:
            near[0, worst_at] = n
            worst, worst_at = -1, 0
            for q in range(k):
                e = travel[j, near[0, q]]
                if e > worst:
                    worst, worst_at = e, q
    for q in range(found, k):
        near[0, q] = j
    return found


@njit
def _place(js, strict, placed, drop, kind, n_kinds, max_exact, P, R, rl, ST, LT, load, route_of):  # type: ignore[no-untyped-def]
    """Each order of ``js`` in turn at its cheapest feasible place (``strict``: nothing late)
    unless leaving it out costs less; ``placed[i]``: whether ``js[i]`` was. Granular, as the
    kernel's moves: first among the routes of the :data:`NEAR` served orders nearest to it
    and one empty vehicle of each kind, then, if nothing there beats leaving it out, among
    every allowed route with room."""
    n_v = rl.size
    vs = np.empty(n_v, dtype=np.int64)
    hit = np.zeros(n_v, dtype=np.bool_)
    kind_seen = np.zeros(max(1, n_kinds), dtype=np.bool_)
    near = np.zeros((1, NEAR), dtype=np.int64)  # the current order's nearest served orders
    row = np.zeros(route_of.size, dtype=np.int64)  # every order reads row 0 of near
    places = R.shape[1] + n_v + 1
    cb = np.empty(places, dtype=np.int64)
    cv = np.empty(places, dtype=np.int64)
    cp = np.empty(places, dtype=np.int64)
    Q = _scan_arrays(P)
    for i in range(js.size):
        j = js[i]
        _nearest_served(j, NEAR, route_of, P.travel, near)
        c, bv, bp = BIG, -1, -1
        for granular in (True, False):
            if not granular and bv >= 0 and c < drop[j]:
                break
            nvs, n_near, n_used = _candidates(
                j, granular, near, row, route_of, kind, rl, load, P.capacity, P.demand,
                P.allowed, vs, hit, kind_seen,
            )  # fmt: skip
            if granular and (nvs == 0 or n_near >= n_used):
                continue
            c, bv, bp, m = _scan(
                j, vs, nvs, strict, R, rl, ST, LT, load, Q, P.horizon, cb, cv, cp, 0.0
            )
            if m > 0:
                c, bv, bp = _refine(
                    j, strict, max_exact, R, rl, ST, LT, P, cb, cv, cp, m, c, bv, bp
                )
        if bv < 0 or c >= drop[j]:
            continue
        put(j, bv, bp, R, rl, ST, LT, load, route_of, P)
        placed[i] = True


_WARM: list[bool] = []


def warm_up() -> None:
    """Compile :func:`_place` (or load it from numba's cache) once per process, before any
    clock, as :func:`solver.fastrr.warm_up` does for the kernel."""
    if _WARM or not fastrr.AVAILABLE:
        return
    fastrr.warm_up()
    P = fastrr.tiny_problem()
    R, rl, ST, LT, load, route_of = fastrr.state_of(P, [[1], []])
    js = np.asarray([2], dtype=np.int64)
    _place(js, True, np.zeros(1, dtype=np.bool_), np.full(3, 1000, dtype=np.int64),
           np.zeros(2, dtype=np.int64), 1, 40, P, R, rl, ST, LT, load, route_of)  # fmt: skip
    _WARM.append(True)
