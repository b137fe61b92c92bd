"""The JSON contract (docs/contract.md): load with validation, dump.

Every error names the JSON path and what was expected, e.g.
``orders[3].site.lat: expected a number in [-90, 90], got 123``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatcher.domain import (
    COMMITMENT_CLASSES,
    FIX_LEVERS,
    FIX_RULES,
    PRIORITIES,
    TRAVEL_PROVIDERS,
    UNROUTABLE,
    WEIGHT_NAMES,
    CurrentPosition,
    Engineer,
    Fix,
    InProgress,
    Kpis,
    LateOrder,
    Location,
    Order,
    Overnight,
    Plan,
    Policy,
    Problem,
    PublishedVisit,
    Reason,
    ReturnLeg,
    Route,
    Site,
    Stability,
    TravelParams,
    UnassignedOrder,
    Visit,
    Weights,
    Window,
)
from dispatcher.errors import InputError
from dispatcher.reader import Node, at, check_derived, check_list, describe, parse_int

T = TypeVar("T")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Upper bounds of the numeric policy fields, checked at load so that nothing overflows later.
# Dates: planning_start + horizon (at most 60 days) and received_at + a commitment (at most
# MAX_COMMITMENT_HOURS) stay far inside datetime's years 1-9999.
MAX_COMMITMENT_HOURS = 87_660  # 10 years of hours
# dispatcher/compile.py multiplies each weight by a priority factor (drop, breach, not
# preferred) and the lateness rate by up to a 1440-hour horizon of late minutes: with
# weight x factor <= 1e12 one order's lateness costs at most 1e12 x 86,400 min = 8.6e16,
# and 100,000 dropped orders 1e17, both far below the solver's int64 limit of 2**62 = 4.6e18.
MAX_WEIGHT = 100_000_000
MAX_PRIORITY_FACTOR = 10_000


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, to the second."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# The members of each object of the Problem document (docs/contract.md). Any other member
# is refused, naming it: a misspelt optional field would otherwise silently read as its
# default. dispatcher/schema.py publishes the same lists (a test holds them equal).
PROBLEM_FIELDS = (
    "planning_start",
    "horizon_hours",
    "policy",
    "engineers",
    "orders",
    "in_progress",
    "published",
)
IN_PROGRESS_FIELDS = ("order_id", "engineer_id", "location", "started_at", "expected_end")
PUBLISHED_FIELDS = ("order_id", "engineer_id", "start")
LOCATION_FIELDS = ("lat", "lon")
SITE_FIELDS = ("lat", "lon", "country", "name")
WINDOW_FIELDS = ("start", "end")
CURRENT_FIELDS = ("location", "available_from")
ENGINEER_FIELDS = (
    "id",
    "name",
    "home",
    "timezone",
    "skills",
    "shifts",
    "weekly_shifts",
    "max_overtime_minutes",
    "can_travel_overseas",
    "current",
)
ORDER_FIELDS = (
    "id",
    "site",
    "received_at",
    "service_minutes",
    "commitment",
    "deadline",
    "priority",
    "required_skills",
    "site_windows",
    "pinned_engineer",
    "preferred_engineers",
    "excluded_engineers",
)
POLICY_FIELDS = ("commitments", "home_country", "travel", "stability", "weights")
STABILITY_FIELDS = ("tolerance_minutes", "frozen_hours")
TRAVEL_PROVIDER_FIELDS = ("provider", "url", "unroutable", "max_table_size")
TRAVEL_FIELDS = (
    *("circuity", "max_drive_km", "drive_kmh", "flight_overhead_h", "flight_kmh"),
    *TRAVEL_PROVIDER_FIELDS,
)
WEIGHTS_FIELDS = (*WEIGHT_NAMES, "priority_factor")
MAX_HORIZON_HOURS = 24 * 60
MAX_SERVICE_MINUTES = 7 * 24 * 60
MAX_OVERTIME_MINUTES = 24 * 60
# Upper bounds of the lists inside one order or engineer (docs/contract.md): a document
# is read on every plan, every list page and every read of it.
MAX_SITE_WINDOWS = 500
MAX_REQUIRED_SKILLS = 50
MAX_ENGINEER_REFS = 200  # preferred_engineers, excluded_engineers
MAX_SKILLS = 200
MAX_SHIFTS = 1000
MAX_SPANS_PER_DAY = 24  # weekly_shifts: spans per weekday
# Planning keeps this much after a horizon's end inside the range of datetimes: a visit
# may end in overtime after the horizon, and the drive home after that.
PLANNING_MARGIN = timedelta(days=7)
# Weekly patterns are anchored here when a lone engineer is read without a planning
# window: any instant works, it only resolves the pattern for validation.
_ANCHOR = datetime(2026, 1, 5, tzinfo=UTC)


def _location(obj: Node) -> Location:
    with at(obj.path):
        return Location(lat=obj.num("lat", lo=-90, hi=90), lon=obj.num("lon", lo=-180, hi=180))


def windows_from_list(
    data: Any,
    path: str,
    fields: Collection[str] = WINDOW_FIELDS,
    max_items: int | None = None,
) -> list[Window]:
    """A list of ``{start, end}`` windows (site windows, shifts, absences); ``fields``: the
    members a window may have (an absence also has a ``reason``); at most ``max_items``."""
    check_list(data, path, max_items)
    out = []
    for index, item in enumerate(data):
        wpath = f"{path}[{index}]"
        w = Node(item, wpath, fields)
        start, end = w.instant("start"), w.instant("end")
        with at(wpath):
            out.append(Window(start=start, end=end))
    return out


def _windows(obj: Node, key: str, max_items: int) -> list[Window]:
    if not obj.has(key):
        return []
    return windows_from_list(obj.data[key], obj.sub(key), max_items=max_items)


_SPAN = re.compile(r"\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*", re.ASCII)


def _span(text: Any, path: str) -> tuple[time, time]:
    m = _SPAN.fullmatch(text) if isinstance(text, str) else None
    try:
        if m is None:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise InputError(path, f'expected "HH:MM-HH:MM", got {describe(text)}') from None


def _resolve(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock time on ``day`` names in ``tz``, as a fixed-offset datetime.

    An ambiguous time (clocks set back) is its first occurrence. A time that does not exist
    (clocks set forward) is the instant the gap ends, the first wall-clock time that does:
    work "from 02:30" on a day when 02:00-03:00 is skipped starts when the clocks show 03:00.
    The result carries a fixed offset, not ``tz``: Python compares and subtracts two
    datetimes sharing one tzinfo by wall clock, which is wrong across a transition.
    """
    local = datetime.combine(day, at)
    utc = local.replace(tzinfo=tz).astimezone(UTC)  # fold=0: a gap time maps forward
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        # In a gap: the transition lies in (local - offset after, utc]; find it by bisection.
        lo = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
        after = utc.astimezone(tz).utcoffset()
        lo_s, hi_s = 0, int((utc - lo).total_seconds())
        while lo_s + 1 < hi_s:
            mid = (lo_s + hi_s) // 2
            if (lo + timedelta(seconds=mid)).astimezone(tz).utcoffset() == after:
                hi_s = mid
            else:
                lo_s = mid
        utc = lo + timedelta(seconds=hi_s)
    offset = utc.astimezone(tz).utcoffset()
    return utc.astimezone(timezone(offset) if offset else UTC)


