"""The ruin and recreate of :meth:`solver.construct._Insertion.improve`, compiled, for plain
time-window problems.

Why this exists: the ruin and recreate is the core's best optimiser on Solomon and
Gehring–Homberger instances, and its Python moves run at about 750-1,100 a second there
(numpy calls dominate a move on 100 customers); the peers make hundreds of thousands of
moves in the same time. On a *plain* problem — no rests, no boundaries, no deadlines, no
vehicle-node costs, no overtime, no vehicle restrictions — an insertion place's
feasibility is exact in O(1) from each route's latest service starts (computed backwards:
a later start never helps a later visit, so the route stays feasible exactly when the next
visit is reached by its latest start), and the whole move compiles with numba.

The moves are those of ``improve``: a random order and its nearest neighbours by travel
time both ways; either strings of consecutive visits through the nearest served orders
(SISR) or the neighbours one by one taken out; put back dearest first (drop penalty), in a
random order within one penalty; each at its cheapest feasible place among the routes of
its neighbours and one empty vehicle of each kind, then among every route if nothing there
beats leaving it out; simulated annealing on the objective (arc costs and drop penalties).
The field problems (rests every day, deadlines) keep the Python moves.

The kernel runs in chunks of moves so the caller keeps the clock and ``should_stop``;
``cache=True`` keeps the compiled code next to this file (about 10 s to compile once per
installation, :func:`warm_up`), and a fresh process loads it in well under a second.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

try:  # numba is a dependency; without it the Python moves run (slower, same results' kind)
    import numba

    njit = numba.njit(cache=True, nogil=True)
    AVAILABLE = True
except ImportError:  # pragma: no cover - numba missing
    AVAILABLE = False

    def njit(f):  # type: ignore[no-untyped-def]
        return f


BIG = np.iinfo(np.int64).max // 4
CHUNK_S = 0.05  # seconds of moves per kernel call (the clock and should_stop are read between)


@njit
def _earliest(arr, node, wptr, wa, wb):  # type: ignore[no-untyped-def]
    """Earliest start >= arr in one of node's windows, or -1."""
    for w in range(wptr[node], wptr[node + 1]):
        if arr <= wb[w]:
            return max(arr, wa[w])
    return -1


@njit
def _retime(v, R, rl, ST, LT, P):  # type: ignore[no-untyped-def]
    """Service starts (forward) and latest starts (backward) of route v; False if infeasible."""
    travel, _, svc, wptr, wa, wb, horizon, starts, ends, start_min, _, _ = P
    n = rl[v]
    prev, t = starts[v], start_min[v]
    for k in range(n):
        node = R[v, k]
        s = _earliest(t + travel[prev, node], node, wptr, wa, wb)
        if s < 0 or s + svc[node] > horizon:
            return False
        ST[v, k] = s
        prev, t = node, s + svc[node]
    if n > 0 and t + travel[prev, ends[v]] > horizon:
        return False
    latest, nxt = horizon, ends[v]
    for k in range(n - 1, -1, -1):
        node = R[v, k]
        by = min(latest - travel[node, nxt] - svc[node], horizon - svc[node])
        lat = -BIG
        for w in range(wptr[node + 1] - 1, wptr[node] - 1, -1):
            s = min(wb[w], by)
            if s >= wa[w]:
                lat = s
                break
            by = s
        LT[v, k] = lat
        latest, nxt = lat, node
    return True


@njit
def _route_cost(v, R, rl, P):  # type: ignore[no-untyped-def]
    arc, starts, ends = P[1], P[7], P[8]
    n = rl[v]
    if n == 0:
        return 0
    prev, c = starts[v], 0
    for k in range(n):
        c += arc[prev, R[v, k]]
        prev = R[v, k]
    return c + arc[prev, ends[v]]


