"""Independent plan checker.

:func:`check_plan` recomputes everything a plan claims from the :class:`Problem` alone, in
plain Python, following ``docs/model.md``: order accounting, eligibility (skills, exclusions,
pins, overseas travel), the time line of every route, every travel leg against the travel
model (with ``geopy``'s geodesic as the distance reference, not the product's vectorised
one), deadlines and lateness, overnights and the KPIs.

It deliberately imports nothing of the product beyond the domain types, so that a bug in
the travel model, the compiler, the solver or the decoder cannot hide itself here.

Tolerances absorb the plan format's rounding (minutes and km to 0.1, instants to the
second) and the difference between the product's geodesic approximation and geopy's:

========================  =================================
quantity                  tolerance
========================  =================================
instants                  1 s
leg km                    0.5 % + 0.2 km
leg minutes               0.5 % + 0.2 min
slack / minutes late      0.2 min
visit overtime            0.5 min
KPI travel_km             0.5 % + 1 km
KPI travel_hours          0.5 % + 0.05 h
KPI overtime_minutes      1 min
KPI on_time_rate          1e-3
========================  =================================
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from geopy.distance import geodesic

from dispatcher.domain import Engineer, Location, Order, Plan, Problem, Route

TIME_TOL_S = 1.0
KM_REL, KM_ABS = 0.005, 0.2
MIN_REL, MIN_ABS = 0.005, 0.2
SLACK_TOL_MIN = 0.2
OVERTIME_TOL_MIN = 0.5
HOME_RADIUS_KM = 1.0
HOME_RADIUS_TOL_KM = 0.05
SAME_PLACE_KM = 0.5
KPI_KM_REL, KPI_KM_ABS = 0.005, 1.0
KPI_HOURS_REL, KPI_HOURS_ABS = 0.005, 0.05
KPI_OVERTIME_TOL_MIN = 1.0
KPI_RATE_TOL = 1e-3
STATUSES = ("optimal", "feasible", "infeasible_orders", "no_solution")

Interval = tuple[float, float]  # [start, end] in epoch seconds


@dataclass(frozen=True)
class Violation:
    """One finding of :func:`check_plan`.

    Attributes
    ----------
    code
        Short stable identifier, e.g. ``"skill_missing"``.
    message
        Human sentence naming the order/engineer and the numbers involved.
    order_id, engineer_id
        The order and engineer concerned, when there is one.
    hard
        ``True`` when the plan breaks a rule of the model; ``False`` for a soft finding
        (legal but suspicious, e.g. an arrival later than the travel allows).
    """

    code: str
    message: str
    order_id: str | None = None
    engineer_id: str | None = None
    hard: bool = True


# ------------------------------------------------------------------------- helpers


def _ts(dt: datetime) -> float:
    """Epoch seconds of an aware datetime (an instant, whatever its offset)."""
    return dt.timestamp()


def _iso(ts: float) -> str:
    if math.isinf(ts):
        return "+inf" if ts > 0 else "-inf"
    return datetime.fromtimestamp(round(ts), UTC).isoformat().replace("+00:00", "Z")


def _geo_km(a: Location, b: Location) -> float:
    if (a.lat, a.lon) == (b.lat, b.lon):
        return 0.0
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).km)


def _close(value: float, expected: float, rel: float, abs_: float) -> bool:
    return abs(value - expected) <= rel * abs(expected) + abs_


def _overlap(intervals: Iterable[Interval], a: float, b: float) -> float:
    """Length of ``[a, b]`` covered by ``intervals`` (disjoint), in seconds."""
    return sum(max(0.0, min(b, e) - max(a, s)) for s, e in intervals)


def _inside_one(intervals: Iterable[Interval], a: float, b: float) -> bool:
    return any(s - TIME_TOL_S <= a and b <= e + TIME_TOL_S for s, e in intervals)


def _work_windows(engineer: Engineer) -> list[Interval]:
    """Shifts extended by the overtime allowance at their end, merged where they touch."""
    ot = engineer.max_overtime_minutes * 60.0
    raw = sorted((_ts(s.start), _ts(s.end) + ot) for s in engineer.shifts)
    merged: list[Interval] = []
    for s, e in raw:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _overtime_bands(engineer: Engineer) -> list[Interval]:
    """The parts of the work windows after a shift's end that no shift covers."""
    ot = engineer.max_overtime_minutes * 60.0
    shifts = sorted((_ts(s.start), _ts(s.end)) for s in engineer.shifts)
    bands: list[Interval] = []
    for i, (_, end) in enumerate(shifts):
        stop = end + ot
        if i + 1 < len(shifts):
            stop = min(stop, shifts[i + 1][0])
        if stop > end:
            bands.append((end, stop))
    return bands


