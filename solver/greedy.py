"""A fast greedy first solution over a :class:`~solver.problem.RoutingInput`.

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
a starting point only; the local search does the rest. :mod:`solver.insertion` is the
better start.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from solver.problem import NO_DEADLINE, RoutingInput
from solver.timing import earliest_start, pass_breaks, vehicle_rests, visit_rows


def greedy_routes(
    data: RoutingInput,
    visit_s: np.ndarray | None = None,
    boundaries: Sequence[int] = (),
) -> list[list[int]]:
    """Routes (order nodes per vehicle) that satisfy every hard constraint of the model.

    Parameters
    ----------
    data
        The problem (its travel and arc costs, service, vehicles, windows, allowed vehicles,
        drop penalties, deadlines, lateness and breach costs, breaks, vehicle-node costs,
        demand and capacity; the rest is not used).
    visit_s, boundaries
        Visit lengths and boundaries of the model's time rewrite (solver/timemodel.py).

    Returns
    -------
    list[list[int]]
        Per vehicle, the order nodes in visiting order; orders no vehicle could take are
        absent.
    """
    travel_s, arc_cost, service_s = data.travel_s, data.arc_cost, data.service_s
    starts, ends, start_min_s, horizon_s = data.starts, data.ends, data.start_min_s, data.horizon_s
    windows, allowed_vehicles = data.windows, data.allowed_vehicles
    drop_penalty, deadline_s, late_cost_per_s = (
        data.drop_penalty,
        data.deadline_s,
        data.late_cost_per_s,
    )
    breaks, vehicle_node_cost, breach_cost = data.breaks, data.vehicle_node_cost, data.breach_cost
    demand, capacity = data.demand, data.capacity
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
    rests = vehicle_rests(breaks, boundaries, start_min_s)
    visit = visit_rows(service_s if visit_s is None else visit_s, n_v)

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
            arr = pass_breaks(int(t_free[v]), int(travel_s[last[v], j]), rests[v])
            s = earliest_start(arr, visit[v][j], wins, rests[v], horizon_s)
            start[k] = -1 if s is None else s
        finish = start + svc
        back = crossed(finish, travel_s[j, end_node[cand]])
        for k in rested:
            if start[k] >= 0:
                v = int(cand[k])
                back[k] = pass_breaks(int(finish[k]), int(travel_s[j, end_node[v]]), rests[v])
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