def expand_weekly(pattern: Any, path: str, tz_name: str, start: datetime, end: datetime) -> list:
    """Absolute shifts from a weekly pattern in the engineer's own timezone.

    ``pattern`` maps weekday names (``mon`` … ``sun``) to lists of ``"HH:MM-HH:MM"``;
    an end at or before the start runs past midnight. Wall-clock times are resolved to
    instants with :func:`_resolve`, so a shift across a clock change lasts the time really
    worked, and an occurrence lying wholly in a skipped hour (no time at all) is left out.
    """
    pat = Node(pattern, path, WEEKDAYS)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            path, f"expected a known IANA timezone for the engineer, got {tz_name!r}"
        ) from None
    spans: dict[int, list[tuple[time, time]]] = {}
    for key in pat.data:
        for ipath, text in pat.items(key, MAX_SPANS_PER_DAY):
            spans.setdefault(WEEKDAYS.index(key), []).append(_span(text, ipath))
    out = []
    day: date = (start.astimezone(tz) - timedelta(days=1)).date()
    while True:
        for t_on, t_off in spans.get(day.weekday(), []):
            s = _resolve(day, t_on, tz)
            e = _resolve(day + timedelta(days=1) if t_off <= t_on else day, t_off, tz)
            if e > s and e > start and s < end:
                out.append(Window(start=s, end=e))
        if datetime.combine(day, time(0), tz) > end:
            break
        day += timedelta(days=1)
    return out