def _first_work_instant(windows: list[Interval], t: float) -> float | None:
    for s, e in windows:
        if t < e:
            return max(s, t)
    return None


def _policy_deadline(problem: Problem, order: Order) -> datetime:
    if order.deadline is not None:
        return order.deadline
    policy = problem.policy
    if order.commitment is not None:
        cls = order.commitment
    else:
        cls = "domestic" if order.site.country == policy.home_country else "overseas"
    return order.received_at + timedelta(hours=policy.commitments[cls])


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class _Leg:
    """One travel leg of a route, as the plan states it and as the model expects it."""

    label: str  # "to order X" / "return home"
    order_id: str | None
    origin: Location
    dest: Location
    mode: str  # as declared by the plan
    km: float
    minutes: float
    departure: float
    arrival: float
    geo_km: float
    model_mode: str  # what the model says (one of ok_modes)
    ok_modes: frozenset[str]
    expected_km: float  # for the declared mode when acceptable, else the model's
    expected_minutes: float


def _make_leg(
    problem: Problem,
    label: str,
    order_id: str | None,
    origin: Location,
    dest: Location,
    mode: str,
    km: float,
    minutes: float,
    departure: datetime,
    arrival: datetime,
) -> _Leg:
    p = problem.policy.travel
    geo = _geo_km(origin, dest)
    road = geo * p.circuity

    def expect(m: str) -> tuple[float, float]:
        if m == "drive":
            return road, road / p.drive_kmh * 60.0
        if m == "flight":
            return geo, (p.flight_overhead_h + geo / p.flight_kmh) * 60.0
        return 0.0, 0.0

    model_mode = "drive" if road <= p.max_drive_km else "flight"
    ok = {model_mode}
    if abs(road - p.max_drive_km) <= KM_REL * p.max_drive_km + KM_ABS:
        ok |= {"drive", "flight"}  # on the switch: the product's geodesic may fall either side
    if road <= KM_ABS:
        ok.add("none")  # a zero-length leg
    exp_km, exp_min = expect(mode if mode in ok else model_mode)
    return _Leg(
        label=label,
        order_id=order_id,
        origin=origin,
        dest=dest,
        mode=mode,
        km=km,
        minutes=minutes,
        departure=_ts(departure),
        arrival=_ts(arrival),
        geo_km=geo,
        model_mode=model_mode,
        ok_modes=frozenset(ok),
        expected_km=exp_km,
        expected_minutes=exp_min,
    )


@dataclass(frozen=True)
class _RouteInfo:
    """A route with what the checker derives for it from the problem."""

    index: int
    route: Route
    engineer: Engineer | None
    windows: list[Interval]
    bands: list[Interval]
    earliest: float  # max(planning_start, current.available_from)
    start: float  # the model's route start: first work instant at or after ``earliest``
    origin: Location | None  # where the first leg starts
    legs: list[_Leg | None]  # one per visit; None when an order is unknown
    return_leg: _Leg | None

    @property
    def who(self) -> str:
        return f"engineer {self.route.engineer_id}"


@dataclass(frozen=True)
class _Context:
    problem: Problem
    plan: Plan
    orders: dict[str, Order]
    engineers: dict[str, Engineer]
    routes: list[_RouteInfo]