@njit
def _best_place(j, vs, nvs, R, rl, ST, LT, load, P):  # type: ignore[no-untyped-def]
    """Cheapest feasible (cost, vehicle, position) of j among vehicles vs[:nvs]."""
    travel, arc, svc, wptr, wa, wb, horizon, starts, ends, start_min, cap, demand = P
    best_c, best_v, best_p = BIG, -1, -1
    for i in range(nvs):
        v = vs[i]
        if load[v] + demand[j] > cap[v]:
            continue
        n = rl[v]
        for pos in range(n + 1):
            p = starts[v] if pos == 0 else R[v, pos - 1]
            nx = ends[v] if pos == n else R[v, pos]
            c = arc[p, j] + arc[j, nx] - arc[p, nx]
            if c >= best_c:
                continue
            free = start_min[v] if pos == 0 else ST[v, pos - 1] + svc[p]
            s = _earliest(free + travel[p, j], j, wptr, wa, wb)
            if s < 0 or s + svc[j] > horizon:
                continue
            latest = horizon if pos == n else LT[v, pos]
            if s + svc[j] + travel[j, nx] > latest:
                continue
            best_c, best_v, best_p = c, v, pos
    return best_c, best_v, best_p


@njit
def _touch(v, touched, ntouched, R, rl, load, BR, Brl, Bload):  # type: ignore[no-untyped-def]
    if touched[v]:
        return ntouched
    touched[v] = True
    BR[v, : rl[v]] = R[v, : rl[v]]
    Brl[v] = rl[v]
    Bload[v] = load[v]
    return ntouched + 1


