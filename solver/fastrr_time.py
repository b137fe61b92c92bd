"""The time rules of :mod:`solver.fastrr`'s compiled moves, compiled: travel across a
vehicle's rests (or one-second pauses at common boundaries), a service start in one of a
node's windows clear of the rests, and their inverses for the latest starts (here to keep
that module under the size limit; :func:`solver.fastrr._retime` and the exact simulation of
an insertion are built on them).

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import numpy as np

from solver.fastrr_problem import BIG, njit


@njit
def _pass_breaks(t, travel, v, rptr, rs, rd):  # type: ignore[no-untyped-def]
    """Arrival after ``travel`` seconds of work from ``t``, pausing over v's rests."""
    remaining = travel
    for r in range(rptr[v], rptr[v + 1]):
        end = rs[r] + rd[r]
        if end <= t:
            continue
        if rs[r] <= t:
            t = end
            continue
        if rs[r] >= t + remaining:
            break
        remaining -= rs[r] - t
        t = end
    return t + remaining


@njit
def _cross(t, travel, bounds):  # type: ignore[no-untyped-def]
    """Arrival after ``travel`` from ``t`` with a one-second pause at each boundary."""
    arrival = t + travel
    if bounds.size == 0:
        return arrival
    for _ in range(bounds.size + 1):
        k = np.searchsorted(bounds, arrival) - np.searchsorted(bounds, t)
        nxt = t + travel + k
        if nxt == arrival:
            break
        arrival = nxt
    return arrival


@njit
def _arrive(v, t, travel, rptr, rs, rd, bounds):  # type: ignore[no-untyped-def]
    if rptr[v + 1] > rptr[v]:
        return _pass_breaks(t, travel, v, rptr, rs, rd)
    if bounds.size == 0:
        return t + travel
    return _cross(t, travel, bounds)


@njit
def _earliest(arr, node, wptr, wa, wb):  # type: ignore[no-untyped-def]
    """Earliest start >= arr in one of node's windows, or -1."""
    for w in range(wptr[node], wptr[node + 1]):
        if arr <= wb[w]:
            return max(arr, wa[w])
    return -1


@njit
def _start(v, arr, node, wptr, wa, wb, rptr, rs, rd, visit, horizon):  # type: ignore[no-untyped-def]
    """Earliest service start of ``node`` on ``v`` from arrival ``arr`` (in a window, the
    visit (``visit``: v's visit lengths) clear of v's rests, by the horizon with rests), or
    -1."""
    if rptr[v + 1] == rptr[v]:
        return _earliest(arr, node, wptr, wa, wb)
    length = visit[v, node]
    s = arr
    for _ in range(64):  # each pass moves s past a window gap or a rest
        s = _earliest(s, node, wptr, wa, wb)
        if s < 0:
            return -1
        moved = False
        for r in range(rptr[v], rptr[v + 1]):
            if rs[r] < s + length and s < rs[r] + rd[r]:
                s = rs[r] + rd[r]
                moved = True
                break
        if not moved:
            return s if s <= horizon else -1
    return -1


@njit
def _latest_departure(arrive_by, travel, v, rptr, rs, rd):  # type: ignore[no-untyped-def]
    """The latest departure arriving by ``arrive_by`` (the inverse of _pass_breaks)."""
    if travel <= 0 or rptr[v + 1] == rptr[v]:
        return arrive_by - max(0, travel)
    t, remaining = arrive_by, travel
    for r in range(rptr[v + 1] - 1, rptr[v] - 1, -1):
        end = rs[r] + rd[r]
        if rs[r] >= t:
            continue
        if end >= t:
            t = rs[r]
            continue
        if t - remaining >= end:
            break
        remaining -= t - end
        t = rs[r]
    return t - remaining


@njit
def _latest_start(v, node, by, svc, wptr, wa, wb, horizon, rptr, rs, rd, visit):  # type: ignore[no-untyped-def]
    """The latest start of ``node`` on ``v`` no later than ``by`` (in a window, clear of
    v's rests, done by the horizon), or -BIG."""
    by = min(by, horizon - svc)
    lo, hi = rptr[v], rptr[v + 1]
    for w in range(wptr[node + 1] - 1, wptr[node] - 1, -1):
        s = min(wb[w], by)
        if hi > lo:
            length = visit[v, node]
            moved = True
            while moved and s >= wa[w]:
                moved = False
                for r in range(hi - 1, lo - 1, -1):
                    if rs[r] - length < s < rs[r] + rd[r]:
                        s = rs[r] - length
                        moved = True
                        break
        if s >= wa[w]:
            return s
        by = s
    return -BIG