def _route_info(problem: Problem, index: int, route: Route, orders: dict[str, Order]) -> _RouteInfo:
    engineer = problem.engineer(route.engineer_id)
    windows = _work_windows(engineer) if engineer else []
    bands = _overtime_bands(engineer) if engineer else []
    earliest = _ts(problem.planning_start)
    if engineer and engineer.current is not None:
        earliest = max(earliest, _ts(engineer.current.available_from))
    first = _first_work_instant(windows, earliest)
    start = first if first is not None else earliest
    origin: Location | None = route.start_location
    if origin is None and engineer is not None:
        origin = engineer.current.location if engineer.current else engineer.home
    legs: list[_Leg | None] = []
    here = origin
    for v in route.visits:
        order = orders.get(v.order_id)
        if order is None or here is None:
            legs.append(None)
            here = order.site.location if order else None
            continue
        dest = order.site.location
        legs.append(
            _make_leg(
                problem,
                f"leg to order {v.order_id}",
                v.order_id,
                here,
                dest,
                v.travel_mode,
                v.travel_km,
                v.travel_minutes,
                v.departure,
                v.arrival,
            )
        )
        here = dest
    ret = None
    r = route.return_leg
    if r is not None and here is not None and engineer is not None:
        ret = _make_leg(
            problem,
            "return leg home",
            None,
            here,
            engineer.home,
            r.travel_mode,
            r.travel_km,
            r.travel_minutes,
            r.departure,
            r.arrival,
        )
    return _RouteInfo(index, route, engineer, windows, bands, earliest, start, origin, legs, ret)


def _context(problem: Problem, plan: Plan) -> _Context:
    orders = {o.id: o for o in problem.orders}
    return _Context(
        problem=problem,
        plan=plan,
        orders=orders,
        engineers={e.id: e for e in problem.engineers},
        routes=[_route_info(problem, i, r, orders) for i, r in enumerate(plan.routes)],
    )


Check = Callable[[_Context], Iterable[Violation]]


# -------------------------------------------------------------------------- checks


def check_status(ctx: _Context) -> Iterator[Violation]:
    """``status`` is one of the contract's values."""
    if ctx.plan.status not in STATUSES:
        yield Violation(
            "status_unknown",
            f"plan status {ctx.plan.status!r} is not one of {', '.join(STATUSES)}",
        )


def check_order_accounting(ctx: _Context) -> Iterator[Violation]:
    """Every order appears exactly once in the routes and ``unassigned[]``, nothing else."""
    seen: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for info in ctx.routes:
        for v in info.route.visits:
            seen[v.order_id] += 1
            where.setdefault(v.order_id, []).append(f"route of {info.route.engineer_id}")
    for u in ctx.plan.unassigned:
        seen[u.order_id] += 1
        where.setdefault(u.order_id, []).append("unassigned[]")
    for oid, n in seen.items():
        if oid not in ctx.orders:
            yield Violation(
                "order_unknown",
                f"order {oid} appears in the plan ({', '.join(where[oid])}) but not in the problem",
                order_id=oid,
            )
        elif n > 1:
            yield Violation(
                "order_duplicated",
                f"order {oid} appears {n} times in the plan ({', '.join(where[oid])})",
                order_id=oid,
            )
    for oid in ctx.orders:
        if seen[oid] == 0:
            yield Violation(
                "order_missing",
                f"order {oid} is neither visited nor listed in unassigned[]",
                order_id=oid,
            )


def check_route_engineers(ctx: _Context) -> Iterator[Violation]:
    """Each route's engineer exists and has one route only."""
    counts = Counter(info.route.engineer_id for info in ctx.routes)
    for info in ctx.routes:
        eid = info.route.engineer_id
        if info.engineer is None:
            yield Violation(
                "engineer_unknown",
                f"routes[{info.index}] is for engineer {eid}, who is not in the problem",
                engineer_id=eid,
            )
    for eid, n in counts.items():
        if n > 1:
            yield Violation(
                "engineer_duplicated_route",
                f"engineer {eid} has {n} routes; expected at most one",
                engineer_id=eid,
            )


def _visits_with_order(ctx: _Context) -> Iterator[tuple[_RouteInfo, int, Order]]:
    for info in ctx.routes:
        for i, v in enumerate(info.route.visits):
            order = ctx.orders.get(v.order_id)
            if order is not None:
                yield info, i, order


def check_skills(ctx: _Context) -> Iterator[Violation]:
    """The visiting engineer has every skill the order requires."""
    for info, _, order in _visits_with_order(ctx):
        if info.engineer is None:
            continue
        missing = order.required_skills - info.engineer.skills
        if missing:
            yield Violation(
                "skill_missing",
                f"order {order.id} requires {', '.join(sorted(missing))}, which {info.who} "
                f"lacks (has {', '.join(sorted(info.engineer.skills)) or 'none'})",
                order_id=order.id,
                engineer_id=info.route.engineer_id,
            )