def engineer_from_dict(
    data: Any,
    path: str = "",
    planning_start: datetime = _ANCHOR,
    horizon_end: datetime | None = None,
) -> Engineer:
    """Validate and convert one Engineer document at ``path``.

    A ``weekly_shifts`` pattern is expanded into the shifts between ``planning_start``
    and ``horizon_end`` (default: a week after it).
    """
    obj = Node(data, path, ENGINEER_FIELDS)
    horizon_end = horizon_end or planning_start + timedelta(days=7)
    tz_name = obj.text("timezone", default="UTC")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            obj.sub("timezone"),
            f"expected an IANA timezone name such as Asia/Shanghai, got {tz_name!r}",
        ) from None
    shifts = _windows(obj, "shifts", MAX_SHIFTS)
    if obj.has("weekly_shifts"):
        shifts += expand_weekly(
            obj.data["weekly_shifts"],
            obj.sub("weekly_shifts"),
            tz_name,
            planning_start,
            horizon_end,
        )
    current = None
    if obj.has("current"):
        cur = obj.obj("current", CURRENT_FIELDS)
        with at(cur.path):
            current = CurrentPosition(
                location=_location(cur.obj("location", LOCATION_FIELDS)),
                available_from=cur.instant("available_from"),
            )
    with at(obj.path):
        return Engineer(
            id=obj.ident("id"),
            name=obj.text("name", default=obj.text("id")),
            home=_location(obj.obj("home", LOCATION_FIELDS)),
            timezone=tz_name,
            skills=frozenset(obj.strings("skills", max_items=MAX_SKILLS)),
            shifts=tuple(shifts),
            max_overtime_minutes=obj.integer(
                "max_overtime_minutes", default=0, hi=MAX_OVERTIME_MINUTES
            ),
            can_travel_overseas=obj.flag("can_travel_overseas", True),
            current=current,
        )


def order_from_dict(data: Any, path: str = "") -> Order:
    """Validate and convert one Order document at ``path``."""
    obj = Node(data, path, ORDER_FIELDS)
    site = obj.obj("site", SITE_FIELDS)
    with at(site.path):
        site_value = Site(
            location=_location(site),
            country=site.text("country"),
            name=site.text("name", required=False),
        )
    received_at = obj.instant("received_at")
    # The policy may later set any commitment up to MAX_COMMITMENT_HOURS.
    check_derived(
        received_at,
        timedelta(hours=MAX_COMMITMENT_HOURS),
        obj.data["received_at"],
        obj.sub("received_at"),
        f"deadline by the longest commitment ({MAX_COMMITMENT_HOURS} hours)",
    )
    deadline = obj.maybe_instant("deadline")
    if deadline is not None and deadline < received_at:
        raise InputError(
            obj.sub("deadline"),
            f"expected a datetime at or after received_at ({format_datetime(received_at)}), "
            f"got {describe(obj.data['deadline'])}",
        )
    with at(obj.path):
        return Order(
            id=obj.ident("id"),
            site=site_value,
            received_at=received_at,
            service_minutes=obj.integer("service_minutes", hi=MAX_SERVICE_MINUTES),
            commitment=obj.text("commitment", required=False),
            deadline=deadline,
            priority=obj.text("priority", default="normal"),
            required_skills=frozenset(
                obj.strings("required_skills", max_items=MAX_REQUIRED_SKILLS)
            ),
            site_windows=tuple(_windows(obj, "site_windows", MAX_SITE_WINDOWS)),
            pinned_engineer=obj.text("pinned_engineer", required=False),
            preferred_engineers=tuple(
                obj.strings("preferred_engineers", max_items=MAX_ENGINEER_REFS)
            ),
            excluded_engineers=tuple(
                obj.strings("excluded_engineers", max_items=MAX_ENGINEER_REFS)
            ),
        )


