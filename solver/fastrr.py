"""The ruin and recreate of :meth:`solver.insertion.Insertion.improve`, compiled with numba.

Why this exists: the ruin and recreate is the core's best optimiser, on Solomon and
Gehring–Homberger instances and on the field problems alike, and its Python moves run at
about 750-1,100 a second on 1,000 customers (numpy calls dominate a move); the peers make
hundreds of thousands of moves in the same time. Here the same moves run compiled, with the
same time rules and costs as the Python ones (``tests/solver/test_fastrr.py`` checks the
service starts, route costs and cheapest places against them):

- travel pauses over the vehicle's rests (its breaks and a second at each boundary), or,
  for a vehicle without breaks, a second at each boundary it crosses; a visit (its
  per-vehicle visit length) overlaps no rest; service starts in one of the node's windows
  and is done by the horizon, and the vehicle is back by then;
- the cost of a route is its arc costs, the lateness past each deadline (per second, plus a
  breach cost), vehicle-node costs and overtime (band seconds of its travel and service);
- an insertion place is bounded by the latest starts of the later visits (computed
  backwards, through the rests); on a vehicle without rests, boundaries, deadlines and
  overtime — a plain time-window problem — that bound is exact, so the place is decided in
  O(1); elsewhere the most promising places (``max_exact``) are timed exactly.

The moves are those of ``improve``: a random order and its nearest neighbours by travel
time both ways; either strings of consecutive visits through the nearest served orders
(SISR) or the neighbours one by one taken out; put back dearest first (drop penalty), in a
random order or by deadline with noise within one penalty, on-time places first when asked;
each at its cheapest feasible place among the allowed routes of its neighbours and one
empty vehicle of each kind, then among every allowed route if nothing there beats leaving
it out; simulated annealing on the objective. With a capacity penalty (``cap_penalty``,
:mod:`solver.penalty`) a place may load a vehicle past its capacity at a price per unit of
excess, the annealing runs on the penalised objective, and the best routes kept are within
capacity. Frozen routes (given routes the timing cannot place) keep the Python moves.

The kernel runs in chunks of moves so the caller keeps the clock and ``should_stop``;
``cache=True`` keeps the compiled code next to this file (10-20 s to compile once per
installation, :func:`warm_up`), and a fresh process loads it in well under a second.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from solver import penalty
from solver.fastrr_cycle import fit_to_clock
from solver.fastrr_problem import AVAILABLE, BIG, Problem, njit, problem
from solver.fastrr_sisr import cut_string
from solver.fastrr_time import (
    _arrive,
    _cross,
    _latest_departure,
    _latest_start,
    _pass_breaks,
    _start,
)
from solver.penalty import EVERY, HI, LO, TGT, W, adapt, price

__all__ = [
    "AVAILABLE", "BIG", "Problem", "best_place", "improve", "problem", "route_cost", "state_of",
    "warm_up",
]  # fmt: skip

CHUNK_S = 0.05  # seconds of moves per kernel call (the clock and should_stop are read between)


@njit
def _retime(v, R, rl, ST, LT, P):  # type: ignore[no-untyped-def]
    """Service starts (forward) and latest starts (backward) of route v; False if infeasible.

    A vehicle without rests is timed inline (windows, boundary pauses): a call that takes
    arrays costs tens of nanoseconds in numba (its reference counts and arguments), more
    than the arithmetic of a visit."""
    travel, svc, horizon, wptr, wa, wb = P.travel, P.service, P.horizon, P.wptr, P.wa, P.wb
    rptr, rs, rd, bounds, visit = P.rptr, P.rs, P.rd, P.bounds, P.visit
    rested, crossing = rptr[v + 1] > rptr[v], bounds.size > 0
    n = rl[v]
    prev, t = P.starts[v], P.start_min[v]
    for k in range(n):
        node = R[v, k]
        if rested:
            arr = _pass_breaks(t, travel[prev, node], v, rptr, rs, rd)
            s = _start(v, arr, node, wptr, wa, wb, rptr, rs, rd, visit, horizon)
        else:
            arr = _cross(t, travel[prev, node], bounds) if crossing else t + travel[prev, node]
            s = -1
            for w in range(wptr[node], wptr[node + 1]):
                if arr <= wb[w]:
                    s = max(arr, wa[w])
                    break
        if s < 0 or s + svc[node] > horizon:
            return False
        ST[v, k] = s
        prev, t = node, s + svc[node]
    end = P.ends[v]
    if n > 0 and _arrive(v, t, travel[prev, end], rptr, rs, rd, bounds) > horizon:
        return False
    latest, nxt = horizon, end
    for k in range(n - 1, -1, -1):
        node = R[v, k]
        if rested:
            leave = _latest_departure(latest, travel[node, nxt], v, rptr, rs, rd)
            latest = _latest_start(
                v, node, leave - svc[node], svc[node], wptr, wa, wb, horizon, rptr, rs, rd, visit
            )
        else:  # _latest_start without rests, inline
            by = min(latest - max(0, travel[node, nxt]) - svc[node], horizon - svc[node])
            latest = -BIG
            for w in range(wptr[node + 1] - 1, wptr[node] - 1, -1):
                s = min(wb[w], by)
                if s >= wa[w]:
                    latest = s
                    break
                by = s
        LT[v, k] = latest
        nxt = node
    return True


@njit
def _lateness(node, s, dl, late_cost, breach):  # type: ignore[no-untyped-def]
    if s <= dl[node]:
        return 0
    return (s - dl[node]) * late_cost[node] + breach[node]


@njit
def _band_before(v, t, bptr, bs, be, bc):  # type: ignore[no-untyped-def]
    """Overtime-band seconds of ``v`` before ``t``."""
    lo, hi = bptr[v], bptr[v + 1]
    k = lo + np.searchsorted(bs[lo:hi], t, side="right") - 1
    if k < lo:
        return 0
    return bc[k] + min(t, be[k]) - bs[k]


@njit
def _within(v, a, b, bptr, bs, be, bc):  # type: ignore[no-untyped-def]
    if b <= a:
        return 0
    return _band_before(v, b, bptr, bs, be, bc) - _band_before(v, a, bptr, bs, be, bc)


@njit
def _overtime(v, t, prev, node, s, P):  # type: ignore[no-untyped-def]
    """Overtime-band seconds of v's travel from ``prev`` (free at ``t``) to ``node`` and of
    its service there from ``s``."""
    bptr, bs, be, bc = P.bptr, P.bs, P.be, P.bc
    arrival = _pass_breaks(t, P.travel[prev, node], v, P.rptr, P.rs, P.rd)
    return _within(v, t, min(arrival, s), bptr, bs, be, bc) + _within(
        v, s, s + P.service[node], bptr, bs, be, bc
    )


@njit
def _route_cost(v, R, rl, ST, P):  # type: ignore[no-untyped-def]
    """Arc costs (the way home included), lateness, vehicle-node and overtime costs."""
    n = rl[v]
    if n == 0:
        return 0
    arc, vnc, dl, late_cost, breach = P.arc, P.vnc, P.deadline, P.late_cost, P.breach
    starts, svc = P.starts, P.service
    prev, c = starts[v], 0
    for k in range(n):
        node = R[v, k]
        c += arc[prev, node] + vnc[v, node]
        s = ST[v, k]
        if s > dl[node]:
            c += _lateness(node, s, dl, late_cost, breach)
        prev = node
    c += arc[prev, P.ends[v]]
    if P.bptr[v + 1] > P.bptr[v] and P.ot_per_hour > 0:
        ot, prev, t = 0, starts[v], P.start_min[v]
        for k in range(n):
            node, s = R[v, k], ST[v, k]
            ot += _overtime(v, t, prev, node, s, P)
            prev, t = node, s + svc[node]
        c += ot * P.ot_per_hour // 3600
    return c


@njit
def _simulate(v, pos, j, strict, R, rl, ST, LT, P):  # type: ignore[no-untyped-def]
    """j at position ``pos`` of route v timed exactly: (j's start, the later visits' extra
    lateness), or (-1, 0) if infeasible (``strict``: also if j or a later visit would be
    late, or later than it was)."""
    travel, svc, horizon, wptr, wa, wb = P.travel, P.service, P.horizon, P.wptr, P.wa, P.wb
    rptr, rs, rd, bounds, visit = P.rptr, P.rs, P.rd, P.bounds, P.visit
    dl, late_cost, breach = P.deadline, P.late_cost, P.breach
    n = rl[v]
    prev = P.starts[v] if pos == 0 else R[v, pos - 1]
    t = P.start_min[v] if pos == 0 else ST[v, pos - 1] + svc[prev]
    rested, crossing = rptr[v + 1] > rptr[v], bounds.size > 0
    if rested:
        arr = _pass_breaks(t, travel[prev, j], v, rptr, rs, rd)
        s = _start(v, arr, j, wptr, wa, wb, rptr, rs, rd, visit, horizon)
    else:
        arr = _cross(t, travel[prev, j], bounds) if crossing else t + travel[prev, j]
        s = -1
        for w in range(wptr[j], wptr[j + 1]):
            if arr <= wb[w]:
                s = max(arr, wa[w])
                break
    if s < 0 or s + svc[j] > horizon or (strict and s > dl[j]):
        return -1, 0
    extra = 0
    prev, t = j, s + svc[j]
    for k in range(pos, n):
        node = R[v, k]
        if rested:
            arr = _pass_breaks(t, travel[prev, node], v, rptr, rs, rd)
            s2 = _start(v, arr, node, wptr, wa, wb, rptr, rs, rd, visit, horizon)
        else:
            arr = _cross(t, travel[prev, node], bounds) if crossing else t + travel[prev, node]
            s2 = -1
            for w in range(wptr[node], wptr[node + 1]):
                if arr <= wb[w]:
                    s2 = max(arr, wa[w])
                    break
        if s2 < 0 or s2 > LT[v, k]:
            return -1, 0
        if s2 == ST[v, k]:
            return s, extra
        if s2 > dl[node]:
            more = _lateness(node, s2, dl, late_cost, breach) - _lateness(
                node, ST[v, k], dl, late_cost, breach
            )
            if strict and more > 0:
                return -1, 0
            extra += more
        prev, t = node, s2 + svc[node]
    if _arrive(v, t, travel[prev, P.ends[v]], rptr, rs, rd, bounds) > horizon:
        return -1, 0
    return s, extra


@njit
def _retime_plain(v, R, rl, ST, LT, T, horizon):  # type: ignore[no-untyped-def]
    """:func:`_retime` of a vehicle without rests on a problem without boundaries (``T``:
    :func:`_plain_arrays`). It calls nothing, so numba drops the reference counting of its
    arrays (a function that calls another counts every array it is passed, twice a call)."""
    travel, svc, wptr, wa, wb, starts, start_min, ends = T
    n = rl[v]
    prev, t = starts[v], start_min[v]
    for k in range(n):
        node = R[v, k]
        arr = t + travel[prev, node]
        s = -1
        for w in range(wptr[node], wptr[node + 1]):
            if arr <= wb[w]:
                s = max(arr, wa[w])
                break
        if s < 0 or s + svc[node] > horizon:
            return False
        ST[v, k] = s
        prev, t = node, s + svc[node]
    if n > 0 and t + travel[prev, ends[v]] > horizon:
        return False
    latest, nxt = horizon, ends[v]
    for k in range(n - 1, -1, -1):
        node = R[v, k]
        by = min(latest - max(0, travel[node, nxt]) - svc[node], horizon - svc[node])
        latest = -BIG
        for w in range(wptr[node + 1] - 1, wptr[node] - 1, -1):
            s = min(wb[w], by)
            if s >= wa[w]:
                latest = s
                break
            by = s
        LT[v, k] = latest
        nxt = node
    return True


@njit
def _plain_arrays(P):  # type: ignore[no-untyped-def]
    """The arrays :func:`_retime_plain` reads."""
    return (P.travel, P.service, P.wptr, P.wa, P.wb, P.starts, P.start_min, P.ends)


@njit
def _scan_arrays(P):  # type: ignore[no-untyped-def]
    """The arrays :func:`_scan` reads."""
    return (
        P.travel, P.arc, P.service, P.wptr, P.wa, P.wb, P.starts, P.ends, P.start_min,
        P.capacity, P.demand, P.vnc, P.exact, P.deadline, P.late_cost, P.breach,
    )  # fmt: skip


@njit
def _scan(j, vs, nvs, strict, R, rl, ST, LT, load, Q, horizon, cb, cv, cp, blink, cw=0.0):  # type: ignore[no-untyped-def]
    """The first step of :func:`_best_place` (``Q``: :func:`_scan_arrays`): the cheapest
    place of j on an exact vehicle, decided from the latest starts, and the places of the
    other vehicles bounded (arc costs, j's lateness by its windows alone, vehicle-node
    cost) in cb, cv, cp; returns (cost, vehicle, position, places bounded). It calls
    nothing (no reference counting, see :func:`_retime_plain`). ``blink``: the chance that
    a place is skipped (SISR's blinks; 0: none). ``cw`` > 0: a vehicle may take j past its
    capacity at ``cw`` per unit of the excess it adds (:mod:`solver.penalty`)."""
    travel, arc, svc, wptr, wa, wb, starts, ends, start_min = Q[:9]
    cap, demand, vnc, exact, dl, late_cost, breach = Q[9:]
    dl_j, svc_j, dem_j, w_lo, w_hi = dl[j], svc[j], demand[j], wptr[j], wptr[j + 1]
    best_c, best_v, best_p = BIG, -1, -1
    m = 0
    for i in range(nvs):
        v = vs[i]
        over = 0
        if load[v] + dem_j > cap[v]:
            if cw == 0.0:
                continue
            over = int(cw * (load[v] + dem_j - cap[v]))  # penalty.price, inline
            over -= int(cw * (load[v] - cap[v])) if load[v] > cap[v] else 0
        n = rl[v]
        exact_v, vnc_vj, start_v, end_v = exact[v], vnc[v, j] + over, starts[v], ends[v]
        for pos in range(n + 1):
            if blink > 0.0 and np.random.random() < blink:
                continue
            p = start_v if pos == 0 else R[v, pos - 1]
            nx = end_v if pos == n else R[v, pos]
            c = arc[p, j] + arc[j, nx] - arc[p, nx] + vnc_vj
            if c >= best_c:
                continue
            free = start_min[v] if pos == 0 else ST[v, pos - 1] + svc[p]
            arr = free + travel[p, j]
            s = -1
            for w in range(w_lo, w_hi):  # _earliest, inline
                if arr <= wb[w]:
                    s = max(arr, wa[w])
                    break
            if s < 0:
                continue
            latest = horizon if pos == n else LT[v, pos]
            if s + svc_j + travel[j, nx] > latest or (strict and s > dl_j):
                continue
            if exact_v:
                if s + svc_j <= horizon:
                    best_c, best_v, best_p = c, v, pos
                continue
            cb[m] = c if s <= dl_j else c + (s - dl_j) * late_cost[j] + breach[j]
            cv[m] = v
            cp[m] = pos
            m += 1
    return best_c, best_v, best_p, m


@njit
def _refine(  # type: ignore[no-untyped-def]
    j, strict, max_exact, R, rl, ST, LT, P, cb, cv, cp, m, best_c, best_v, best_p, cw=0.0, load=None
):
    """The second step of :func:`_best_place`: the ``max_exact`` most promising of the m
    bounded places timed exactly, against the best so far (best_c, best_v, best_p); with
    ``cw`` > 0 and the loads, the capacity penalties as :func:`_scan` prices them."""
    arc, svc, starts, ends, start_min = P.arc, P.service, P.starts, P.ends, P.start_min
    order = np.argsort(cb[:m], kind="mergesort")
    for q in range(min(m, max_exact)):
        k = order[q]
        if cb[k] >= best_c:
            break
        v, pos = cv[k], cp[k]
        s, extra = _simulate(v, pos, j, strict, R, rl, ST, LT, P)
        if s < 0:
            continue
        n = rl[v]
        p = starts[v] if pos == 0 else R[v, pos - 1]
        nx = ends[v] if pos == n else R[v, pos]
        c = arc[p, j] + arc[j, nx] - arc[p, nx] + P.vnc[v, j] + extra
        if load is not None and cw > 0.0:
            c += price(cw, load[v] + P.demand[j] - P.capacity[v]) - price(
                cw, load[v] - P.capacity[v]
            )
        c += _lateness(j, s, P.deadline, P.late_cost, P.breach)
        if P.bptr[v + 1] > P.bptr[v] and P.ot_per_hour > 0:  # j's own overtime (travel in, service)
            free = start_min[v] if pos == 0 else ST[v, pos - 1] + svc[p]
            c += _overtime(v, free, p, j, s, P) * P.ot_per_hour // 3600
        if c < best_c:
            best_c, best_v, best_p = c, v, pos
    return best_c, best_v, best_p


@njit
def _best_place(j, vs, nvs, strict, max_exact, R, rl, ST, LT, load, P, cb, cv, cp):  # type: ignore[no-untyped-def]
    """Cheapest feasible (cost, vehicle, position) of j among vehicles vs[:nvs] (cb, cv, cp:
    scratch for the places to simulate). A place of an exact vehicle is decided from the
    latest starts; the others are bounded (arc costs, j's lateness by its windows alone,
    vehicle-node cost) and the most promising ``max_exact`` timed exactly."""
    Q = _scan_arrays(P)
    c, v, pos, m = _scan(j, vs, nvs, strict, R, rl, ST, LT, load, Q, P.horizon, cb, cv, cp, 0.0)
    if m == 0:
        return c, v, pos
    return _refine(j, strict, max_exact, R, rl, ST, LT, P, cb, cv, cp, m, c, v, pos)


@njit
def _touch(v, touched, ntouched, tlist, R, rl, ST, load, BR, Brl, Bload, old_cost, P):  # type: ignore[no-untyped-def]
    """Keep route v as it was before the move's first change of it; the new count."""
    if touched[v]:
        return ntouched
    touched[v] = True
    BR[v, : rl[v]] = R[v, : rl[v]]
    Brl[v] = rl[v]
    Bload[v] = load[v]
    old_cost[v] = _route_cost(v, R, rl, ST, P)
    tlist[ntouched] = v
    return ntouched + 1


@njit
def _candidates(  # type: ignore[no-untyped-def]
    j, granular, near, row, route_of, kind, rl, load, cap, demand, allowed, vs, hit, kind_seen,
    relaxed=False,
):  # fmt: skip
    """The vehicles to offer j (allowed, with room, or any room with ``relaxed``): granular,
    the routes of j's nearest orders; else every route; and one empty vehicle of each kind.
    Returns (count, routes among them from the neighbours, routes j could take)."""
    n_v = rl.size
    nvs = 0
    n_used = 0
    for v in range(n_v):
        hit[v] = False
    for k in range(kind_seen.size):
        kind_seen[k] = False
    if granular:
        for i in range(near.shape[1]):
            v = route_of[near[row[j], i]]
            room = relaxed or load[v] + demand[j] <= cap[v]
            if v >= 0 and not hit[v] and allowed[v, j] and room:
                hit[v] = True
                vs[nvs] = v
                nvs += 1
    n_near = nvs
    for v in range(n_v):
        if not allowed[v, j] or (not relaxed and load[v] + demand[j] > cap[v]):
            continue
        if rl[v] == 0:
            if not kind_seen[kind[v]]:
                kind_seen[kind[v]] = True
                vs[nvs] = v
                nvs += 1
        else:
            n_used += 1
            if not granular:
                vs[nvs] = v
                nvs += 1
    return nvs, n_near, n_used


@njit
def _kernel(  # type: ignore[no-untyped-def]
    moves, seed, p0, dp, t_hot, t_ratio, anneal, max_string, string_share, split_share, blink,
    random_share, noise, on_time_first, P, drop, kind, n_kinds, near, row, pick, max_exact,
    R, rl, ST, LT, load, route_of, state, bestR, bestrl, bestload, pen,
):  # fmt: skip
    """``moves`` ruin-and-recreate moves on the routes R/rl (state[0]: current total,
    state[1]: best total; the best routes in bestR/bestrl/bestload). With a capacity
    penalty (``pen``, :mod:`solver.penalty`: weight > 0) the current routes may be over
    capacity (state[2]: their excess load; state[3], state[4]: recreates since the weight's
    last update, and those within capacity); the best are always within it."""
    demand, dl, horizon, cap, allowed = P.demand, P.deadline, P.horizon, P.capacity, P.allowed
    T, Q = _plain_arrays(P), _scan_arrays(P)
    if seed >= 0:
        np.random.seed(seed)
    n_v = rl.size
    plain = np.empty(n_v, dtype=np.bool_)  # timed by _retime_plain
    for v in range(n_v):
        plain[v] = P.rptr[v + 1] == P.rptr[v] and P.bounds.size == 0
    K = near.shape[1]
    touched = np.zeros(n_v, dtype=np.bool_)
    tlist = np.empty(n_v, dtype=np.int64)
    BR = np.empty_like(R)
    Brl = np.empty_like(rl)
    Bload = np.empty_like(load)
    removed = np.empty(R.shape[1] + K + 1, dtype=np.int64)
    was_in = np.empty(removed.size, dtype=np.bool_)
    queue = np.empty(2 * removed.size, dtype=np.int64)
    tmp = np.empty(R.shape[1], dtype=np.int64)
    seg = np.empty(R.shape[1], dtype=np.int64)
    old_cost = np.empty(n_v, dtype=np.int64)
    places = R.shape[1] + n_v + 1
    vs, hit, kind_seen = (
        np.empty(n_v, dtype=np.int64), np.zeros(n_v, dtype=np.bool_),
        np.zeros(n_kinds, dtype=np.bool_),
    )  # fmt: skip
    cb = np.empty(places, dtype=np.int64)
    cv = np.empty(places, dtype=np.int64)
    cp = np.empty(places, dtype=np.int64)
    cw = pen[W]  # the capacity penalty's weight (0: none)
    relaxed = cw > 0.0
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
                keep, length = cut_string(R, v, n, k, max_string, split_share, tmp, seg)
                if not touched[v]:
                    ntouched = _touch(
                        v, touched, ntouched, tlist, R, rl, ST, load, BR, Brl, Bload, old_cost, P
                    )
                R[v, :keep] = tmp[:keep]
                rl[v] = keep
                if (
                    _retime_plain(v, R, rl, ST, LT, T, horizon)
                    if plain[v]
                    else _retime(v, R, rl, ST, LT, P)
                ):
                    for q in range(length):
                        removed[nrem] = seg[q]
                        was_in[nrem] = True
                        nrem += 1
                        route_of[seg[q]] = -1
                        load[v] -= demand[seg[q]]
                else:  # the route breaks without them (no triangle inequality): put back
                    R[v, :n] = BR[v, :n]  # untouched before this string: the backup is it
                    rl[v] = n
                    if plain[v]:
                        _retime_plain(v, R, rl, ST, LT, T, horizon)
                    else:
                        _retime(v, R, rl, ST, LT, P)
        else:
            for i in range(min(size + 1, K)):
                j = nb[i]
                v = route_of[j]
                if v < 0:
                    continue
                if not touched[v]:
                    ntouched = _touch(
                        v, touched, ntouched, tlist, R, rl, ST, load, BR, Brl, Bload, old_cost, P
                    )
                n = rl[v]
                k = 0
                while R[v, k] != j:
                    k += 1
                for q in range(k, n - 1):
                    R[v, q] = R[v, q + 1]
                rl[v] = n - 1
                if (
                    _retime_plain(v, R, rl, ST, LT, T, horizon)
                    if plain[v]
                    else _retime(v, R, rl, ST, LT, P)
                ):
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
                    if plain[v]:
                        _retime_plain(v, R, rl, ST, LT, T, horizon)
                    else:
                        _retime(v, R, rl, ST, LT, P)
        # Put back the dearest first; within one penalty in a random order, or (the other
        # moves) by deadline with noise.
        if np.random.random() < random_share:
            keys = np.random.permutation(nrem).astype(np.int64)
        else:
            keys = np.empty(nrem, dtype=np.int64)
            for q in range(nrem):
                keys[q] = min(dl[removed[q]], BIG - 1) + np.random.randint(0, noise)
        order = np.argsort(keys, kind="mergesort")
        dkey = np.empty(nrem, dtype=np.int64)
        for q in range(nrem):
            dkey[q] = -drop[removed[order[q]]]
        order = order[np.argsort(dkey, kind="mergesort")]
        # Each at its cheapest place (strict: nothing late) unless leaving it out is cheaper;
        # with on-time places first, the ones left out again after the others, anywhere.
        # Granular first: the routes of j's neighbours and one empty vehicle of each kind;
        # then every route if nothing there beats leaving j out.
        for q in range(nrem):
            queue[q] = removed[order[q]]
        nq, q = nrem, 0
        while q < nq:
            j = queue[q]
            strict = on_time_first and q < nrem
            q += 1
            c, bv, bp = BIG, -1, -1
            for granular in (True, False):
                if not granular and bv >= 0 and c < drop[j]:
                    break
                nvs, n_near, n_used = _candidates(
                    j, granular, near, row, route_of, kind, rl, load, cap, demand, allowed,
                    vs, hit, kind_seen, relaxed,
                )  # fmt: skip
                if granular and (nvs == 0 or n_near >= n_used):
                    continue
                c, bv, bp, nbound = _scan(
                    j, vs, nvs, strict, R, rl, ST, LT, load, Q, horizon, cb, cv, cp, blink, cw
                )
                if nbound > 0:
                    c, bv, bp = _refine(
                        j, strict, max_exact, R, rl, ST, LT, P, cb, cv, cp, nbound, c, bv, bp,
                        cw, load,
                    )  # fmt: skip
            if bv < 0 or c >= drop[j]:
                if strict:
                    queue[nq] = j
                    nq += 1
                continue
            if not touched[bv]:
                ntouched = _touch(
                    bv, touched, ntouched, tlist, R, rl, ST, load, BR, Brl, Bload, old_cost, P
                )
            n = rl[bv]
            for k in range(n, bp, -1):
                R[bv, k] = R[bv, k - 1]
            R[bv, bp] = j
            rl[bv] = n + 1
            load[bv] += demand[j]
            route_of[j] = bv
            if plain[bv]:
                _retime_plain(bv, R, rl, ST, LT, T, horizon)
            else:
                _retime(bv, R, rl, ST, LT, P)
        delta = 0
        for i in range(ntouched):
            v = tlist[i]
            delta += _route_cost(v, R, rl, ST, P) - old_cost[v]
        for q in range(nrem):
            j = removed[q]
            if route_of[j] == -1 and was_in[q]:
                delta += drop[j]
            elif route_of[j] >= 0 and not was_in[q]:
                delta -= drop[j]
        ex, priced = 0, delta  # the move's change of the excess load; delta with penalties
        if relaxed:
            for i in range(ntouched):
                v = tlist[i]
                ex += max(0, load[v] - cap[v]) - max(0, Bload[v] - cap[v])
            priced += price(cw, state[2] + ex) - price(cw, state[2])
            state[3] += 1
            if state[2] + ex == 0:
                state[4] += 1
            if state[3] >= pen[EVERY]:
                cw = adapt(cw, state[4], state[3], pen[TGT], pen[LO], pen[HI])
                pen[W], state[3], state[4] = cw, 0, 0
        reject = priced > 0 and (not anneal or priced >= -temperature * np.log(np.random.random()))
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
                if plain[v]:
                    _retime_plain(v, R, rl, ST, LT, T, horizon)
                else:
                    _retime(v, R, rl, ST, LT, P)
        else:
            state[0] += delta
            state[2] += ex
            if state[2] == 0 and state[0] < state[1]:
                state[1] = state[0]
                bestR[:, :] = R
                bestrl[:] = rl
                bestload[:] = load
        for i in range(ntouched):
            touched[tlist[i]] = False
    return moves


def state_of(P: Problem, routes: Sequence[Sequence[int]]) -> tuple[np.ndarray, ...]:
    """The kernel's route state of feasible ``routes``: visits per vehicle (R, rl), service
    starts (ST) and latest starts (LT) per position, loads, each node's vehicle (-1: none)."""
    n, n_v, dem = int(P.travel.shape[0]), int(P.starts.size), P.demand
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
            raise ValueError(f"route {v} cannot be timed")
    return R, rl, ST, LT, load, route_of


def route_cost(P: Problem, routes: Sequence[Sequence[int]]) -> list[int]:
    """Each route's cost as the kernel counts it (arcs, lateness, vehicle-node, overtime)."""
    R, rl, ST, _, _, _ = state_of(P, routes)
    return [int(_route_cost(v, R, rl, ST, P)) for v in range(rl.size)]


def best_place(
    P: Problem, routes: Sequence[Sequence[int]], j: int, strict: bool, max_exact: int = 40
) -> tuple[int, int, int]:
    """The kernel's cheapest (cost, vehicle, position) of ``j`` over every vehicle allowed
    to serve it (vehicle -1: none)."""
    R, rl, ST, LT, load, _ = state_of(P, routes)
    n_v = rl.size
    vs = np.flatnonzero(P.allowed[:, j]).astype(np.int64)
    places = R.shape[1] + n_v + 1
    cb, cv, cp = (np.empty(places, dtype=np.int64) for _ in range(3))
    c, v, pos = _best_place(j, vs, vs.size, strict, max_exact, R, rl, ST, LT, load, P, cb, cv, cp)
    return int(c), int(v), int(pos)


def improve(
    P: Problem,
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
    *,
    anneal: bool,
    t_hot: float,
    t_ratio: float,
    max_string: int,
    string_share: float,
    split_share: float = 0.0,
    blink: float = 0.0,
    random_share: float,
    noise: int,
    on_time_first: bool,
    max_exact: int,
    on_best: Callable[[list[list[int]]], None] | None = None,
    report_every_s: float = 0.25,
    orders: np.ndarray,
    cycle_moves: int = 0,
    cool_share: float = 0.0,
    cap_penalty: np.ndarray | None = None,
    repair: Callable[[list[list[int]]], list[list[int]]] | None = None,
) -> tuple[list[list[int]], int]:
    """Ruin and recreate on feasible ``routes`` (order nodes per vehicle) of the problem
    ``P`` for ``seconds`` or ``max_moves`` moves; returns the best routes seen and the moves
    made (the parameters as :meth:`solver.insertion.Insertion.improve`'s).

    ``neighbours`` (one row per order, ``row`` maps a node to it) are each order's nearest
    orders, itself first; ``pick`` the orders a move starts from; the temperature falls from
    ``t_hot`` to ``t_hot * t_ratio`` over the time (or the moves). ``on_best`` is called with
    the best routes whenever they improved, at most every ``report_every_s`` seconds (the
    caller times and prices them: an anytime curve during the moves). ``orders``: every
    order once (not the first column of ``neighbours``, which names an order twice where
    two share a site, or an order and its late twin). ``split_share``: the strings that keep
    one or more visits in their middle (SISR's split strings); ``blink``: the chance an
    insertion skips a place (SISR's blinks); 0 and 0: the moves as before.

    ``cycle_moves`` > 0: the temperature follows the move count, not the clock — cycles of
    ``cycle_moves``, then twice, four times as many moves..., each from the best routes so
    far and cooling from ``t_hot`` over the cycle. The moves are then the same whatever the
    limit (a run with more time makes the same moves first and more after them), so a
    longer limit never ends on worse routes for want of luck, only for want of speed.

    ``cool_share`` (with ``cycle_moves`` and no ``max_moves``): the last share of the
    seconds starts again from the best routes and cools by the clock from the temperature
    reached to the coldest (:func:`solver.fastrr_cycle.fit_to_clock`), so the moves end
    with a descent on the best routes found rather than cut off in a warm cycle.

    ``cap_penalty`` (:func:`solver.penalty.weights`, weight > 0): the moves may load a
    vehicle past its capacity at the penalty's price and adapt its weight (in place: the
    next call goes on from it); the routes returned are within capacity. ``repair``: makes
    routes over capacity feasible; where the moves end on such routes cheaper than the best,
    their repair is kept if it beats the best."""
    R, rl, ST, LT, load, route_of = state_of(P, routes)
    i64 = np.int64
    orders = np.asarray(orders, dtype=i64)
    total = _total(P, drop, orders, R, rl, ST, route_of)
    state = np.asarray([total, total, 0, 0, 0], dtype=np.int64)  # see _kernel
    pen = penalty.off() if cap_penalty is None else cap_penalty
    bestR, bestrl, bestload = R.copy(), rl.copy(), load.copy()
    inputs = (
        float(random_share),
        max(1, int(noise)),
        bool(on_time_first),
        P,
        np.ascontiguousarray(drop, dtype=i64),
        np.ascontiguousarray(kind, dtype=i64),
        int(kind.max()) + 1 if kind.size else 1,
        np.ascontiguousarray(neighbours, dtype=i64),
        np.ascontiguousarray(row, dtype=i64),
        np.ascontiguousarray(pick, dtype=i64),
        int(max_exact),
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
        pen,
    )
    done, chunk, first = 0, 16, True
    cycle_start, cycle_len = 0, int(cycle_moves)  # the current annealing cycle, in moves
    cool = cycle_len > 0 and max_moves is None and cool_share > 0
    tail_s, tail_p = seconds * (1.0 - min(1.0, float(cool_share))), -1.0  # -1: not yet in it
    t0 = time.perf_counter()
    reported, last_report = int(state[1]), t0
    while True:
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds or (max_moves is not None and done >= max_moves):
            break
        if should_stop is not None and should_stop():
            break
        todo = chunk if max_moves is None else min(chunk, max_moves - done)
        if cycle_len > 0:
            if done >= cycle_start + cycle_len:  # a new cycle, twice as long, from the best
                cycle_start, cycle_len = done, 2 * cycle_len
                _restart_from_best(P, inputs)
            todo = min(todo, cycle_start + cycle_len - done)
            p0, dp = (done - cycle_start) / cycle_len, 1.0 / cycle_len
            if cool and elapsed >= tail_s and done > 0:
                if tail_p < 0:  # the tail begins: from the best routes, as warm as now
                    tail_p, tail_s = p0, elapsed
                    _restart_from_best(P, inputs)
                rate = done / elapsed
                p0, dp = fit_to_clock(p0, dp, tail_p, elapsed - tail_s, seconds - tail_s, rate)
        elif max_moves is None:
            rate = done / elapsed if done and elapsed > 0 else 1e4
            p0, dp = elapsed / seconds, 1.0 / (rate * seconds)
        else:
            p0, dp = done / max_moves, 1.0 / max_moves
        t_call = time.perf_counter()
        _kernel(
            todo, seed if first else -1, p0, dp, t_hot, t_ratio, anneal, max_string, string_share,
            float(split_share), float(blink),
            *inputs,
        )  # fmt: skip
        took = time.perf_counter() - t_call
        first = False
        done += todo
        if max_moves is None:  # aim at CHUNK_S a call, never past the limit by much
            per = took / todo if todo else 0.0
            left = seconds - (time.perf_counter() - t0)
            aim = min(CHUNK_S, max(left, 0.0))
            chunk = int(max(1, min(chunk * 4, aim / per if per > 0 else chunk * 4)))
        now = time.perf_counter()
        if on_best is not None and state[1] < reported and now - last_report >= report_every_s:
            reported, last_report = int(state[1]), now
            on_best(_routes(bestR, bestrl))
    if state[2] > 0 and repair is not None and state[0] < state[1]:  # over capacity, cheaper
        fixed = state_of(P, repair(_routes(R, rl)))
        cost = _total(P, drop, orders, fixed[0], fixed[1], fixed[2], fixed[5])
        if cost < state[1]:
            bestR, bestrl, state[1] = fixed[0], fixed[1], cost
    if on_best is not None and state[1] < reported:  # the last improvement, whenever it came
        on_best(_routes(bestR, bestrl))
    if state[1] < state[0] or state[2] > 0:
        R, rl = bestR, bestrl
    return _routes(R, rl), done


def _total(
    P: Problem, drop: np.ndarray, orders: np.ndarray, R: np.ndarray, rl: np.ndarray,
    ST: np.ndarray, route_of: np.ndarray,
) -> int:  # fmt: skip
    """The routes' costs and the drop penalties of the orders they leave out."""
    total = sum(int(_route_cost(v, R, rl, ST, P)) for v in range(rl.size))
    return total + int(np.asarray(drop, dtype=np.int64)[orders[route_of[orders] == -1]].sum())


def _restart_from_best(P: Problem, inputs: tuple[Any, ...]) -> None:
    """Make the best routes the current ones again (in place: the kernel's arrays are the
    ones in ``inputs``), for the next annealing cycle."""
    R, rl, ST, LT, load, route_of, state, bestR, bestrl, bestload = inputs[11:21]
    if state[0] == state[1] and state[2] == 0:
        return
    fresh = state_of(P, _routes(bestR, bestrl))
    for old, new in zip((R, rl, ST, LT, load, route_of), fresh, strict=True):
        old[...] = new
    state[0], state[2] = state[1], 0


def _routes(R: np.ndarray, rl: np.ndarray) -> list[list[int]]:
    return [[int(x) for x in R[v, : rl[v]]] for v in range(rl.size)]


_WARM: list[bool] = []  # set once this process has compiled or loaded the kernel


def tiny_problem() -> Problem:
    """Two orders and two vehicles (node 0 the depot, 5 apart, windows 0-100): what the
    warm-ups of the compiled functions here, in :mod:`solver.bounded` and in
    :mod:`solver.population` run once per process."""
    travel = np.asarray([[0, 5, 5], [5, 0, 5], [5, 5, 0]], dtype=np.int64)
    return problem(
        travel, travel, np.zeros(3, dtype=np.int64), [[(0, 100)]] * 3, 100, [0, 0], [0, 0],
        [0, 0], np.full(2, 1000, dtype=np.int64), np.zeros(3, dtype=np.int64),
    )  # fmt: skip


def warm_up() -> None:
    """Compile the kernel (or load it from the cache) on a two-order problem, once per
    process: :func:`solver.routing.solve` calls it before its clock starts, so neither the
    compile (first run of an installation) nor the load counts against a time limit."""
    if _WARM or not AVAILABLE:
        return
    near = np.asarray([[1, 2], [2, 1]], dtype=np.int64)
    improve(
        tiny_problem(), np.full(3, 1000, dtype=np.int64), np.zeros(2, dtype=np.int64), near,
        np.asarray([-1, 0, 1]), near[:, 0], [[1, 2], []], 1.0, 0, 4, None,
        anneal=True, t_hot=1.0, t_ratio=0.01, max_string=10, string_share=0.5,
        random_share=0.5, noise=10, on_time_first=True, max_exact=40, orders=near[:, 0],
    )  # fmt: skip
    _WARM.append(True)