def check_excluded(ctx: _Context) -> Iterator[Violation]:
    """No order is visited by an engineer it excludes."""
    for info, _, order in _visits_with_order(ctx):
        if info.route.engineer_id in order.excluded_engineers:
            yield Violation(
                "engineer_excluded",
                f"order {order.id} excludes {info.who}, who visits it",
                order_id=order.id,
                engineer_id=info.route.engineer_id,
            )


def check_pinned(ctx: _Context) -> Iterator[Violation]:
    """A pinned order is visited by its pinned engineer (or not at all)."""
    for info, _, order in _visits_with_order(ctx):
        pin = order.pinned_engineer
        if pin and info.route.engineer_id != pin:
            yield Violation(
                "pinned_engineer_ignored",
                f"order {order.id} is pinned to engineer {pin} but visited by {info.who}",
                order_id=order.id,
                engineer_id=info.route.engineer_id,
            )


def check_overseas(ctx: _Context) -> Iterator[Violation]:
    """Overseas sites are visited only by engineers allowed to travel overseas."""
    home = ctx.problem.policy.home_country
    for info, _, order in _visits_with_order(ctx):
        eng = info.engineer
        if eng is not None and order.site.country != home and not eng.can_travel_overseas:
            yield Violation(
                "overseas_not_allowed",
                f"order {order.id} is overseas ({order.site.country}, home country {home}) "
                f"but {info.who} may not travel overseas",
                order_id=order.id,
                engineer_id=eng.id,
            )


def check_route_start(ctx: _Context) -> Iterator[Violation]:
    """The stated route start is where the engineer is, not before they are free."""
    for info in ctx.routes:
        eng, r = info.engineer, info.route
        if eng is None:
            continue
        if r.start_time is not None:
            t = _ts(r.start_time)
            if t < info.earliest - TIME_TOL_S:
                yield Violation(
                    "route_start_early",
                    f"{info.who}'s route starts at {_iso(t)}, before {_iso(info.earliest)} "
                    "(planning start / available_from)",
                    engineer_id=eng.id,
                )
            elif t > info.start + TIME_TOL_S:
                yield Violation(
                    "route_start_late",
                    f"{info.who}'s route starts at {_iso(t)}, after the first work instant "
                    f"{_iso(info.start)}",
                    engineer_id=eng.id,
                    hard=False,
                )
        if r.start_location is not None:
            expected = eng.current.location if eng.current else eng.home
            d = _geo_km(r.start_location, expected)
            if d > 1e-3:
                what = "current location" if eng.current else "home"
                yield Violation(
                    "route_start_location",
                    f"{info.who}'s route starts at ({r.start_location.lat}, "
                    f"{r.start_location.lon}), {d:.1f} km from their {what} "
                    f"({expected.lat}, {expected.lon})",
                    engineer_id=eng.id,
                )


def check_in_progress(ctx: _Context) -> Iterator[Violation]:
    """A visit under way is neither planned again nor overlapped: its engineer's next leg
    leaves the site no earlier than the visit's expected end."""
    for visit in ctx.problem.in_progress:
        for info in ctx.routes:
            for v in info.route.visits:
                if v.order_id == visit.order_id:
                    yield Violation(
                        "in_progress_planned",
                        f"order {visit.order_id} is under way with engineer "
                        f"{visit.engineer_id} but planned again ({info.who})",
                        order_id=visit.order_id,
                    )
            if info.route.engineer_id != visit.engineer_id or not info.route.visits:
                continue
            first = info.route.visits[0]
            if _ts(first.departure) < _ts(visit.expected_end) - TIME_TOL_S:
                yield Violation(
                    "in_progress_overlap",
                    f"{info.who} leaves for {first.order_id} at {_iso(_ts(first.departure))}, "
                    f"during the visit under way at {visit.order_id} (until "
                    f"{_iso(_ts(visit.expected_end))})",
                    engineer_id=visit.engineer_id,
                    order_id=first.order_id,
                )


