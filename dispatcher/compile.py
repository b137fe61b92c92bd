"""Compile a :class:`~dispatcher.domain.Problem` into solver arrays.

Node layout: ``[start of each engineer][end (home) of each engineer][orders]``.
Orders that no engineer may serve at all (skills, exclusions, pins, overseas
permission, no usable site window) are kept out of the model; :mod:`dispatcher.explain`
gives them their reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dispatcher.domain import Engineer, Order, Problem
from dispatcher.timeline import Interval, first_work_instant, rest_gaps, site_windows_s, to_s, work_windows
from dispatcher.travel import GeodesicTravelTimes, TravelMatrix, TravelTimes
from solver.routing import NO_DEADLINE, RoutingInput


@dataclass(frozen=True)
class Compiled:
    problem: Problem
    data: RoutingInput
    travel: TravelMatrix
    order_node: dict[str, int]  # order id -> node (only modelled orders)
    node_order: dict[int, Order]
    work: list[list[Interval]]  # per engineer, all work windows (not clipped to the horizon)
    start_s: list[int | None]  # per engineer, first work instant (None: cannot work)
    left_out: list[Order]  # orders kept out of the model


def eligible_engineers(problem: Problem, order: Order) -> list[int]:
    """Engineers allowed to serve ``order`` by the hard rules (skills, exclusions, pin, overseas)."""
    overseas = problem.policy.is_overseas(order)
    out = []
    for v, e in enumerate(problem.engineers):
        if not order.required_skills <= e.skills:
            continue
        if e.id in order.excluded_engineers:
            continue
        if overseas and not e.can_travel_overseas:
            continue
        if order.pinned_engineer is not None and e.id != order.pinned_engineer:
            continue
        out.append(v)
    return out


def start_instant(problem: Problem, engineer: Engineer, work: list[Interval]) -> int | None:
    """First work instant at or after max(planning start, available_from)."""
    t = 0
    if engineer.current is not None:
        t = max(0, to_s(engineer.current.available_from, problem.planning_start))
    return first_work_instant(work, t)


def usable_site_windows(order: Order, problem: Problem, horizon_s: int) -> list[Interval] | None:
    """Allowed service-start intervals inside the horizon; None when the site never fits."""
    if not order.site_windows:
        return []
    service = order.service_minutes * 60
    out = []
    for a, b in site_windows_s(order.site_windows, problem.planning_start):
        lo, hi = max(0, a), min(b - service, horizon_s)
        if lo <= hi:
            out.append((lo, hi))
    return out or None


def compile_problem(problem: Problem, travel: TravelTimes | None = None) -> Compiled:
    """Build the solver input: matrices, windows, breaks, costs."""
    travel = travel or GeodesicTravelTimes(problem.policy.travel)
    w = problem.policy.weights
    engs = problem.engineers
    n_v = len(engs)
    horizon_s = problem.horizon_hours * 3600
    origin = problem.planning_start

    work = [work_windows(e, origin) for e in engs]
    start_s = [start_instant(problem, e, work[v]) for v, e in enumerate(engs)]
    for v in range(n_v):
        if start_s[v] is not None and start_s[v] >= horizon_s:  # type: ignore[operator]
            start_s[v] = None

    modelled: list[tuple[Order, list[int], list[Interval]]] = []
    left_out: list[Order] = []
    for order in problem.orders:
        allowed = [v for v in eligible_engineers(problem, order) if start_s[v] is not None]
        wins = usable_site_windows(order, problem, horizon_s)
        if not allowed or wins is None:
            left_out.append(order)
        else:
            modelled.append((order, allowed, wins))

    points = [e.start_location for e in engs] + [e.home for e in engs] + [o.site.location for o, _, _ in modelled]
    tm = travel.matrix(points)
    n = len(points)
    ends = list(range(n_v, 2 * n_v))

    travel_s = tm.seconds.copy()
    travel_s[:, ends] = 0  # the return home happens after the plan: it costs, it does not take plan time
    arc_cost = np.rint(tm.seconds * (w.travel_per_hour / 3600.0) + tm.km * w.travel_per_km).astype(np.int64)

    service = np.zeros(n, dtype=np.int64)
    drop = np.zeros(n, dtype=np.int64)
    deadline = np.full(n, NO_DEADLINE, dtype=np.int64)
    late_cost = np.zeros(n, dtype=np.int64)
    windows: list[list[Interval]] = [[] for _ in range(n)]
    allowed_vehicles: list[list[int] | None] = [None] * n
    pref_cost = np.zeros((n_v, n), dtype=np.int64)
    order_node: dict[str, int] = {}
    node_order: dict[int, Order] = {}
    for k, (order, allowed, wins) in enumerate(modelled):
        node = 2 * n_v + k
        factor = w.priority_factor[order.priority]
        service[node] = order.service_minutes * 60
        drop[node] = w.unassigned * factor
        deadline[node] = max(0, to_s(problem.policy.deadline(order), origin))
        late_cost[node] = max(1, w.late_per_minute * factor // 60)
        windows[node] = wins
        allowed_vehicles[node] = allowed if len(allowed) < n_v else None
        if order.preferred_engineers:
            preferred = set(order.preferred_engineers)
            for v, e in enumerate(engs):
                if e.id not in preferred:
                    pref_cost[v, node] = w.not_preferred * factor
        order_node[order.id] = node
        node_order[node] = order

    breaks: list[list[tuple[int, int]]] = []
    start_min: list[int] = []
    for v in range(n_v):
        s = start_s[v]
        if s is None:
            # Cannot work in the horizon: rest all along, and no order lists it as allowed.
            breaks.append([])
            start_min.append(0)
            continue
        start_min.append(s)
        inside = [(a, min(b, horizon_s)) for a, b in work[v] if b > s and a < horizon_s]
        rests = [(a, b - a) for a, b in rest_gaps(inside) if b > s]
        if inside and inside[-1][1] < horizon_s:
            rests.append((inside[-1][1], horizon_s - inside[-1][1]))  # no work after the last shift
        breaks.append(rests)

    data = RoutingInput(
        travel_s=travel_s,
        arc_cost=arc_cost,
        service_s=service,
        starts=list(range(n_v)),
        ends=ends,
        start_min_s=start_min,
        start_max_s=[horizon_s] * n_v,
        horizon_s=horizon_s,
        windows=windows,
        allowed_vehicles=allowed_vehicles,
        drop_penalty=drop,
        deadline_s=deadline,
        late_cost_per_s=late_cost,
        breaks=breaks,
        vehicle_node_cost=pref_cost if pref_cost.any() else None,
    )
    return Compiled(
        problem=problem,
        data=data,
        travel=tm,
        order_node=order_node,
        node_order=node_order,
        work=work,
        start_s=start_s,
        left_out=left_out,
    )