def policy_from_dict(data: Any, path: str = "policy") -> Policy:
    """Validate and convert a Policy document at ``path``; ``None`` is the default policy."""
    if data is None:
        return Policy()
    obj = Node(data, path, POLICY_FIELDS)
    defaults = Policy()
    commitments = dict(defaults.commitments)
    if obj.has("commitments"):
        c = obj.obj("commitments", COMMITMENT_CLASSES)
        for key in c.data:
            commitments[key] = c.num(key, lo=0.01, hi=MAX_COMMITMENT_HOURS)
    travel = TravelParams()
    if obj.has("travel"):
        t = obj.obj("travel", TRAVEL_FIELDS)
        with at(t.path):
            travel = TravelParams(
                circuity=t.num("circuity", travel.circuity, lo=1, hi=10),
                max_drive_km=t.num("max_drive_km", travel.max_drive_km, lo=0, hi=40_000),
                drive_kmh=t.num("drive_kmh", travel.drive_kmh, lo=0.1, hi=1_000),
                flight_overhead_h=t.num(
                    "flight_overhead_h", travel.flight_overhead_h, lo=0, hi=240
                ),
                flight_kmh=t.num("flight_kmh", travel.flight_kmh, lo=0.1, hi=5_000),
                provider=t.choice("provider", TRAVEL_PROVIDERS, travel.provider),
                url=t.text("url", required=False),
                unroutable=t.choice("unroutable", UNROUTABLE, travel.unroutable),
                max_table_size=t.integer("max_table_size", travel.max_table_size, 1, 100_000),
            )
    weights = Weights()
    if obj.has("weights"):
        w = obj.obj("weights", WEIGHTS_FIELDS)
        factors = dict(weights.priority_factor)
        if w.has("priority_factor"):
            pf = w.obj("priority_factor", PRIORITIES)
            for key in pf.data:
                factors[key] = pf.integer(key, lo=1, hi=MAX_PRIORITY_FACTOR)

        default_weights = weights

        def weight(key: str) -> int:
            return w.integer(key, getattr(default_weights, key), hi=MAX_WEIGHT)

        with at(w.path):
            weights = Weights(
                unassigned=weight("unassigned"),
                late_per_breach=weight("late_per_breach"),
                late_per_minute=weight("late_per_minute"),
                travel_per_hour=weight("travel_per_hour"),
                travel_per_km=weight("travel_per_km"),
                overtime_per_hour=weight("overtime_per_hour"),
                not_preferred=weight("not_preferred"),
                reassign=weight("reassign"),
                retime_per_hour=weight("retime_per_hour"),
                priority_factor=factors,
            )
    stability = Stability()
    if obj.has("stability"):
        st = obj.obj("stability", STABILITY_FIELDS)
        with at(st.path):
            stability = Stability(
                tolerance_minutes=st.integer(
                    "tolerance_minutes", stability.tolerance_minutes, hi=MAX_HORIZON_HOURS * 60
                ),
                frozen_hours=st.num(
                    "frozen_hours", stability.frozen_hours, lo=0, hi=MAX_HORIZON_HOURS
                ),
            )
    with at(path):
        return Policy(
            commitments=commitments,
            home_country=obj.text("home_country", default=defaults.home_country),
            travel=travel,
            weights=weights,
            stability=stability,
        )