def check_time_order(ctx: _Context) -> Iterator[Violation]:
    """departure >= previous end, arrival >= departure, start >= arrival, end = start + service."""
    for info in ctx.routes:
        r, eid = info.route, info.route.engineer_id
        prev_end = _ts(r.start_time) if r.start_time is not None else info.earliest
        prev_what = "the route start"
        for v in r.visits:
            dep, arr, start, end = (_ts(v.departure), _ts(v.arrival), _ts(v.start), _ts(v.end))
            oid = v.order_id
            if dep < prev_end - TIME_TOL_S:
                yield Violation(
                    "departure_before_previous_end",
                    f"order {oid}: {info.who} departs at {_iso(dep)}, before {prev_what} "
                    f"at {_iso(prev_end)}",
                    oid,
                    eid,
                )
            if arr < dep - TIME_TOL_S:
                yield Violation(
                    "arrival_before_departure",
                    f"order {oid}: arrival {_iso(arr)} is before departure {_iso(dep)}",
                    oid,
                    eid,
                )
            if start < arr - TIME_TOL_S:
                yield Violation(
                    "start_before_arrival",
                    f"order {oid}: service starts at {_iso(start)}, before arrival {_iso(arr)}",
                    oid,
                    eid,
                )
            order = ctx.orders.get(oid)
            if order is not None and abs(end - start - order.service_minutes * 60) > TIME_TOL_S:
                yield Violation(
                    "end_mismatch",
                    f"order {oid}: service {_iso(start)}-{_iso(end)} lasts "
                    f"{(end - start) / 60:.1f} min, expected {order.service_minutes} min",
                    oid,
                    eid,
                )
            prev_end, prev_what = end, f"the end of order {oid}"
        ret = r.return_leg
        if ret is not None:
            dep, arr = _ts(ret.departure), _ts(ret.arrival)
            if dep < prev_end - TIME_TOL_S:
                yield Violation(
                    "return_departure_before_end",
                    f"{info.who}'s return leg departs at {_iso(dep)}, before {prev_what} "
                    f"at {_iso(prev_end)}",
                    engineer_id=eid,
                )
            if arr < dep - TIME_TOL_S:
                yield Violation(
                    "arrival_before_departure",
                    f"{info.who}'s return leg arrives at {_iso(arr)}, before departing "
                    f"at {_iso(dep)}",
                    engineer_id=eid,
                )


def _route_legs(info: _RouteInfo) -> Iterator[_Leg]:
    for leg in info.legs:
        if leg is not None:
            yield leg
    if info.return_leg is not None:
        yield info.return_leg


def check_travel_legs(ctx: _Context) -> Iterator[Violation]:
    """Each leg's mode, km and minutes follow the travel model (geopy geodesic reference)."""
    for info in ctx.routes:
        eid = info.route.engineer_id
        for leg in _route_legs(info):
            where = f"{info.who}'s {leg.label}"
            if leg.mode not in leg.ok_modes:
                yield Violation(
                    "travel_mode",
                    f"{where} is a {leg.mode}, but the model says {leg.model_mode} "
                    f"({leg.geo_km:.1f} geodesic km)",
                    leg.order_id,
                    eid,
                )
            if not _close(leg.km, leg.expected_km, KM_REL, KM_ABS):
                yield Violation(
                    "travel_km",
                    f"{where} states {leg.km:.1f} km, the model gives {leg.expected_km:.1f} km",
                    leg.order_id,
                    eid,
                )
            if not _close(leg.minutes, leg.expected_minutes, MIN_REL, MIN_ABS):
                yield Violation(
                    "travel_minutes",
                    f"{where} states {leg.minutes:.1f} min, the model gives "
                    f"{leg.expected_minutes:.1f} min",
                    leg.order_id,
                    eid,
                )


def check_travel_work_time(ctx: _Context) -> Iterator[Violation]:
    """Travel happens in work time: [departure, arrival] holds travel_minutes of it.

    The return leg may continue past the last work window (without rest).
    """
    for info in ctx.routes:
        if info.engineer is None:
            continue
        eid = info.route.engineer_id
        tail = info.windows[-1][1] if info.windows else -math.inf
        for leg in _route_legs(info):
            windows = info.windows
            if leg is info.return_leg:
                windows = [*info.windows, (tail, math.inf)]
            work = _overlap(windows, leg.departure, leg.arrival)
            need = leg.minutes * 60.0
            where = f"{info.who}'s {leg.label}"
            if work < need - MIN_ABS * 60 - TIME_TOL_S:
                yield Violation(
                    "travel_outside_work_time",
                    f"{where} needs {leg.minutes:.1f} min of travel but "
                    f"{_iso(leg.departure)}-{_iso(leg.arrival)} holds only {work / 60:.1f} min "
                    "of work time",
                    leg.order_id,
                    eid,
                )
            elif work > need + MIN_REL * need + MIN_ABS * 60 + TIME_TOL_S:
                yield Violation(
                    "arrival_after_travel_end",
                    f"{where} travels {leg.minutes:.1f} min but arrives after "
                    f"{work / 60:.1f} min of work time ({_iso(leg.departure)}-"
                    f"{_iso(leg.arrival)})",
                    leg.order_id,
                    eid,
                    hard=False,
                )


