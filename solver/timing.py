"""The exact timing rules of a plan and its price: the one judge of every candidate plan.

Every way :func:`solver.routing.solve` finds routes (the constructions, the ruin and recreate,
OR-Tools' search, the polish) works on an approximation of the time rules somewhere: OR-Tools'
break constraint checks a visit length only against the break right after the visit, so a
visit may start inside a window hole that the model wrote as a visit length
(solver/timemodel.py); the constructions hold visits to their longest visit length, which is
stricter than the rules. This module times routes by the rules themselves — travel pauses
over the vehicle's rests (the boundary breaks of the rewrite included), the service (its own
length, not a visit length) overlaps no rest and starts inside one of the node's windows
(every hole kept), service done and the vehicle home by the horizon — and prices them in the
model's currency with overtime included, so candidates from every phase compare on one scale
(:class:`solver.incumbent.Incumbent`).

A route that cannot be timed is not thrown away: :meth:`ExactTiming.repair` keeps every
visit that can be timed and returns the others, for the insertion construction to place
again or to leave unserved.

The primitives the constructions and the ruin and recreate time routes with live here too:
travel over rests (:func:`pass_breaks` and its inverse :func:`latest_departure`), the
earliest service start (:func:`earliest_start`), overtime bands (:class:`Bands`,
:func:`visit_overtime_s`, :func:`overtime_cost`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.problem import NO_DEADLINE, RoutingInput


def pass_breaks(t: int, travel: int, rests: Sequence[tuple[int, int]]) -> int:
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


class Bands:
    """A vehicle's overtime bands on the work clock (``[a, b)`` intervals, sorted, disjoint):
    how many band seconds lie in a stretch of time."""

    def __init__(self, bands: Sequence[tuple[int, int]]) -> None:
        self.starts = [int(a) for a, _ in bands]
        self.ends = [int(b) for _, b in bands]
        self.cum: list[int] = []
        total = 0
        for a, b in zip(self.starts, self.ends, strict=True):
            self.cum.append(total)
            total += b - a

    def before(self, t: int) -> int:
        """Band seconds before ``t``."""
        k = bisect_right(self.starts, t) - 1
        if k < 0:
            return 0
        return self.cum[k] + min(t, self.ends[k]) - self.starts[k]

    def within(self, a: int, b: int) -> int:
        """Band seconds in ``[a, b)``."""
        return self.before(b) - self.before(a) if b > a else 0


def visit_overtime_s(
    route: Sequence[int],
    starts_s: Sequence[int],
    first: int,
    start_min_s: int,
    travel_s: np.ndarray,
    service_s: np.ndarray,
    rests: Sequence[tuple[int, int]],
    bands: Bands,
) -> list[int]:
    """Overtime seconds of each visit of a timed route (docs/model.md, "Visits"): its travel
    from the previous finish to its arrival (pausing over ``rests``) and its service, where
    they fall in ``bands``. The way home is not counted."""
    out, prev, t = [], first, start_min_s
    for j, s in zip(route, starts_s, strict=True):
        arrival = pass_breaks(t, int(travel_s[prev, j]), rests)
        end = s + int(service_s[j])
        out.append(bands.within(t, min(arrival, s)) + bands.within(s, end))
        prev, t = j, end
    return out


def latest_departure(arrive_by: int, travel: int, rests: Sequence[tuple[int, int]]) -> int:
    """The latest departure that arrives by ``arrive_by`` after ``travel`` seconds of work
    time, pausing during ``rests`` (sorted, not overlapping): the inverse of
    :func:`pass_breaks`."""
    if travel <= 0 or not rests:
        return arrive_by - max(0, travel)
    t, remaining = arrive_by, travel
    for start, dur in reversed(rests):
        end = start + dur
        if start >= t:
            continue  # a rest from the arrival on does not pause the way there
        if end >= t:
            t = start  # a travel does not end inside a rest: it paused at its start
            continue
        if t - remaining >= end:
            break  # leaves after this rest
        remaining -= t - end
        t = start
    return t - remaining


def visit_rows(visit_s: np.ndarray, n_v: int) -> list[list[int]]:
    """Visit lengths per vehicle as lists, from one row for all (``[n]``) or one per vehicle
    (``[vehicles, n]``, :attr:`solver.timemodel.TimeModel.visit_v`)."""
    rows = np.asarray(visit_s, dtype=np.int64)
    if rows.ndim == 1:
        one = rows.tolist()
        return [one] * n_v
    return [r.tolist() for r in rows]


def earliest_start(
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
            return s if s <= horizon else None  # s lies in the window the loop stopped at
    return None


def vehicle_rests(
    breaks: Sequence[Sequence[tuple[int, int]]],
    boundaries: Sequence[int],
    start_min_s: Sequence[int],
) -> list[list[tuple[int, int]]]:
    """Per vehicle, its breaks and a one-second rest at each boundary from its start, sorted;
    empty for a vehicle without breaks (the constructions time those by boundary crossing)."""
    n_v = len(start_min_s)
    padded = list(breaks) + [[]] * (n_v - len(breaks))
    return [
        sorted(
            [(int(s), int(d)) for s, d in b]
            + [(int(t), 1) for t in boundaries if int(t) >= int(s0) - 1]
        )
        if b
        else []
        for b, s0 in zip(padded, start_min_s, strict=True)
    ]


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
        arrival = pass_breaks(t, int(travel_s[prev, j]), rests)
        s = earliest_start(arrival, int(visit_s[j]), windows[j], rests, horizon_s)
        if s is None:
            out.extend([horizon_s + 1] * (len(route) - len(out)))
            return out
        out.append(s)
        prev, t = j, s + int(service_s[j])
    return out


def overtime_cost(
    data: RoutingInput, routes: Sequence[Sequence[int]], starts_s: Sequence[Sequence[int]]
) -> int:
    """Cost of the overtime of timed routes (order nodes and service starts per vehicle):
    ``overtime_cost_per_hour`` times the travel and service in each vehicle's bands."""
    if not data.overtime_cost_per_hour or not data.overtime_bands:
        return 0
    total = 0
    for v, (route, st) in enumerate(zip(routes, starts_s, strict=True)):
        if not route or v >= len(data.overtime_bands) or not data.overtime_bands[v]:
            continue
        rests = sorted(data.breaks[v]) if v < len(data.breaks) else []
        ot = sum(
            visit_overtime_s(
                route,
                st,
                data.starts[v],
                data.start_min_s[v],
                data.travel_s,
                data.service_s,
                rests,
                Bands(data.overtime_bands[v]),
            )
        )
        total += ot * data.overtime_cost_per_hour // 3600
    return total