def _check_engineer_refs(root: Node, engineers: list[Engineer]) -> None:
    """Preferred and excluded engineers must be in the roster: a typo in an exclusion
    would otherwise silently let the excluded engineer be sent.

    A pin to an absent engineer stays allowed (it is the reason
    ``pinned_engineer_unavailable``). With an empty roster nothing is checked: nobody can be
    sent, and a lone order (``order_from_dict``) is read without one.
    """
    if not engineers:
        return
    roster = {e.id for e in engineers}
    for opath, item in root.items("orders"):
        o = Node(item, opath)
        for key in ("preferred_engineers", "excluded_engineers"):
            for path, ref in o.items(key):
                if ref not in roster:
                    raise InputError(
                        path, f"expected the id of an engineer in the roster, got {ref!r}"
                    )


def _in_progress(obj: Node) -> InProgress:
    with at(obj.path):
        return InProgress(
            order_id=obj.text("order_id"),
            engineer_id=obj.text("engineer_id"),
            location=_location(obj.obj("location", LOCATION_FIELDS)),
            started_at=obj.instant("started_at"),
            expected_end=obj.instant("expected_end"),
        )


def _published(obj: Node) -> PublishedVisit:
    with at(obj.path):
        return PublishedVisit(
            order_id=obj.text("order_id"),
            engineer_id=obj.text("engineer_id"),
            start=obj.instant("start"),
        )


def problem_from_dict(data: Any) -> Problem:
    """Validate and convert a Problem document (docs/contract.md).

    Members named ``_…`` or ``$…`` at its top level are notes (``_comment``,
    ``$schema``) and are ignored; any other member the contract does not define is refused.
    """
    root = Node(data, "", PROBLEM_FIELDS, annotations=True)
    planning_start = root.instant("planning_start")
    horizon = root.integer("horizon_hours", default=96, lo=1, hi=MAX_HORIZON_HOURS)
    horizon_end = planning_start + timedelta(hours=horizon)
    check_derived(
        planning_start,
        timedelta(hours=horizon) + PLANNING_MARGIN,
        root.data["planning_start"],
        root.sub("planning_start"),
        f"horizon end plus {PLANNING_MARGIN.days} days",
    )
    policy = policy_from_dict(root.data.get("policy"), "policy")
    engineers = [
        engineer_from_dict(item, path, planning_start, horizon_end)
        for path, item in root.req_items("engineers")
    ]
    orders = [order_from_dict(item, path) for path, item in root.req_items("orders")]
    in_progress = [
        _in_progress(Node(item, path, IN_PROGRESS_FIELDS))
        for path, item in root.items("in_progress")
    ]
    published = [
        _published(Node(item, path, PUBLISHED_FIELDS)) for path, item in root.items("published")
    ]
    _check_engineer_refs(root, engineers)
    return Problem(
        planning_start=planning_start,
        engineers=tuple(engineers),
        orders=tuple(orders),
        horizon_hours=horizon,
        policy=policy,
        in_progress=tuple(in_progress),
        published=tuple(published),
    )