def check_service_in_work_window(ctx: _Context) -> Iterator[Violation]:
    """Service [start, end] lies inside one work window (shift plus overtime)."""
    for info in ctx.routes:
        if info.engineer is None:
            continue
        for v in info.route.visits:
            start, end = _ts(v.start), _ts(v.end)
            if not _inside_one(info.windows, start, end):
                yield Violation(
                    "service_outside_work_window",
                    f"order {v.order_id}: service {_iso(start)}-{_iso(end)} is not inside one "
                    f"work window of {info.who}",
                    v.order_id,
                    info.route.engineer_id,
                )


def check_site_windows(ctx: _Context) -> Iterator[Violation]:
    """If the order has site windows, service [start, end] lies inside one of them."""
    for info, i, order in _visits_with_order(ctx):
        if not order.site_windows:
            continue
        v = info.route.visits[i]
        start, end = _ts(v.start), _ts(v.end)
        windows = [(_ts(w.start), _ts(w.end)) for w in order.site_windows]
        if not _inside_one(windows, start, end):
            opened = ", ".join(f"{_iso(s)}-{_iso(e)}" for s, e in windows)
            yield Violation(
                "service_outside_site_window",
                f"order {order.id}: service {_iso(start)}-{_iso(end)} is not inside one site "
                f"window ({opened})",
                order.id,
                info.route.engineer_id,
            )


def check_deadlines(ctx: _Context) -> Iterator[Violation]:
    """deadline, on_time and slack_minutes agree with the policy and the arrival."""
    for info, i, order in _visits_with_order(ctx):
        v, eid = info.route.visits[i], info.route.engineer_id
        deadline = _ts(_policy_deadline(ctx.problem, order))
        arr = _ts(v.arrival)
        if abs(_ts(v.deadline) - deadline) > TIME_TOL_S:
            yield Violation(
                "deadline_mismatch",
                f"order {order.id}: deadline stated {_iso(_ts(v.deadline))}, the policy gives "
                f"{_iso(deadline)}",
                order.id,
                eid,
            )
        on_time = arr <= deadline
        if v.on_time != on_time and abs(arr - deadline) > TIME_TOL_S:
            yield Violation(
                "on_time_flag",
                f"order {order.id}: on_time is {v.on_time} but arrival {_iso(arr)} is "
                f"{'before' if on_time else 'after'} the deadline {_iso(deadline)}",
                order.id,
                eid,
            )
        slack = (deadline - arr) / 60.0
        if abs(v.slack_minutes - slack) > SLACK_TOL_MIN:
            yield Violation(
                "slack_mismatch",
                f"order {order.id}: slack_minutes is {v.slack_minutes:.1f}, expected {slack:.1f}",
                order.id,
                eid,
            )


def check_late_list(ctx: _Context) -> Iterator[Violation]:
    """late[] lists exactly the visits with on_time false, with minutes_late = -slack."""
    visits = {v.order_id: (info, v) for info in ctx.routes for v in info.route.visits}
    counts = Counter(x.order_id for x in ctx.plan.late)
    for oid, n in counts.items():
        if n > 1:
            yield Violation("late_duplicated", f"order {oid} appears {n} times in late[]", oid)
    for x in ctx.plan.late:
        found = visits.get(x.order_id)
        if found is None:
            yield Violation(
                "late_not_visited",
                f"order {x.order_id} is in late[] but no route visits it",
                x.order_id,
            )
            continue
        info, v = found
        eid = info.route.engineer_id
        if v.on_time:
            yield Violation(
                "late_unexpected",
                f"order {x.order_id} is in late[] but its visit is on time",
                x.order_id,
                eid,
            )
            continue
        order = ctx.orders.get(x.order_id)
        if order is not None:
            late = (_ts(v.arrival) - _ts(_policy_deadline(ctx.problem, order))) / 60.0
            if abs(x.minutes_late - late) > SLACK_TOL_MIN:
                yield Violation(
                    "late_minutes",
                    f"order {x.order_id}: minutes_late is {x.minutes_late:.1f}, expected "
                    f"{late:.1f}",
                    x.order_id,
                    eid,
                )
    for oid, (info, v) in visits.items():
        if not v.on_time and counts[oid] == 0:
            yield Violation(
                "late_missing",
                f"order {oid} is visited late but is not listed in late[]",
                oid,
                info.route.engineer_id,
            )