@njit
def _kernel(  # type: ignore[no-untyped-def]
    moves, seed, p0, dp, t_hot, t_ratio, anneal, max_string, string_share,
    P, drop, kind, n_kinds, near, row, pick,
    R, rl, ST, LT, load, route_of, state, bestR, bestrl, bestload,
):  # fmt: skip
    """``moves`` ruin-and-recreate moves on the routes R/rl (state[0]: current total,
    state[1]: best total; the best routes in bestR/bestrl/bestload). ``P``: the problem
    (travel, arc, service, windows as wptr/wa/wb, horizon, starts, ends, shift starts,
    capacity, demand)."""
    demand = P[11]
    if seed >= 0:
        np.random.seed(seed)
    n_v = rl.size
    K = near.shape[1]
    touched = np.zeros(n_v, dtype=np.bool_)
    tlist = np.empty(n_v, dtype=np.int64)
    BR = np.empty_like(R)
    Brl = np.empty_like(rl)
    Bload = np.empty_like(load)
    removed = np.empty(R.shape[1] + K + 1, dtype=np.int64)
    was_in = np.empty(removed.size, dtype=np.bool_)
    vs = np.empty(n_v, dtype=np.int64)
    kind_seen = np.zeros(n_kinds, dtype=np.bool_)
    hit = np.zeros(n_v, dtype=np.bool_)
    tmp = np.empty(R.shape[1], dtype=np.int64)
    old_cost = np.empty(n_v, dtype=np.int64)
    for m in range(moves):
        temperature = t_hot * t_ratio ** min(1.0, p0 + m * dp)
        size = np.random.randint(4, max(5, (K - 1) // 2 + 1))
        nb = near[row[pick[np.random.randint(pick.size)]]]
        ntouched = 0
        nrem = 0
        for i in range(min(size + 1, K)):
            j = nb[i]
            if route_of[j] == -1:
                removed[nrem] = j
                was_in[nrem] = False
                nrem += 1
        was_out = nrem
        if np.random.random() < string_share:
            for i in range(K):
                j = nb[i]
                if nrem - was_out >= size:
                    break
                v = route_of[j]
                if v < 0 or touched[v]:
                    continue
                n = rl[v]
                k = 0
                while R[v, k] != j:
                    k += 1
                length = np.random.randint(1, min(n, max_string) + 1)
                a = max(0, min(k - np.random.randint(0, length), n - length))
                ntouched_new = _touch(v, touched, ntouched, R, rl, load, BR, Brl, Bload)
                if ntouched_new > ntouched:
                    tlist[ntouched] = v
                    old_cost[v] = _route_cost(v, R, rl, P)
                    ntouched = ntouched_new
                seg = R[v, a : a + length].copy()
                keep = 0
                for q in range(n):
                    if q < a or q >= a + length:
                        tmp[keep] = R[v, q]
                        keep += 1
                R[v, :keep] = tmp[:keep]
                rl[v] = keep
                if _retime(v, R, rl, ST, LT, P):
                    for q in range(length):
                        removed[nrem] = seg[q]
                        was_in[nrem] = True
                        nrem += 1
                        route_of[seg[q]] = -1
                        load[v] -= demand[seg[q]]
                else:  # the route breaks without them (no triangle inequality): put back
                    R[v, :n] = BR[v, :n]  # untouched before this string: the backup is it
                    rl[v] = n
                    _retime(v, R, rl, ST, LT, P)
        else:
            for i in range(min(size + 1, K)):
                j = nb[i]
                v = route_of[j]
                if v < 0:
                    continue
                ntouched_new = _touch(v, touched, ntouched, R, rl, load, BR, Brl, Bload)
                if ntouched_new > ntouched:
                    tlist[ntouched] = v
                    old_cost[v] = _route_cost(v, R, rl, P)
                    ntouched = ntouched_new
                n = rl[v]
                k = 0
                while R[v, k] != j:
                    k += 1
                for q in range(k, n - 1):
                    R[v, q] = R[v, q + 1]
                rl[v] = n - 1
                if _retime(v, R, rl, ST, LT, P):
                    removed[nrem] = j
                    was_in[nrem] = True
                    nrem += 1
                    route_of[j] = -1
                    load[v] -= demand[j]
                else:
                    for q in range(n - 1, k, -1):
                        R[v, q] = R[v, q - 1]
                    R[v, k] = j
                    rl[v] = n
                    _retime(v, R, rl, ST, LT, P)
        # Put back: the dearest first, within one penalty in a random order.
        keys = np.random.permutation(nrem)
        order = np.argsort(keys)
        dkey = np.empty(nrem, dtype=np.int64)
        for q in range(nrem):
            dkey[q] = -drop[removed[order[q]]]
        order = order[np.argsort(dkey, kind="mergesort")]
        for q in range(nrem):
            j = removed[order[q]]
            # Granular: the routes of j's neighbours and one empty vehicle of each kind.
            nvs = 0
            hit[:] = False
            kind_seen[:] = False
            n_used = 0
            for i in range(K):
                v = route_of[near[row[j], i]]
                if v >= 0 and not hit[v]:
                    hit[v] = True
                    vs[nvs] = v
                    nvs += 1
            n_near = nvs
            for v in range(n_v):
                if rl[v] == 0:
                    if not kind_seen[kind[v]]:
                        kind_seen[kind[v]] = True
                        vs[nvs] = v
                        nvs += 1
                else:
                    n_used += 1
            c, bv, bp = BIG, -1, -1
            if nvs > 0 and n_near < n_used:
                c, bv, bp = _best_place(j, vs, nvs, R, rl, ST, LT, load, P)
            if bv < 0 or c >= drop[j]:
                nvs = 0
                kind_seen[:] = False
                for v in range(n_v):
                    if rl[v] > 0:
                        vs[nvs] = v
                        nvs += 1
                    elif not kind_seen[kind[v]]:
                        kind_seen[kind[v]] = True
                        vs[nvs] = v
                        nvs += 1
                c, bv, bp = _best_place(j, vs, nvs, R, rl, ST, LT, load, P)
            if bv < 0 or c >= drop[j]:
                continue
            ntouched_new = _touch(bv, touched, ntouched, R, rl, load, BR, Brl, Bload)
            if ntouched_new > ntouched:
                tlist[ntouched] = bv
                old_cost[bv] = _route_cost(bv, R, rl, P)
                ntouched = ntouched_new
            n = rl[bv]
            for k in range(n, bp, -1):
                R[bv, k] = R[bv, k - 1]
            R[bv, bp] = j
            rl[bv] = n + 1
            load[bv] += demand[j]
            route_of[j] = bv
            _retime(bv, R, rl, ST, LT, P)
        delta = 0
        for i in range(ntouched):
            v = tlist[i]
            delta += _route_cost(v, R, rl, P) - old_cost[v]
        for q in range(nrem):
            j = removed[q]
            if route_of[j] == -1 and was_in[q]:
                delta += drop[j]
            elif route_of[j] >= 0 and not was_in[q]:
                delta -= drop[j]
        reject = delta > 0 and (not anneal or delta >= -temperature * np.log(np.random.random()))
        if reject:
            for i in range(ntouched):
                v = tlist[i]
                for k in range(rl[v]):
                    route_of[R[v, k]] = -1
            for i in range(ntouched):
                v = tlist[i]
                rl[v] = Brl[v]
                R[v, : Brl[v]] = BR[v, : Brl[v]]
                load[v] = Bload[v]
                for k in range(rl[v]):
                    route_of[R[v, k]] = v
                _retime(v, R, rl, ST, LT, P)
        else:
            state[0] += delta
            if state[0] < state[1]:
                state[1] = state[0]
                bestR[:, :] = R
                bestrl[:] = rl
                bestload[:] = load
        for i in range(ntouched):
            touched[tlist[i]] = False
    return moves


Problem = tuple[Any, ...]


def problem(
    travel: np.ndarray,
    arc: np.ndarray,
    service: np.ndarray,
    windows: Sequence[Sequence[tuple[int, int]]],
    horizon: int,
    starts: Sequence[int],
    ends: Sequence[int],
    start_min: Sequence[int],
    capacity: Sequence[int] | np.ndarray | None,
    demand: np.ndarray | None,
) -> Problem:
    """The problem as the kernel's tuple: travel, arc costs, service, each node's sorted
    windows (CSR: pointers, opens, closes; a node without windows gets ``[0, horizon]``),
    horizon, starts, ends, shift starts, capacity (unbounded if None), demand (0 if None)."""
    i64 = np.int64
    n, n_v = int(travel.shape[0]), len(starts)
    wins = [sorted(w) if w else [(0, int(horizon))] for w in windows]
    wptr = np.zeros(n + 1, dtype=i64)
    wptr[1:] = np.cumsum([len(w) for w in wins])
    flat = [ab for w in wins for ab in w]
    return (
        np.ascontiguousarray(travel, dtype=i64),
        np.ascontiguousarray(arc, dtype=i64),
        np.asarray(service, dtype=i64),
        wptr,
        np.asarray([a for a, _ in flat], dtype=i64),
        np.asarray([b for _, b in flat], dtype=i64),
        int(horizon),
        np.asarray(starts, dtype=i64),
        np.asarray(ends, dtype=i64),
        np.asarray(start_min, dtype=i64),
        np.full(n_v, BIG, dtype=i64) if capacity is None else np.asarray(capacity, dtype=i64),
        np.zeros(n, dtype=i64) if demand is None else np.asarray(demand, dtype=i64),
    )


def state_of(P: Problem, routes: Sequence[Sequence[int]]) -> tuple[np.ndarray, ...]:
    """The kernel's route state of feasible ``routes``: visits per vehicle (R, rl), service
    starts (ST) and latest starts (LT) per position, loads, each node's vehicle (-1: none)."""
    n, n_v, dem = int(P[0].shape[0]), int(P[7].size), P[11]
    R = np.zeros((n_v, max(2, n + 1)), dtype=np.int64)
    rl = np.zeros(n_v, dtype=np.int64)
    route_of = np.full(n, -1, dtype=np.int64)
    load = np.zeros(n_v, dtype=np.int64)
    for v, r in enumerate(routes):
        R[v, : len(r)] = r
        rl[v] = len(r)
        route_of[list(r)] = v
        load[v] = int(dem[list(r)].sum()) if r else 0
    ST, LT = np.zeros_like(R), np.zeros_like(R)
    for v in range(n_v):
        if not _retime(v, R, rl, ST, LT, P):
            raise ValueError(f"route {v} is not feasible on a plain model")
    return R, rl, ST, LT, load, route_of


def improve(
    travel: np.ndarray,
    arc: np.ndarray,
    service: np.ndarray,
    windows: Sequence[Sequence[tuple[int, int]]],
    horizon: int,
    starts: Sequence[int],
    ends: Sequence[int],
    start_min: Sequence[int],
    capacity: Sequence[int] | np.ndarray | None,
    demand: np.ndarray | None,
    drop: np.ndarray,
    kind: np.ndarray,
    neighbours: np.ndarray,
    row: np.ndarray,
    pick: np.ndarray,
    routes: Sequence[Sequence[int]],
    seconds: float,
    seed: int,
    max_moves: int | None,
    should_stop: Callable[[], bool] | None,
    anneal: bool,
    t_hot: float,
    t_ratio: float,
    max_string: int,
    string_share: float,
) -> tuple[list[list[int]], int]:
    """Ruin and recreate on feasible ``routes`` (order nodes per vehicle) of a plain problem
    for ``seconds`` or ``max_moves`` moves; returns the best routes seen and the moves made.

    ``neighbours`` (one row per order, ``row`` maps a node to it) are each order's nearest
    orders, itself first; ``pick`` the orders a move starts from; the temperature falls from
    ``t_hot`` to ``t_hot * t_ratio`` over the time (or the moves)."""
    n_v = len(starts)
    i64 = np.int64
    P = problem(travel, arc, service, windows, horizon, starts, ends, start_min, capacity, demand)
    R, rl, ST, LT, load, route_of = state_of(P, routes)
    orders = neighbours[:, 0]
    total = sum(_route_cost(v, R, rl, P) for v in range(n_v))
    total += int(np.asarray(drop, dtype=i64)[orders[route_of[orders] == -1]].sum())
    state = np.asarray([total, total], dtype=i64)
    bestR, bestrl, bestload = R.copy(), rl.copy(), load.copy()
    rest = (
        P,
        np.asarray(drop, dtype=i64),
        np.asarray(kind, dtype=i64),
        int(kind.max()) + 1 if kind.size else 1,
        np.ascontiguousarray(neighbours, dtype=i64),
        np.asarray(row, dtype=i64),
        np.asarray(pick, dtype=i64),
        R,
        rl,
        ST,
        LT,
        load,
        route_of,
        state,
        bestR,
        bestrl,
        bestload,
    )
    done, chunk, first = 0, 16, True
    t0 = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds or (max_moves is not None and done >= max_moves):
            break
        if should_stop is not None and should_stop():
            break
        todo = chunk if max_moves is None else min(chunk, max_moves - done)
        if max_moves is None:
            rate = done / elapsed if done and elapsed > 0 else 1e4
            p0, dp = elapsed / seconds, 1.0 / (rate * seconds)
        else:
            p0, dp = done / max_moves, 1.0 / max_moves
        t_call = time.perf_counter()
        _kernel(
            todo, seed if first else -1, p0, dp, t_hot, t_ratio, anneal, max_string, string_share,
            *rest,
        )  # fmt: skip
        took = time.perf_counter() - t_call
        first = False
        done += todo
        if max_moves is None:  # aim at CHUNK_S a call, never past the limit by much
            per = took / todo if todo else 0.0
            left = seconds - (time.perf_counter() - t0)
            aim = min(CHUNK_S, max(left, 0.0))
            chunk = int(max(1, min(chunk * 4, aim / per if per > 0 else chunk * 4)))
    if state[1] < state[0]:
        R, rl = bestR, bestrl
    return [[int(x) for x in R[v, : rl[v]]] for v in range(n_v)], done


def warm_up() -> None:
    """Compile the kernel (or load it from the cache) on a two-order problem."""
    travel = np.asarray([[0, 5, 5], [5, 0, 5], [5, 5, 0]], dtype=np.int64)
    near = np.asarray([[1, 2], [2, 1]], dtype=np.int64)
    improve(
        travel, travel, np.zeros(3, dtype=np.int64), [[(0, 100)]] * 3, 100, [0, 0], [0, 0],
        [0, 0], None, None, np.full(3, 1000, dtype=np.int64), np.zeros(2, dtype=np.int64),
        near, np.asarray([-1, 0, 1]), near[:, 0], [[1, 2], []], 1.0, 0, 4, None, True,
        1.0, 0.01, 10, 0.5,
    )  # fmt: skip
