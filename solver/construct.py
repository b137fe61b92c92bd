"""A fast greedy first solution over :class:`~solver.routing.RoutingInput` arrays.

Why this exists: OR-Tools' insertion heuristics lean on local-search filters that do not
see the holes of a cumul domain (a node with several service windows). On the field model
every order has one window per working day, so the heuristics build plans the CP solver then
rejects, and retry with CP propagation in the filter loop: on 1,000 orders / 100 engineers
no first solution within 10 s (docs/performance.md, "first feasible plan"). This module
builds routes by simulating the exact time semantics of the model (travel pauses across
breaks, service never overlaps a break, service starts inside one of the node's windows,
capacity, horizon) and hands them to OR-Tools as the starting assignment.

The heuristic is *append-only parallel insertion*: orders are taken by deadline (then by
drop penalty, largest first) and appended to the route of the vehicle where doing so is
cheapest (arc cost increase + lateness cost + vehicle-node cost), vectorised over vehicles.
An order no vehicle can take is left out (the local search may insert it later). Quality is
a starting point only; the local search does the rest.

:func:`insertion_routes` is the better start (``SearchParams.initial="insertion"``, and
``"auto"`` from a 5 s limit): cheapest insertion at any position of a route, re-timing the
later visits exactly, on-time placements first (1,000 orders / 100 engineers: 720 orders on
time after 60 s instead of 470; docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NO_DEADLINE = -1  # same sentinel as solver.routing (kept local: routing imports this module)


def _pass_breaks(t: int, travel: int, rests: Sequence[tuple[int, int]]) -> int:
    """Arrival after ``travel`` seconds of work time from ``t``, pausing during ``rests``."""
    remaining = travel
    for start, dur in rests:
        end = start + dur
        if end <= t:
            continue
        if start <= t:  # already resting at t
            t = end
            continue
        if start >= t + remaining:
            break
        remaining -= start - t
        t = end
    return t + remaining


def _earliest_start(
    arrival: int,
    service: int,
    windows: Sequence[tuple[int, int]],
    rests: Sequence[tuple[int, int]],
    horizon: int,
) -> int | None:
    """Earliest service start ``>= arrival`` inside a window, not overlapping a rest."""
    wins = windows or [(0, horizon)]
    s = arrival
    for _ in range(64):  # each pass moves s forward past a window gap or a rest
        moved = False
        for a, b in wins:
            if s <= b:
                if s < a:
                    s = a
                break
        else:
            return None
        for start, dur in rests:
            if start < s + service and s < start + dur:
                s = start + dur
                moved = True
                break
        if not moved:
            return s if s <= horizon and any(a <= s <= b for a, b in wins) else None
    return None


def route_starts(
    route: Sequence[int],
    vehicle: int,
    travel_s: np.ndarray,
    service_s: np.ndarray,
    starts: Sequence[int],
    start_min_s: Sequence[int],
    horizon_s: int,
    windows: Sequence[Sequence[tuple[int, int]]],
    breaks: Sequence[tuple[int, int]],
    visit_s: np.ndarray,
    boundaries: Sequence[int] = (),
) -> list[int]:
    """Earliest service start of each visit of ``route`` under the model's time rules.

    Travel pauses across the vehicle's ``breaks`` and a second at each boundary, a visit of
    ``visit_s`` seconds overlaps no rest, and service starts inside one of the node's
    windows. A visit that cannot be timed gets ``horizon_s + 1`` (later than any deadline);
    the model then rejects the route, as it would have anyway.
    """
    s0 = int(start_min_s[vehicle])
    rests = sorted(
        [(int(s), int(d)) for s, d in breaks] + [(int(t), 1) for t in boundaries if t >= s0 - 1]
    )
    out: list[int] = []
    prev, t = int(starts[vehicle]), s0
    for j in route:
        arrival = _pass_breaks(t, int(travel_s[prev, j]), rests)
        s = _earliest_start(arrival, int(visit_s[j]), windows[j], rests, horizon_s)
        if s is None:
            out.extend([horizon_s + 1] * (len(route) - len(out)))
            return out
        out.append(s)
        prev, t = j, s + int(service_s[j])
    return out


def greedy_routes(
    travel_s: np.ndarray,
    arc_cost: np.ndarray,
    service_s: np.ndarray,
    starts: Sequence[int],
    ends: Sequence[int],
    start_min_s: Sequence[int],
    horizon_s: int,
    windows: Sequence[Sequence[tuple[int, int]]],
    allowed_vehicles: Sequence[Sequence[int] | None],
    drop_penalty: np.ndarray,
    deadline_s: np.ndarray,
    late_cost_per_s: np.ndarray,
    breaks: Sequence[Sequence[tuple[int, int]]],
    vehicle_node_cost: np.ndarray | None = None,
    demand: np.ndarray | None = None,
    capacity: Sequence[int] | None = None,
    visit_s: np.ndarray | None = None,
    boundaries: Sequence[int] = (),
    breach_cost: np.ndarray | None = None,
) -> list[list[int]]:
    """Routes (order nodes per vehicle) that satisfy every hard constraint of the model.

    Parameters
    ----------
    travel_s, arc_cost, service_s, starts, ends, start_min_s, horizon_s, windows,
    allowed_vehicles, drop_penalty, deadline_s, late_cost_per_s, breaks,
    vehicle_node_cost, demand, capacity, breach_cost
        The fields of :class:`solver.routing.RoutingInput` of the same names.
    visit_s, boundaries
        Visit lengths and boundaries of the model's time rewrite (solver/timemodel.py).

    Returns
    -------
    list[list[int]]
        Per vehicle, the order nodes in visiting order; orders no vehicle could take are
        absent.
    """
    n_v = len(starts)
    n = int(travel_s.shape[0])
    depots = set(starts) | set(ends)
    orders = [i for i in range(n) if i not in depots]
    big = np.iinfo(np.int64).max // 4
    dl = np.where(deadline_s == NO_DEADLINE, big, deadline_s)
    orders.sort(key=lambda i: (int(dl[i]), -int(drop_penalty[i]), i))

    last = np.asarray(starts, dtype=np.int64)
    end_node = np.asarray(ends, dtype=np.int64)
    t_free: np.ndarray = np.asarray(start_min_s, dtype=np.int64).copy()  # end of last visit
    load = np.zeros(n_v, dtype=np.int64)
    cap = None if capacity is None or demand is None else np.asarray(capacity, dtype=np.int64)
    has_rest = np.array([bool(b) for b in breaks] + [False] * (n_v - len(breaks)))[:n_v]
    bounds = np.asarray(sorted(boundaries), dtype=np.int64)
    rests = [
        sorted([(int(s), int(d)) for s, d in b] + [(int(t), 1) for t in bounds if t >= s0 - 1])
        if b
        else []
        for b, s0 in zip(
            list(breaks) + [[]] * (n_v - len(breaks)), [int(x) for x in start_min_s], strict=True
        )
    ]
    visit = service_s if visit_s is None else visit_s

    def crossed(t: np.ndarray, travel: np.ndarray) -> np.ndarray:
        """Arrival after ``travel`` from ``t`` with a one-second pause at each boundary."""
        arrival = t + travel
        if bounds.size == 0:
            return arrival
        for _ in range(bounds.size + 1):
            n_cross = np.searchsorted(bounds, arrival) - np.searchsorted(bounds, t)
            nxt = t + travel + n_cross
            if np.array_equal(nxt, arrival):
                break
            arrival = nxt
        return arrival

    routes: list[list[int]] = [[] for _ in range(n_v)]
    all_v = np.arange(n_v)

    for j in orders:
        allowed = allowed_vehicles[j]
        cand = all_v if allowed is None else np.asarray(sorted(allowed), dtype=np.int64)
        if cand.size == 0:
            continue
        if cap is not None and demand is not None:
            cand = cand[load[cand] + int(demand[j]) <= cap[cand]]
            if cand.size == 0:
                continue
        svc = int(service_s[j])
        # Vectorised for vehicles without rests; rested vehicles are simulated one by one.
        arrival = crossed(t_free[cand], travel_s[last[cand], j])
        start = np.full(cand.size, -1, dtype=np.int64)
        wins = windows[j] or [(0, horizon_s)]
        pending = np.ones(cand.size, dtype=bool)
        for a, b in sorted(wins):
            ok = pending & (arrival <= b)
            start[ok] = np.maximum(arrival[ok], a)
            pending &= ~ok
        rested = np.flatnonzero(has_rest[cand])
        for k in rested:
            v = int(cand[k])
            arr = _pass_breaks(int(t_free[v]), int(travel_s[last[v], j]), rests[v])
            s = _earliest_start(arr, int(visit[j]), wins, rests[v], horizon_s)
            start[k] = -1 if s is None else s
        finish = start + svc
        back = crossed(finish, travel_s[j, end_node[cand]])
        for k in rested:
            if start[k] >= 0:
                v = int(cand[k])
                back[k] = _pass_breaks(int(finish[k]), int(travel_s[j, end_node[v]]), rests[v])
        feasible = (start >= 0) & (back <= horizon_s) & (finish <= horizon_s)
        if not feasible.any():
            continue
        late = np.maximum(0, start - dl[j]) if dl[j] < big else np.zeros(cand.size, np.int64)
        cost = (
            arc_cost[last[cand], j]
            + arc_cost[j, end_node[cand]]
            - arc_cost[last[cand], end_node[cand]]
            + late * int(late_cost_per_s[j])
        )
        if breach_cost is not None:
            cost = cost + np.where(late > 0, int(breach_cost[j]), 0)
        if vehicle_node_cost is not None:
            cost = cost + vehicle_node_cost[cand, j]
        cost = np.where(feasible, cost, big)
        best = int(np.argmin(cost))
        assert feasible[best]
        v = int(cand[best])
        routes[v].append(j)
        last[v] = j
        t_free[v] = finish[best]
        if demand is not None:
            load[v] += int(demand[j])
    return routes


def insertion_routes(
    travel_s: np.ndarray,
    arc_cost: np.ndarray,
    service_s: np.ndarray,
    starts: Sequence[int],
    ends: Sequence[int],
    start_min_s: Sequence[int],
    horizon_s: int,
    windows: Sequence[Sequence[tuple[int, int]]],
    allowed_vehicles: Sequence[Sequence[int] | None],
    drop_penalty: np.ndarray,
    deadline_s: np.ndarray,
    late_cost_per_s: np.ndarray,
    breaks: Sequence[Sequence[tuple[int, int]]],
    vehicle_node_cost: np.ndarray | None = None,
    demand: np.ndarray | None = None,
    capacity: Sequence[int] | None = None,
    visit_s: np.ndarray | None = None,
    boundaries: Sequence[int] = (),
    max_exact: int = 40,
    on_time_first: bool = True,
    breach_cost: np.ndarray | None = None,
) -> list[list[int]]:
    """Cheapest insertion at any position of any route, with the exact time rules.

    Orders are taken by deadline (then drop penalty, largest first). For each order, every
    (vehicle, position) pair gets a *lower bound* on its cost, vectorised: arc cost increase
    + the order's own lateness + vehicle-node cost, with the order's earliest start computed
    from the previous visit's finish (travel across boundaries, windows; vehicles with rests
    are bounded by their rest-free arrival). Pairs are then simulated exactly in ascending
    bound order — the order and every later visit of the route re-timed (breaks, windows,
    horizon, the way back), adding the later visits' extra lateness — until the next bound
    cannot beat the best exact cost or ``max_exact`` pairs were simulated.

    Parameters
    ----------
    travel_s, arc_cost, service_s, starts, ends, start_min_s, horizon_s, windows,
    allowed_vehicles, drop_penalty, deadline_s, late_cost_per_s, breaks,
    vehicle_node_cost, demand, capacity, visit_s, boundaries, breach_cost
        As :func:`greedy_routes`.
    max_exact
        Most (vehicle, position) pairs simulated exactly per order.
    on_time_first
        Two passes: first insert each order only where it and every later visit stay on
        time (VROOM's hard deadlines), then insert the rest anywhere feasible.

    Returns
    -------
    list[list[int]]
        Per vehicle, the order nodes in visiting order; orders no vehicle could take are
        absent.
    """
    n_v = len(starts)
    n = int(travel_s.shape[0])
    depots = set(starts) | set(ends)
    orders = [i for i in range(n) if i not in depots]
    big = np.iinfo(np.int64).max // 4
    dl = np.where(deadline_s == NO_DEADLINE, big, deadline_s)
    orders.sort(key=lambda i: (int(dl[i]), -int(drop_penalty[i]), i))
    visit = service_s if visit_s is None else visit_s
    bounds = sorted(int(t) for t in boundaries)
    bounds_arr = np.asarray(bounds, dtype=np.int64)
    padded = list(breaks) + [[]] * (n_v - len(breaks))
    rests = [
        sorted([(int(s), int(d)) for s, d in b] + [(t, 1) for t in bounds if t >= int(s0) - 1])
        if b
        else []
        for b, s0 in zip(padded, start_min_s, strict=True)
    ]
    wins_of = [sorted(windows[i]) if windows[i] else [(0, horizon_s)] for i in range(n)]
    cap = None if capacity is None or demand is None else np.asarray(capacity, dtype=np.int64)
    load = np.zeros(n_v, dtype=np.int64)

    def cross(t: int, travel: int) -> int:
        """Scalar ``crossed``: one-second pause at each boundary passed."""
        arrival = t + travel
        if not bounds:
            return arrival
        for _ in range(len(bounds) + 1):
            k = int(np.searchsorted(bounds_arr, arrival) - np.searchsorted(bounds_arr, t))
            nxt = t + travel + k
            if nxt == arrival:
                break
            arrival = nxt
        return arrival

    def start_at(v: int, t_free: int, prev: int, node: int) -> int | None:
        """Earliest service start of ``node`` after leaving ``prev`` at ``t_free``."""
        if rests[v]:
            arr = _pass_breaks(t_free, int(travel_s[prev, node]), rests[v])
            return _earliest_start(arr, int(visit[node]), wins_of[node], rests[v], horizon_s)
        arr = cross(t_free, int(travel_s[prev, node]))
        for a, b in wins_of[node]:
            if arr <= b:
                return max(arr, a)
        return None

    def back_at(v: int, t_free: int, last: int) -> int:
        if rests[v]:
            return _pass_breaks(t_free, int(travel_s[last, ends[v]]), rests[v])
        return cross(t_free, int(travel_s[last, ends[v]]))

    breach = np.zeros(n, dtype=np.int64) if breach_cost is None else breach_cost

    def lateness(node: int, s: int) -> int:
        if dl[node] >= big or s <= dl[node]:
            return 0
        return (s - int(dl[node])) * int(late_cost_per_s[node]) + int(breach[node])

    routes: list[list[int]] = [[] for _ in range(n_v)]
    times: list[list[int]] = [[] for _ in range(n_v)]  # service starts, per route position

    def simulate(v: int, pos: int, j: int) -> tuple[int, list[int]] | None:
        """Extra lateness of the later visits and the new starts, or None if infeasible."""
        route, st = routes[v], times[v]
        prev = starts[v] if pos == 0 else route[pos - 1]
        t = int(start_min_s[v]) if pos == 0 else st[pos - 1] + int(service_s[prev])
        s = start_at(v, t, prev, j)
        if s is None or s + int(service_s[j]) > horizon_s:
            return None
        new = [s]
        extra = 0
        prev, t = j, s + int(service_s[j])
        for k in range(pos, len(route)):
            node = route[k]
            s2 = start_at(v, t, prev, node)
            if s2 is None or s2 + int(service_s[node]) > horizon_s:
                return None
            if s2 == st[k]:  # later visits unchanged from here on
                return extra, new + st[k:]
            extra += lateness(node, s2) - lateness(node, st[k])
            new.append(s2)
            prev, t = node, s2 + int(service_s[node])
        if back_at(v, t, prev) > horizon_s:
            return None
        return extra, new

    all_v = np.arange(n_v)

    def insert(j: int, strict: bool) -> bool:
        """Insert ``j`` at its cheapest place; ``strict``: only where nothing is late."""
        allowed = allowed_vehicles[j]
        cand = all_v if allowed is None else np.asarray(sorted(allowed), dtype=np.int64)
        if cap is not None and demand is not None:
            cand = cand[load[cand] + int(demand[j]) <= cap[cand]]
        if cand.size == 0:
            return False
        # Every (vehicle, position): previous node, next node, previous visit's finish.
        vs, prevs, nexts, frees = [], [], [], []
        for v in cand.tolist():
            route, st = routes[v], times[v]
            nodes = [starts[v], *route]
            free = [int(start_min_s[v])] + [
                s + int(service_s[x]) for x, s in zip(route, st, strict=True)
            ]
            vs.extend([v] * len(nodes))
            prevs.extend(nodes)
            nexts.extend([*route, ends[v]])
            frees.extend(free)
        v_a = np.asarray(vs, dtype=np.int64)
        p_a = np.asarray(prevs, dtype=np.int64)
        n_a = np.asarray(nexts, dtype=np.int64)
        arrival = np.asarray(frees, dtype=np.int64) + travel_s[p_a, j]
        start = np.full(arrival.size, -1, dtype=np.int64)
        pending = np.ones(arrival.size, dtype=bool)
        for a, b in wins_of[j]:
            ok = pending & (arrival <= b)
            start[ok] = np.maximum(arrival[ok], a)
            pending &= ~ok
        bound = (arc_cost[p_a, j] + arc_cost[j, n_a] - arc_cost[p_a, n_a]).astype(np.int64)
        if dl[j] < big:
            late = np.maximum(0, start - dl[j])
            bound = bound + late * int(late_cost_per_s[j]) + np.where(late > 0, breach[j], 0)
        if vehicle_node_cost is not None:
            bound = bound + vehicle_node_cost[v_a, j]
        usable = (start >= 0) & ((start <= dl[j]) if strict else True)
        bound = np.where(usable, bound, big)
        order = np.argsort(bound, kind="stable")[:max_exact]
        pos_in_route = np.concatenate(
            [np.arange(len(routes[v]) + 1) for v in cand.tolist()]
        ).astype(np.int64)
        best: tuple[int, int, int, list[int]] | None = None
        for k in order.tolist():
            if bound[k] >= big or (best is not None and bound[k] >= best[0]):
                break
            v, pos = int(v_a[k]), int(pos_in_route[k])
            sim = simulate(v, pos, j)
            if sim is None:
                continue
            extra, new = sim
            if strict and (extra > 0 or new[0] > dl[j]):
                continue
            exact = int(arc_cost[p_a[k], j] + arc_cost[j, n_a[k]] - arc_cost[p_a[k], n_a[k]])
            exact += lateness(j, new[0]) + extra
            if vehicle_node_cost is not None:
                exact += int(vehicle_node_cost[v, j])
            if best is None or exact < best[0]:
                best = (exact, v, pos, new)
        if best is None:
            return False
        _, v, pos, new = best
        routes[v].insert(pos, j)
        times[v][pos:] = new
        if demand is not None:
            load[v] += int(demand[j])
        return True

    left = [j for j in orders if not (on_time_first and insert(j, True))]
    for j in left:
        insert(j, False)
    return routes