def check_visit_overtime(ctx: _Context) -> Iterator[Violation]:
    """A visit's overtime_minutes is its service time in overtime bands plus the part of its
    inbound travel that regular shift time between departure and arrival cannot hold."""
    for info in ctx.routes:
        if info.engineer is None:
            continue
        shifts = [(_ts(s.start), _ts(s.end)) for s in info.engineer.shifts]
        for v in info.route.visits:
            regular = _overlap(shifts, _ts(v.departure), _ts(v.arrival))
            band = max(0.0, v.travel_minutes * 60.0 - regular)
            band += _overlap(info.bands, _ts(v.start), _ts(v.end))
            if abs(v.overtime_minutes - band / 60.0) > OVERTIME_TOL_MIN:
                yield Violation(
                    "visit_overtime",
                    f"order {v.order_id}: overtime_minutes is {v.overtime_minutes:.1f}, but "
                    f"{band / 60:.1f} min of its travel and service fall in overtime bands",
                    v.order_id,
                    info.route.engineer_id,
                )


def _location_at(info: _RouteInfo, t: float) -> Location | None:
    """Where the engineer is at ``t``: the destination of the last leg arrived by then."""
    here = info.origin
    for leg in info.legs:
        if leg is None:
            return None
        if leg.arrival <= t:
            here = leg.dest
    ret = info.return_leg
    if ret is not None and ret.arrival <= t:
        here = ret.dest
    return here


def check_overnights(ctx: _Context) -> Iterator[Violation]:
    """One overnight per rest gap the route spans; hotel unless within 1 km of home."""
    for info in ctx.routes:
        eng, r = info.engineer, info.route
        if eng is None:
            continue
        for n in r.overnights:
            d = _geo_km(n.location, eng.home)
            if n.hotel and d <= HOME_RADIUS_KM - HOME_RADIUS_TOL_KM:
                yield Violation(
                    "overnight_hotel",
                    f"{info.who}'s overnight of {n.night_of} is a hotel night but "
                    f"({n.location.lat}, {n.location.lon}) is {d:.2f} km from home",
                    engineer_id=eng.id,
                )
            elif not n.hotel and d > HOME_RADIUS_KM + HOME_RADIUS_TOL_KM:
                yield Violation(
                    "overnight_hotel",
                    f"{info.who}'s overnight of {n.night_of} is not a hotel night but "
                    f"({n.location.lat}, {n.location.lon}) is {d:.1f} km from home",
                    engineer_id=eng.id,
                )
        gaps: list[Interval] = []
        if r.visits:
            home_again = _ts(r.return_leg.arrival) if r.return_leg else _ts(r.visits[-1].end)
            gaps = [
                (a[1], b[0])
                for a, b in zip(info.windows, info.windows[1:], strict=False)
                if a[1] < home_again and b[0] > info.start
            ]
        if len(gaps) != len(r.overnights):
            yield Violation(
                "overnight_count",
                f"{info.who}'s route has {len(r.overnights)} overnight(s), but it spans "
                f"{len(gaps)} rest gap(s) before getting home",
                engineer_id=eng.id,
            )
            continue
        zone = _zone(eng.timezone)
        for n, (g0, _) in zip(r.overnights, gaps, strict=True):
            night_of = datetime.fromtimestamp(g0, zone).date().isoformat()
            if n.night_of != night_of:
                yield Violation(
                    "overnight_night_of",
                    f"{info.who}'s overnight for the rest beginning {_iso(g0)} is dated "
                    f"{n.night_of}, expected {night_of} ({eng.timezone})",
                    engineer_id=eng.id,
                )
            where = _location_at(info, g0)
            if where is not None and _geo_km(n.location, where) > SAME_PLACE_KM:
                yield Violation(
                    "overnight_location",
                    f"{info.who}'s overnight of {n.night_of} is at ({n.location.lat}, "
                    f"{n.location.lon}) but the engineer is at ({where.lat}, {where.lon}) "
                    f"when the rest begins at {_iso(g0)}",
                    engineer_id=eng.id,
                )