def _read_json(path: str | Path) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "expected an existing file, found none") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(
            str(path), f"expected a readable UTF-8 file ({exc.__class__.__name__})"
        ) from None
    try:
        return json.loads(text, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise InputError(
            str(path),
            f"expected JSON, got a syntax error at line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from None
    except RecursionError:
        raise InputError(
            str(path),
            f"expected JSON nested less deeply (the limit is about {sys.getrecursionlimit()} levels)",
        ) from None


def load_problem(path: str | Path) -> Problem:
    return problem_from_dict(_read_json(path))


def load_plan(path: str | Path) -> Plan:
    return plan_from_dict(_read_json(path))


# ---------------------------------------------------------------------- dumping


def _loc(loc: Location) -> dict[str, float]:
    return {"lat": loc.lat, "lon": loc.lon}


def _win(w: Any) -> dict[str, str]:
    return {"start": format_datetime(w.start), "end": format_datetime(w.end)}


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The Problem document; shifts are written out as absolute windows."""
    pol = problem.policy
    return {
        "planning_start": format_datetime(problem.planning_start),
        "horizon_hours": problem.horizon_hours,
        "policy": {
            "commitments": dict(pol.commitments),
            "home_country": pol.home_country,
            "travel": {
                "circuity": pol.travel.circuity,
                "max_drive_km": pol.travel.max_drive_km,
                "drive_kmh": pol.travel.drive_kmh,
                "flight_overhead_h": pol.travel.flight_overhead_h,
                "flight_kmh": pol.travel.flight_kmh,
                **{  # the provider members when not the defaults (older hashes stay)
                    k: getattr(pol.travel, k)
                    for k in TRAVEL_PROVIDER_FIELDS
                    if getattr(pol.travel, k) != getattr(TravelParams(), k)
                },
            },
            "weights": {
                "unassigned": pol.weights.unassigned,
                "late_per_breach": pol.weights.late_per_breach,
                "late_per_minute": pol.weights.late_per_minute,
                "travel_per_hour": pol.weights.travel_per_hour,
                "travel_per_km": pol.weights.travel_per_km,
                "overtime_per_hour": pol.weights.overtime_per_hour,
                "not_preferred": pol.weights.not_preferred,
                "reassign": pol.weights.reassign,
                "retime_per_hour": pol.weights.retime_per_hour,
                "priority_factor": dict(pol.weights.priority_factor),
            },
            "stability": {
                "tolerance_minutes": pol.stability.tolerance_minutes,
                "frozen_hours": pol.stability.frozen_hours,
            },
        },
        "engineers": [
            {
                "id": e.id,
                "name": e.name,
                "home": _loc(e.home),
                "timezone": e.timezone,
                "skills": sorted(e.skills),
                "shifts": [_win(s) for s in e.shifts],
                "max_overtime_minutes": e.max_overtime_minutes,
                "can_travel_overseas": e.can_travel_overseas,
                "current": None
                if e.current is None
                else {
                    "location": _loc(e.current.location),
                    "available_from": format_datetime(e.current.available_from),
                },
            }
            for e in problem.engineers
        ],
        "orders": [
            {
                "id": o.id,
                "site": {**_loc(o.site.location), "country": o.site.country, "name": o.site.name},
                "received_at": format_datetime(o.received_at),
                "commitment": o.commitment,
                "deadline": None if o.deadline is None else format_datetime(o.deadline),
                "priority": o.priority,
                "required_skills": sorted(o.required_skills),
                "service_minutes": o.service_minutes,
                "site_windows": [_win(w) for w in o.site_windows],
                "pinned_engineer": o.pinned_engineer,
                "preferred_engineers": list(o.preferred_engineers),
                "excluded_engineers": list(o.excluded_engineers),
            }
            for o in problem.orders
        ],
        # Written only when there are any, so a problem with no present stays as it was.
        **(
            {"in_progress": [_in_progress_doc(v) for v in problem.in_progress]}
            if problem.in_progress
            else {}
        ),
        **(
            {"published": [_published_doc(v) for v in problem.published]}
            if problem.published
            else {}
        ),
    }


def _in_progress_doc(v: InProgress) -> dict[str, Any]:
    return {
        "order_id": v.order_id,
        "engineer_id": v.engineer_id,
        "location": _loc(v.location),
        "started_at": format_datetime(v.started_at),
        "expected_end": format_datetime(v.expected_end),
    }


def _published_doc(v: PublishedVisit) -> dict[str, Any]:
    return {"order_id": v.order_id, "engineer_id": v.engineer_id, "start": format_datetime(v.start)}


def input_hash(problem: Problem) -> str:
    """SHA-256 of the canonical Problem document (key-sorted, compact)."""
    text = json.dumps(problem_to_dict(problem), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _minutes(x: float) -> float:
    return round(x, 1)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    k = plan.kpis
    return {
        "status": plan.status,
        "kpis": {
            "orders": k.orders,
            "assigned": k.assigned,
            "on_time": k.on_time,
            "late": k.late,
            "unassigned": k.unassigned,
            "on_time_rate": round(k.on_time_rate, 4),
            "travel_km": round(k.travel_km, 1),
            "travel_hours": round(k.travel_hours, 2),
            "overtime_minutes": _minutes(k.overtime_minutes),
            "hotel_nights": k.hotel_nights,
            "engineers_used": k.engineers_used,
        },
        "routes": [
            {
                "engineer_id": r.engineer_id,
                "start": None
                if r.start_location is None or r.start_time is None
                else {"location": _loc(r.start_location), "time": format_datetime(r.start_time)},
                "visits": [
                    {
                        "order_id": v.order_id,
                        "travel_mode": v.travel_mode,
                        "travel_km": round(v.travel_km, 1),
                        "travel_minutes": _minutes(v.travel_minutes),
                        "departure": format_datetime(v.departure),
                        "arrival": format_datetime(v.arrival),
                        "start": format_datetime(v.start),
                        "end": format_datetime(v.end),
                        "deadline": format_datetime(v.deadline),
                        "slack_minutes": _minutes(v.slack_minutes),
                        "on_time": v.on_time,
                        "overtime_minutes": _minutes(v.overtime_minutes),
                    }
                    for v in r.visits
                ],
                "overnights": [
                    {
                        "night_of": n.night_of,
                        "location": _loc(n.location),
                        "hotel": n.hotel,
                        "place": n.place,
                    }
                    for n in r.overnights
                ],
                "return": None
                if r.return_leg is None
                else {
                    "travel_mode": r.return_leg.travel_mode,
                    "travel_km": round(r.return_leg.travel_km, 1),
                    "travel_minutes": _minutes(r.return_leg.travel_minutes),
                    "departure": format_datetime(r.return_leg.departure),
                    "arrival": format_datetime(r.return_leg.arrival),
                },
            }
            for r in plan.routes
        ],
        "late": [
            {
                "order_id": x.order_id,
                "minutes_late": _minutes(x.minutes_late),
                "reason": x.reason.value,
                "detail": x.detail,
                **_fix_members(x.fix, x.fix_note),
            }
            for x in plan.late
        ],
        "unassigned": [
            {
                "order_id": x.order_id,
                "reason": x.reason.value,
                "detail": x.detail,
                **_fix_members(x.fix, x.fix_note),
            }
            for x in plan.unassigned
        ],
        "meta": dict(plan.meta),
    }


FIX_TEXT = ("engineer_id", "order_id", "moved_to", "day", "skill", "station")


def fix_to_dict(fix: Fix) -> dict[str, Any]:
    """A fix as the plan document gives it (members that do not apply left out)."""
    out: dict[str, Any] = {"lever": fix.lever}
    for key in FIX_TEXT:
        if getattr(fix, key) is not None:
            out[key] = getattr(fix, key)
    if fix.rule is not None:
        out["rule"] = fix.rule
    if fix.minutes is not None:
        out["minutes"] = fix.minutes
    if fix.slack_minutes is not None:
        out["slack_minutes"] = _minutes(fix.slack_minutes)
    if fix.location is not None:
        out["location"] = _loc(fix.location)
    out["cost"] = fix.cost
    out["sentence"] = fix.sentence
    return out


def _fix_members(fix: Fix | None, note: str | None) -> dict[str, Any]:
    """``fix`` (and ``fix_note`` when there is none) where fixes were looked for."""
    if fix is None and note is None:
        return {}
    return {"fix": None if fix is None else fix_to_dict(fix), "fix_note": note}


def _fix(o: Node) -> Fix:
    return Fix(
        lever=o.choice("lever", FIX_LEVERS),
        sentence=o.text("sentence"),
        cost=o.integer("cost", lo=-(10**18)),
        **{key: o.text(key, required=False) for key in FIX_TEXT},
        rule=o.choice("rule", FIX_RULES) if o.has("rule") else None,
        minutes=o.integer("minutes") if o.has("minutes") else None,
        slack_minutes=o.num("slack_minutes") if o.has("slack_minutes") else None,
        location=_location(o.obj("location")) if o.has("location") else None,
    )


def _reason(obj: Node, key: str) -> Reason:
    value = obj.text(key)
    try:
        return Reason(value)
    except ValueError:
        raise InputError(
            obj.sub(key), f"expected one of {', '.join(r.value for r in Reason)}, got {value!r}"
        ) from None


def _opt(obj: Node, key: str, fn: Callable[[Node], T]) -> T | None:
    return fn(obj.obj(key)) if obj.has(key) else None


def plan_from_dict(data: Any) -> Plan:
    """Read a Plan document (e.g. a hand-edited one for ``dispatch check``)."""
    root = Node(data, "")
    k = root.obj("kpis")
    kpis = Kpis(
        orders=k.integer("orders"),
        assigned=k.integer("assigned"),
        on_time=k.integer("on_time"),
        late=k.integer("late"),
        unassigned=k.integer("unassigned"),
        on_time_rate=k.num("on_time_rate", lo=0, hi=1),
        travel_km=k.num("travel_km", lo=0),
        travel_hours=k.num("travel_hours", lo=0),
        overtime_minutes=k.num("overtime_minutes", lo=0),
        hotel_nights=k.integer("hotel_nights"),
        engineers_used=k.integer("engineers_used"),
    )
    routes = []
    for rpath, ritem in root.items("routes"):
        r = Node(ritem, rpath)
        visits = []
        for vpath, vitem in r.items("visits"):
            v = Node(vitem, vpath)
            mode = v.text("travel_mode")
            if mode not in ("drive", "flight", "none"):
                raise InputError(
                    v.sub("travel_mode"), f"expected drive, flight or none, got {mode!r}"
                )
            visits.append(
                Visit(
                    order_id=v.text("order_id"),
                    travel_mode=mode,
                    travel_km=v.num("travel_km", lo=0),
                    travel_minutes=v.num("travel_minutes", lo=0),
                    departure=v.instant("departure")
                    if v.has("departure")
                    else v.instant("arrival"),
                    arrival=v.instant("arrival"),
                    start=v.instant("start"),
                    end=v.instant("end"),
                    deadline=v.instant("deadline"),
                    slack_minutes=v.num("slack_minutes"),
                    on_time=v.flag("on_time", False),
                    overtime_minutes=v.num("overtime_minutes", 0, lo=0),
                )
            )
        overnights = []
        for npath, nitem in r.items("overnights"):
            n = Node(nitem, npath)
            overnights.append(
                Overnight(
                    night_of=n.text("night_of"),
                    location=_location(n.obj("location")),
                    hotel=n.flag("hotel", False),
                    place=n.text("place", default="?"),
                )
            )
        ret = _opt(
            r,
            "return",
            lambda o: ReturnLeg(
                travel_mode=o.text("travel_mode"),
                travel_km=o.num("travel_km", lo=0),
                travel_minutes=o.num("travel_minutes", lo=0),
                departure=o.instant("departure"),
                arrival=o.instant("arrival"),
            ),
        )
        start = _opt(r, "start", lambda o: (_location(o.obj("location")), o.instant("time")))
        routes.append(
            Route(
                engineer_id=r.text("engineer_id"),
                visits=tuple(visits),
                overnights=tuple(overnights),
                return_leg=ret,
                start_location=start[0] if start else None,
                start_time=start[1] if start else None,
            )
        )
    late = []
    for path, item in root.items("late"):
        o = Node(item, path)
        late.append(
            LateOrder(
                order_id=o.text("order_id"),
                minutes_late=o.num("minutes_late", lo=0),
                reason=_reason(o, "reason"),
                detail=o.text("detail", default=""),
                fix=_opt(o, "fix", _fix),
                fix_note=o.text("fix_note", required=False),
            )
        )
    unassigned = []
    for path, item in root.items("unassigned"):
        o = Node(item, path)
        unassigned.append(
            UnassignedOrder(
                order_id=o.text("order_id"),
                reason=_reason(o, "reason"),
                detail=o.text("detail", default=""),
                fix=_opt(o, "fix", _fix),
                fix_note=o.text("fix_note", required=False),
            )
        )
    status = root.text("status")
    meta = root.data.get("meta") or {}
    return Plan(
        status=status,
        kpis=kpis,
        routes=tuple(routes),
        late=tuple(late),
        unassigned=tuple(unassigned),
        meta=dict(meta),
    )