def retime_cost(data: RoutingInput, nodes: np.ndarray, starts_s: np.ndarray) -> int:
    """Cost of moving promised visits: per node with a target, the hours its service start
    drifts beyond ``retime_tolerance_s`` either way times its ``retime_cost_per_hour``."""
    if data.target_s is None or data.retime_cost_per_hour is None or not len(nodes):
        return 0
    target = data.target_s[nodes]
    drift = np.maximum(0, np.abs(starts_s - target) - data.retime_tolerance_s)
    drift = np.where(target == NO_DEADLINE, 0, drift)
    return int((drift * data.retime_cost_per_hour[nodes]).sum() // 3600)


def prices_overtime(data: RoutingInput) -> bool:
    """Whether ``data`` prices overtime at all (a price and some bands)."""
    return data.overtime_cost_per_hour > 0 and any(data.overtime_bands)


@dataclass(frozen=True)
class TimedPlan:
    """Routes timed by the exact rules and priced.

    Attributes
    ----------
    routes
        Per vehicle, the order nodes in visiting order.
    starts_s
        Per vehicle, the earliest service start of each visit.
    objective
        The model's objective of these routes: arc, vehicle-node and fixed costs, lateness and
        breaches, soft route ends, overtime, and the drop penalty of every order left out.
    on_time
        Orders reached by their deadline (an order without a deadline counts): the plan's
        on-time KPI, which judges the arrival; lateness is priced on the service start.
    phase
        What produced the routes (``"greedy"``, ``"insertion"``, ``"ruin_and_recreate"``,
        ``"search"``, ``"polish"``, ``"fill"``, ``"given"`` ...).
    repaired
        Visits the exact timing took out of the candidate (and that were placed again or
        left out).
    """

    routes: list[list[int]]
    starts_s: list[list[int]]
    objective: int
    on_time: int
    phase: str
    repaired: int = 0

    def served(self) -> set[int]:
        return {j for r in self.routes for j in r}


class ExactTiming:
    """The time rules of one model (see the module docstring).

    Parameters
    ----------
    data
        The problem as given (no late twins): costs, deadlines and penalties come from it.
    windows
        Per node, the allowed service starts of the model (after the break rewrite, which
        keeps every hole; empty means any time by the horizon).
    rests
        Per vehicle, its rests ``(start, duration)`` as the model has them (boundary breaks
        included).
    """

    def __init__(
        self,
        data: RoutingInput,
        windows: Sequence[Sequence[tuple[int, int]]],
        rests: Sequence[Sequence[tuple[int, int]]],
    ) -> None:
        self.data = data
        n_v = data.n_vehicles
        self.windows = [[(int(a), int(b)) for a, b in w] for w in windows]
        self.rests = [
            sorted((int(s), int(d)) for s, d in (rests[v] if v < len(rests) else []))
            for v in range(n_v)
        ]
        self.service = [int(x) for x in data.service_s]
        self.allowed = [None if a is None else {int(v) for v in a} for a in data.allowed_vehicles]
        self.orders = data.order_nodes()
        self.deadline = np.asarray(data.deadline_s, dtype=np.int64)
        self.late_cost = np.asarray(data.late_cost_per_s, dtype=np.int64)
        self.breach = (
            np.zeros(data.n_nodes, dtype=np.int64)
            if data.breach_cost is None
            else np.asarray(data.breach_cost, dtype=np.int64)
        )
        self.drop = np.asarray(data.drop_penalty, dtype=np.int64)
        self.bands = [
            Bands(data.overtime_bands[v])
            if data.overtime_cost_per_hour > 0
            and v < len(data.overtime_bands)
            and data.overtime_bands[v]
            else None
            for v in range(n_v)
        ]

    # --- timing -----------------------------------------------------------------------

    def _start(self, v: int, t: int, prev: int, node: int) -> int | None:
        """Earliest service start of ``node`` leaving ``prev`` at ``t``, its service done by
        the horizon; None if there is none."""
        d = self.data
        arrival = pass_breaks(t, int(d.travel_s[prev, node]), self.rests[v])
        s = earliest_start(
            arrival, self.service[node], self.windows[node], self.rests[v], d.horizon_s
        )
        if s is None or s + self.service[node] > d.horizon_s:
            return None
        return s

    def _home(self, v: int, t: int, last: int) -> int:
        """Arrival at the vehicle's end leaving ``last`` at ``t``."""
        d = self.data
        return pass_breaks(t, int(d.travel_s[last, d.ends[v]]), self.rests[v])

    def starts(self, v: int, route: Sequence[int]) -> list[int] | None:
        """Earliest service starts of ``route`` on vehicle ``v``; None if a visit cannot be
        timed or the vehicle is not home by the horizon."""
        kept, starts, removed = self.repair(v, route)
        return None if removed else starts

    def repair(self, v: int, route: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
        """The visits of ``route`` that vehicle ``v`` can make, in order, with their exact
        starts, and the ones it cannot (in route order).

        A visit is taken out when it cannot be timed after the visits kept before it (no
        window reachable, a rest in the way up to the horizon), when the vehicle may not
        serve it, when it repeats an earlier visit, or when it would exceed the capacity;
        the later visits are timed from the last one kept. Visits are then taken off the end
        until the vehicle gets home by the horizon.
        """
        d = self.data
        kept: list[int] = []
        starts: list[int] = []
        removed: list[int] = []
        seen: set[int] = set()
        cap = None if d.capacity is None or d.demand is None else int(d.capacity[v])
        load = 0
        prev, t = int(d.starts[v]), int(d.start_min_s[v])
        for node in (int(j) for j in route):
            allowed = self.allowed[node]
            need = 0 if cap is None or d.demand is None else int(d.demand[node])
            s = None
            if (
                node not in seen
                and (allowed is None or v in allowed)
                and (cap is None or load + need <= cap)
            ):
                s = self._start(v, t, prev, node)
            seen.add(node)
            if s is None:
                removed.append(node)
                continue
            kept.append(node)
            starts.append(s)
            load += need
            prev, t = node, s + self.service[node]
        while kept and self._home(v, t, prev) > d.horizon_s:
            removed.insert(0, kept.pop())
            starts.pop()
            prev = kept[-1] if kept else int(d.starts[v])
            t = starts[-1] + self.service[prev] if kept else int(d.start_min_s[v])
        return kept, starts, removed

    def _arrivals(self, v: int, route: Sequence[int], starts_s: Sequence[int]) -> list[int]:
        """When vehicle ``v`` reaches each visit of its timed route (before any wait)."""
        d = self.data
        out = []
        prev, t = int(d.starts[v]), int(d.start_min_s[v])
        for j, s in zip(route, starts_s, strict=True):
            out.append(pass_breaks(t, int(d.travel_s[prev, j]), self.rests[v]))
            prev, t = j, int(s) + self.service[j]
        return out

    # --- price ------------------------------------------------------------------------

    def price(
        self, routes: Sequence[Sequence[int]], starts_s: Sequence[Sequence[int]]
    ) -> tuple[int, int]:
        """The objective and on-time count of exactly timed routes (see :class:`TimedPlan`)."""
        d = self.data
        total = 0
        on_time = 0
        served: set[int] = set()
        for v, (route, st) in enumerate(zip(routes, starts_s, strict=True)):
            if not route:
                continue
            served.update(route)
            path = [int(d.starts[v]), *route, int(d.ends[v])]
            total += int(d.arc_cost[path[:-1], path[1:]].sum())
            if d.vehicle_node_cost is not None:
                total += int(d.vehicle_node_cost[v, route].sum())
            if d.vehicle_fixed_cost is not None:
                total += int(d.vehicle_fixed_cost[v])
            nodes = np.asarray(route, dtype=np.int64)
            s = np.asarray(st, dtype=np.int64)
            dl = self.deadline[nodes]
            late = np.where(dl == NO_DEADLINE, 0, np.maximum(0, s - dl))
            arrival = np.asarray(self._arrivals(v, route, st), dtype=np.int64)
            on_time += int(((dl == NO_DEADLINE) | (arrival <= dl)).sum())
            total += int((late * self.late_cost[nodes]).sum())
            total += int(self.breach[nodes][late > 0].sum())
            if d.end_soft_max_s is not None and d.end_late_cost_per_s > 0:
                home = self._home(v, int(st[-1]) + self.service[route[-1]], route[-1])
                total += max(0, home - int(d.end_soft_max_s[v])) * d.end_late_cost_per_s
            bands = self.bands[v]
            if bands is not None:
                ot = visit_overtime_s(
                    route,
                    st,
                    int(d.starts[v]),
                    int(d.start_min_s[v]),
                    d.travel_s,
                    d.service_s,
                    self.rests[v],
                    bands,
                )
                total += sum(ot) * d.overtime_cost_per_hour // 3600
            total += retime_cost(d, nodes, s)
        total += int(sum(int(self.drop[j]) for j in self.orders if j not in served))
        return total, on_time

    def plan(self, routes: Sequence[Sequence[int]], phase: str) -> tuple[TimedPlan, list[int]]:
        """``routes`` repaired (:meth:`repair`), timed and priced, and the visits taken out."""
        kept: list[list[int]] = []
        starts: list[list[int]] = []
        removed: list[int] = []
        for v in range(self.data.n_vehicles):
            route = routes[v] if v < len(routes) else []
            k, s, r = self.repair(v, route)
            kept.append(k)
            starts.append(s)
            removed.extend(r)
        objective, on_time = self.price(kept, starts)
        return TimedPlan(kept, starts, objective, on_time, phase, len(removed)), removed
