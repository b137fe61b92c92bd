"""Turn holes in service windows into breaks that OR-Tools' local search can see.

Why: a node with several service windows becomes a cumul variable with holes, and OR-Tools'
local-search filters do not account for holes — the CP solver then rejects most moves the
filters accept (97 % on a 200-order field model; the first-solution heuristics retry with CP
propagation inside the filter loop and need > 10 s at 1,000 orders). See docs/performance.md.

The field model's holes have one shape: a service may not *straddle* a boundary ``T`` where
the work calendar closes (and a site that closes before the day ends widens the hole). If no
node may ever straddle ``T``, that rule can be written as a one-second break ``[T, T+1)`` on
every vehicle, plus a per-node *visit length* ``L >= service`` used only by the break
constraint: a visit ``[s, s+L)`` may not overlap ``[T, T+1)``, i.e. ``s`` is not in
``(T-L, T]`` — exactly the hole ``(b, T-1]`` when ``L = T - b``, plus the instant ``T``
itself. Breaks are handled by a dedicated local-search filter, so the search stays exact.

Costs of the rewrite: travel across ``T`` takes one more second, a start exactly at ``T`` moves
to ``T+1``, and a node whose holes before different boundaries differ in length is held to the
longest (it is left with its holes instead when that would lose more than
:data:`MAX_LOSS_S` seconds of allowed starts).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Interval = tuple[int, int]
MAX_LOSS_S = 60  # per node, seconds of allowed start times the rewrite may give up
BOUNDARY_BREAK_S = 1


@dataclass(frozen=True)
class TimeModel:
    """Windows and breaks as the OR-Tools model states them.

    Attributes
    ----------
    hull
        Per node, ``(first, last)`` allowed start, or None for no window.
    holes
        Per node, the holes kept in the cumul domain (inclusive intervals).
    windows
        Per node, the exact allowed start intervals after the rewrite (for the greedy).
    breaks
        Per vehicle, ``(start, duration)`` rests including the boundary breaks.
    visit_s
        ``[n]`` length of a visit as the break constraint sees it.
    visit_v
        ``[vehicles, n]`` the same per vehicle: on a vehicle whose rest covers a boundary
        ``T`` (so it gets no boundary break there), the hole ``(b, T]`` before it needs only
        ``L = r - b`` against that rest starting at ``r`` — ``T - b`` would also forbid the
        starts in ``(r - T + b, b]``, whose service ends before the rest.
    boundaries
        Sorted boundaries ``T`` turned into breaks.
    """

    hull: list[Interval | None]
    holes: list[list[Interval]]
    windows: list[list[Interval]]
    breaks: list[list[tuple[int, int]]]
    visit_s: np.ndarray
    boundaries: list[int]
    visit_v: np.ndarray | None = None


def _measure(intervals: Sequence[Interval]) -> int:
    return sum(b - a + 1 for a, b in intervals if b >= a)


def _minus(intervals: list[Interval], cut: Interval) -> list[Interval]:
    c, d = cut
    out: list[Interval] = []
    for a, b in intervals:
        if d < a or c > b:
            out.append((a, b))
            continue
        if a <= c - 1:
            out.append((a, c - 1))
        if d + 1 <= b:
            out.append((d + 1, b))
    return out


def _straddle_free(
    t: int, order_nodes: Sequence[int], wins: list[list[Interval]], service: np.ndarray
) -> bool:
    """No order may start in ``(t - service, t)``: a break at ``t`` forbids nothing allowed."""
    for node in order_nodes:
        svc = int(service[node])
        if svc <= 0:
            continue
        for a, b in wins[node]:
            if a < t and b > t - svc:
                return False
    return True


def rewrite(
    n_nodes: int,
    order_nodes: Sequence[int],
    windows: Sequence[Sequence[Interval]],
    service_s: np.ndarray,
    breaks: Sequence[Sequence[tuple[int, int]]],
    n_vehicles: int,
    start_min_s: Sequence[int],
    horizon_s: int,
    enabled: bool = True,
) -> TimeModel:
    """Compute the :class:`TimeModel` of a routing input (see the module docstring).

    Parameters
    ----------
    n_nodes, order_nodes, windows, service_s, breaks, n_vehicles, start_min_s, horizon_s
        As in :class:`solver.routing.RoutingInput`.
    enabled
        False keeps every hole in the cumul domains (the plain model).

    Returns
    -------
    TimeModel
    """
    wins: list[list[Interval]] = [
        sorted((int(a), int(b)) for a, b in windows[i] if a <= b) for i in range(n_nodes)
    ]
    full = [w if w else [(0, horizon_s)] for w in wins]
    service = np.asarray(service_s, dtype=np.int64)
    candidates: set[int] = set()
    if enabled:
        for node in order_nodes:
            if service[node] <= 0:
                continue  # a hole of a zero-length visit is no straddle rule
            for (_, b), (a2, _) in zip(wins[node], wins[node][1:], strict=False):
                if a2 > b + 1:
                    candidates.add(a2)
    boundaries = sorted(
        t for t in candidates if 0 < t < horizon_s and _straddle_free(t, order_nodes, full, service)
    )
    visit = service.copy()
    hull: list[Interval | None] = [None] * n_nodes
    holes: list[list[Interval]] = [[] for _ in range(n_nodes)]
    exact: list[list[Interval]] = [list(w) for w in wins]
    bset = set(boundaries)
    held: dict[int, list[tuple[int, int]]] = {}  # node: (window end, boundary) per held hole
    for node in order_nodes:
        w = wins[node]
        if not w:
            continue
        span = (w[0][0], w[-1][1])
        hull[node] = span
        gaps = [(b + 1, a2 - 1) for (_, b), (a2, _) in zip(w, w[1:], strict=False) if a2 > b + 1]
        converted = [g for g in gaps if g[1] + 1 in bset]
        kept = [g for g in gaps if g[1] + 1 not in bset]
        length = max([int(service[node])] + [g[1] + 1 - (g[0] - 1) for g in converted])
        allowed: list[Interval] = [span]
        for g in kept:
            allowed = _minus(allowed, g)
        for t in boundaries:
            allowed = _minus(allowed, (t - length + 1, t))
        loss = _measure(w) - _measure(allowed)
        if converted and loss > MAX_LOSS_S + len(boundaries) * BOUNDARY_BREAK_S:
            holes[node] = gaps  # keep this node exact, with its holes
            allowed = [span]
            for g in gaps:
                allowed = _minus(allowed, g)
            for t in boundaries:
                allowed = _minus(allowed, (t - int(service[node]) + 1, t))
        else:
            holes[node] = kept
            visit[node] = length
            if converted:
                held[node] = [(g[0] - 1, g[1] + 1) for g in converted]  # (b, T)
        exact[node] = allowed
    if boundaries:
        for node in order_nodes:  # single-window / windowless nodes lose the instants T
            if not wins[node] or len(wins[node]) == 1:
                allowed = list(full[node])
                for t in boundaries:
                    allowed = _minus(allowed, (t - int(service[node]) + 1, t))
                exact[node] = allowed
    new_breaks: list[list[tuple[int, int]]] = []
    for v in range(n_vehicles):
        rests = sorted((int(s), int(d)) for s, d in (breaks[v] if v < len(breaks) else []))
        extra = [
            (t, BOUNDARY_BREAK_S)
            for t in boundaries
            if t + BOUNDARY_BREAK_S > int(start_min_s[v])
            and not any(s <= t <= s + d for s, d in rests)
        ]
        new_breaks.append(sorted(rests + extra))
    return TimeModel(
        hull,
        holes,
        exact,
        new_breaks,
        visit,
        boundaries,
        _visit_v(visit, service, held, breaks, n_vehicles),
    )


def _visit_v(
    visit: np.ndarray,
    service: np.ndarray,
    held: dict[int, list[tuple[int, int]]],
    breaks: Sequence[Sequence[tuple[int, int]]],
    n_vehicles: int,
) -> np.ndarray:
    """Per vehicle visit lengths (:attr:`TimeModel.visit_v`); vehicles with the same rests
    share one row."""
    out = np.tile(visit, (n_vehicles, 1))
    rows: dict[tuple[tuple[int, int], ...], np.ndarray] = {}
    for v in range(n_vehicles):
        rests = tuple(sorted((int(s), int(d)) for s, d in (breaks[v] if v < len(breaks) else [])))
        if not rests or not held:
            continue
        row = rows.get(rests)
        if row is None:
            row = visit.copy()
            for node, gaps in held.items():
                need = int(service[node])
                for b, t in gaps:
                    cover = next((s for s, d in rests if s <= t <= s + d), None)
                    need = max(need, t - b if cover is None else cover - b)
                row[node] = need
            rows[rests] = row
        out[v] = row
    return out


def crossings(boundaries: Sequence[int], t: int, arrival: int) -> int:
    """Boundaries in ``[t, arrival)``."""
    return bisect_left(boundaries, arrival) - bisect_left(boundaries, t)
