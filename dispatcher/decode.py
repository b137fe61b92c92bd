"""Decode solver routes into a :class:`~dispatcher.domain.Plan` (docs/model.md).

The schedule is recomputed forward from the visiting order: leave as early as work
time allows, travel through work windows (pausing over rest), wait for the site and
for a work window long enough for the service. Earliest times are feasible whenever
the solver's were, since waiting is always allowed.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dispatcher.compile import Compiled, start_instant
from dispatcher.domain import (
    Kpis,
    LateOrder,
    Location,
    Overnight,
    Plan,
    ReturnLeg,
    Route,
    UnassignedOrder,
    Visit,
)
from dispatcher.explain import explain_late, explain_unassigned
from dispatcher.timeline import (
    advance,
    earliest_fit,
    first_work_instant,
    from_s,
    overlap,
    overtime_bands,
    rest_gaps,
    site_windows_s,
    to_s,
    work_time_between,
)
from dispatcher.travel import geodesic_km

HOME_RADIUS_KM = 1.0


def _mode(c: Compiled, i: int, j: int) -> str:
    if i == j or c.travel.seconds[i, j] == 0:
        return "none" if c.travel.km[i, j] == 0 else "drive"
    return "flight" if bool(c.travel.flight[i, j]) else "drive"


def _near_home(loc: Location, home: Location) -> bool:
    return float(geodesic_km(loc.lat, loc.lon, home.lat, home.lon)) <= HOME_RADIUS_KM


def decode_route(c: Compiled, v: int, nodes: list[int]) -> tuple[Route, list[Visit]]:
    problem = c.problem
    origin = problem.planning_start
    e = problem.engineers[v]
    work = c.work[v]
    bands = overtime_bands(e, origin)
    shifts = [(to_s(x.start, origin), to_s(x.end, origin)) for x in e.shifts]
    start = c.start_s[v]
    if not nodes or start is None:
        return Route(engineer_id=e.id, visits=()), []
    t = start
    prev = v  # start node
    visits: list[Visit] = []
    legs: list[tuple[int, int, int, str]] = []  # (depart, arrive, from node, place) for overnights
    places: list[tuple[int, int, str, Location]] = [(start, start, "start", e.start_location)]
    for node in nodes:
        order = c.node_order[node]
        travel = int(c.travel.seconds[prev, node])
        dep = first_work_instant(work, t)
        dep = t if dep is None else dep
        arr = advance(work, dep, travel, open_end=True)
        assert arr is not None
        service = order.service_minutes * 60
        site = site_windows_s(order.site_windows, origin)
        begin = earliest_fit(work, site, arr, service)
        if begin is None:  # unreachable when the solver's schedule is feasible; keep it visible
            begin = arr
        end = begin + service
        deadline = problem.policy.deadline(order)
        dl = to_s(deadline, origin)
        # Overtime: service in a band, plus travel that regular shift time could not hold.
        ot = max(0, travel - work_time_between(shifts, dep, arr)) + overlap(begin, end, bands)
        visits.append(
            Visit(
                order_id=order.id,
                travel_mode=_mode(c, prev, node),
                travel_km=float(c.travel.km[prev, node]),
                travel_minutes=travel / 60.0,
                departure=from_s(dep, origin),
                arrival=from_s(arr, origin),
                start=from_s(begin, origin),
                end=from_s(end, origin),
                deadline=deadline,
                slack_minutes=(dl - arr) / 60.0,
                on_time=arr <= dl,
                overtime_minutes=ot / 60.0,
            )
        )
        legs.append((dep, arr, prev, order.site.name or order.id))
        places.append((arr, end, order.site.name or order.id, order.site.location))
        prev = node
        t = end
    home_node = len(problem.engineers) + v
    back = int(c.travel.seconds[prev, home_node])
    dep = first_work_instant(work, t)
    dep = t if dep is None else dep
    arr = advance(work, dep, back, open_end=True)
    assert arr is not None
    ret = ReturnLeg(
        travel_mode=_mode(c, prev, home_node),
        travel_km=float(c.travel.km[prev, home_node]),
        travel_minutes=back / 60.0,
        departure=from_s(dep, origin),
        arrival=from_s(arr, origin),
    )
    legs.append((dep, arr, prev, "home"))
    # Nights are counted from when the engineer is on duty by their own calendar, which
    # can be earlier than the solver calendar lets them start work.
    on_duty = start_instant(problem, e, c.rest_work[v])
    overnights = _overnights(
        c, v, start if on_duty is None else min(on_duty, start), arr, legs, places
    )
    route = Route(
        engineer_id=e.id,
        visits=tuple(visits),
        overnights=tuple(overnights),
        return_leg=ret,
        start_location=e.start_location,
        start_time=from_s(start, origin),
    )
    return route, visits


def _overnights(
    c: Compiled,
    v: int,
    start: int,
    home_at: int,
    legs: list[tuple[int, int, int, str]],
    places: list[tuple[int, int, str, Location]],
) -> list[Overnight]:
    problem = c.problem
    e = problem.engineers[v]
    tz = ZoneInfo(e.timezone)
    out = []
    for a, b in rest_gaps(c.rest_work[v]):
        if not (a < home_at and b > start):
            continue
        where: Location = e.start_location
        place = "start"
        for dep, arr, from_node, dest in legs:
            if dep <= a < arr:
                where = _node_location(c, from_node)
                place = f"en route to {dest}"
                break
        else:
            for arrived, _, name, loc in places:
                if arrived <= a:
                    where, place = loc, name
        # A leg in progress rests at its origin (docs/model.md): from home, that is home.
        hotel = not _near_home(where, e.home)
        if not hotel:
            place = "home"
        night_of = from_s(a, problem.planning_start).astimezone(tz).date().isoformat()
        out.append(Overnight(night_of=night_of, location=where, hotel=hotel, place=place))
    return out


def _node_location(c: Compiled, node: int) -> Location:
    n_v = len(c.problem.engineers)
    if node < n_v:
        return c.problem.engineers[node].start_location
    if node < 2 * n_v:
        return c.problem.engineers[node - n_v].home
    return c.node_order[node].site.location


def decode(
    c: Compiled,
    routes: list[list[int]],
    status: str,
    meta: dict[str, object],
    untried: frozenset[str] = frozenset(),
) -> Plan:
    """Turn per-engineer node sequences into a Plan with reasons and KPIs. ``untried``: ids
    of the orders no phase of the solve tried to place before its time ran out."""
    problem = c.problem
    plan_routes: list[Route] = []
    all_visits: list[Visit] = []
    for v, nodes in enumerate(routes):
        route, visits = decode_route(c, v, nodes)
        plan_routes.append(route)
        all_visits.extend(visits)
    served = {vis.order_id for vis in all_visits}
    orders = {o.id: o for o in problem.orders}
    late = []
    for vis in all_visits:
        if not vis.on_time:
            reason, detail = explain_late(c, orders[vis.order_id], vis.deadline)
            late.append(LateOrder(vis.order_id, -vis.slack_minutes, reason, detail))
    unassigned = []
    for order in problem.orders:
        if order.id not in served:
            reason, detail = explain_unassigned(c, order, order.id not in untried)
            unassigned.append(UnassignedOrder(order.id, reason, detail))
    on_time = sum(1 for vis in all_visits if vis.on_time)
    legs_km = sum(vis.travel_km for vis in all_visits) + sum(
        r.return_leg.travel_km for r in plan_routes if r.return_leg
    )
    legs_min = sum(vis.travel_minutes for vis in all_visits) + sum(
        r.return_leg.travel_minutes for r in plan_routes if r.return_leg
    )
    kpis = Kpis(
        orders=len(problem.orders),
        assigned=len(all_visits),
        on_time=on_time,
        late=len(all_visits) - on_time,
        unassigned=len(unassigned),
        on_time_rate=on_time / len(problem.orders) if problem.orders else 1.0,
        travel_km=legs_km,
        travel_hours=legs_min / 60.0,
        overtime_minutes=sum(vis.overtime_minutes for vis in all_visits),
        hotel_nights=sum(1 for r in plan_routes for n in r.overnights if n.hotel),
        engineers_used=sum(1 for r in plan_routes if r.visits),
    )
    if status == "no_solution":
        final = "no_solution"
    elif late or unassigned:
        final = "infeasible_orders"
    else:
        final = status
    return Plan(
        status=final,
        kpis=kpis,
        routes=tuple(plan_routes),
        late=tuple(late),
        unassigned=tuple(unassigned),
        meta=meta,
    )