def check_kpis(ctx: _Context) -> Iterator[Violation]:
    """KPIs summarise the plan (travel recomputed from the model)."""
    k, plan = ctx.plan.kpis, ctx.plan
    visits = [v for r in plan.routes for v in r.visits]
    on_time = sum(1 for v in visits if v.on_time)
    n_orders = len(ctx.problem.orders)
    exact = {
        "orders": (k.orders, n_orders),
        "assigned": (k.assigned, len(visits)),
        "on_time": (k.on_time, on_time),
        "late": (k.late, len(visits) - on_time),
        "unassigned": (k.unassigned, len(plan.unassigned)),
        "engineers_used": (k.engineers_used, sum(1 for r in plan.routes if r.visits)),
        "hotel_nights": (k.hotel_nights, sum(n.hotel for r in plan.routes for n in r.overnights)),
    }
    for name, (got, want) in exact.items():
        if got != want:
            yield Violation(f"kpi_{name}", f"KPI {name} is {got}, expected {want}")
    km = hours = 0.0
    for info in ctx.routes:
        for i, v in enumerate(info.route.visits):
            leg = info.legs[i]
            km += leg.expected_km if leg else v.travel_km
            hours += (leg.expected_minutes if leg else v.travel_minutes) / 60.0
        r = info.route.return_leg
        if r is not None:
            ret = info.return_leg
            km += ret.expected_km if ret else r.travel_km
            hours += (ret.expected_minutes if ret else r.travel_minutes) / 60.0
    rate = on_time / n_orders if n_orders else 1.0
    approx = {
        "on_time_rate": (k.on_time_rate, rate, 0.0, KPI_RATE_TOL),
        "travel_km": (k.travel_km, km, KPI_KM_REL, KPI_KM_ABS),
        "travel_hours": (k.travel_hours, hours, KPI_HOURS_REL, KPI_HOURS_ABS),
        "overtime_minutes": (
            k.overtime_minutes,
            sum(v.overtime_minutes for v in visits),
            0.0,
            KPI_OVERTIME_TOL_MIN,
        ),
    }
    for name, (got_f, want_f, rel, abs_) in approx.items():
        if not _close(got_f, want_f, rel, abs_):
            yield Violation(f"kpi_{name}", f"KPI {name} is {got_f:g}, expected {want_f:.4g}")


CHECKS: tuple[Check, ...] = (
    check_status,
    check_order_accounting,
    check_late_list,
    check_route_engineers,
    check_skills,
    check_excluded,
    check_pinned,
    check_overseas,
    check_route_start,
    check_in_progress,
    check_time_order,
    check_travel_legs,
    check_travel_work_time,
    check_service_in_work_window,
    check_site_windows,
    check_deadlines,
    check_visit_overtime,
    check_overnights,
    check_kpis,
)


# ----------------------------------------------------------------------------- API


def check_plan(problem: Problem, plan: Plan) -> list[Violation]:
    """Check a plan against its problem, independently of the solver and decoder.

    Parameters
    ----------
    problem
        The problem the plan claims to solve.
    plan
        The plan to check.

    Returns
    -------
    list[Violation]
        Every finding, hard and soft, in the order of :data:`CHECKS`; empty for a plan
        that follows ``docs/model.md``.
    """
    ctx = _context(problem, plan)
    return [v for check in CHECKS for v in check(ctx)]


def format_violations(violations: Iterable[Violation]) -> str:
    """Render violations one per line, ``ERROR``/``WARN`` then code and message.

    Parameters
    ----------
    violations
        Findings of :func:`check_plan`.

    Returns
    -------
    str
        One line per violation (no trailing newline); empty for no violations.
    """
    return "\n".join(f"{'ERROR' if v.hard else 'WARN '} {v.code}: {v.message}" for v in violations)
