"""The JSON contract (docs/contract.md): load with validation, dump.

Every error names the JSON path and what was expected, e.g.
``orders[3].site.lat: expected a number in [-90, 90], got 123``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatcher.domain import (
    COMMITMENT_CLASSES,
    PRIORITIES,
    CurrentPosition,
    Engineer,
    Kpis,
    LateOrder,
    Location,
    Order,
    Overnight,
    Plan,
    Policy,
    Problem,
    Reason,
    ReturnLeg,
    Route,
    Site,
    TravelParams,
    UnassignedOrder,
    Visit,
    Weights,
)
from dispatcher.errors import InputError

T = TypeVar("T")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Upper bounds of the numeric policy fields, checked at load so that nothing overflows later.
# Dates: planning_start + horizon (at most 60 days) and received_at + a commitment (at most
# MAX_COMMITMENT_HOURS) stay far inside datetime's years 1-9999.
MIN_YEAR, MAX_YEAR = 1970, 9000
MAX_COMMITMENT_HOURS = 87_660  # 10 years of hours
# dispatcher/compile.py multiplies each weight by a priority factor (drop, breach, not
# preferred) and the lateness rate by up to a 1440-hour horizon of late minutes: with
# weight x factor <= 1e12 one order's lateness costs at most 1e12 x 86,400 min = 8.6e16,
# and 100,000 dropped orders 1e17, both far below the solver's int64 limit of 2**62 = 4.6e18.
MAX_WEIGHT = 100_000_000
MAX_PRIORITY_FACTOR = 10_000
# Integers longer than this are not converted (Python refuses beyond 4300 digits anyway).
_MAX_INT_DIGITS = 4000


@contextmanager
def _at(path: str) -> Iterator[None]:
    """Prefix any InputError raised inside with ``path``."""
    try:
        yield
    except InputError as exc:
        inner = exc.path
        if not path or inner == path or inner.startswith((path + ".", path + "[")):
            raise  # already a full path (raised by a reader of this object)
        joined = (
            path
            if not inner
            else (f"{path}{inner}" if inner.startswith("[") else f"{path}.{inner}")
        )
        raise InputError(joined, exc.message) from None


class HugeInteger:
    """A JSON integer literal too long to convert; rejected where a number is expected."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))


def _parse_int(text: str) -> int | HugeInteger:
    return HugeInteger(text) if len(text) > _MAX_INT_DIGITS else int(text)


def _describe(value: Any) -> str:
    if isinstance(value, HugeInteger):
        return f"an integer of {value.digits} digits"
    try:
        text = json.dumps(value) if not isinstance(value, datetime) else value.isoformat()
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Obj:
    """A JSON object being read, with the path it sits at."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise InputError(path, f"expected an object, got {_describe(data)}")
        self.data = data
        self.path = path

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def req(self, key: str) -> Any:
        if key not in self.data or self.data[key] is None:
            raise InputError(self.sub(key), "expected a value, got nothing")
        return self.data[key]

    def text(self, key: str, default: str | None = None, required: bool = True) -> Any:
        if not self.has(key):
            if default is not None or not required:
                return default
            self.req(key)
        value = self.data[key]
        if not isinstance(value, str) or not value:
            raise InputError(self.sub(key), f"expected a non-empty string, got {_describe(value)}")
        return value

    def num(
        self,
        key: str,
        default: float | None = None,
        lo: float | None = None,
        hi: float | None = None,
    ) -> float:
        if not self.has(key):
            if default is not None:
                return default
            self.req(key)
        value = self.data[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
        if not ok:
            rng = (
                f" in [{lo:g}, {hi:g}]"
                if lo is not None and hi is not None
                else (f" >= {lo:g}" if lo is not None else "")
            )
            raise InputError(self.sub(key), f"expected a number{rng}, got {_describe(value)}")
        return value

    def integer(
        self, key: str, default: int | None = None, lo: int = 0, hi: int | None = None
    ) -> int:
        if not self.has(key):
            if default is not None:
                return default
            self.req(key)
        value = self.data[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < lo
            or (hi is not None and value > hi)
        ):
            rng = f" in [{lo}, {hi}]" if hi is not None else f" >= {lo}"
            raise InputError(self.sub(key), f"expected an integer{rng}, got {_describe(value)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            raise InputError(self.sub(key), f"expected true or false, got {_describe(value)}")
        return value

    def instant(self, key: str) -> datetime:
        return parse_datetime(self.req(key), self.sub(key))

    def maybe_instant(self, key: str) -> datetime | None:
        return parse_datetime(self.data[key], self.sub(key)) if self.has(key) else None

    def items(self, key: str) -> list[tuple[str, Any]]:
        if not self.has(key):
            return []
        value = self.data[key]
        if not isinstance(value, list):
            raise InputError(self.sub(key), f"expected a list, got {_describe(value)}")
        return [(f"{self.sub(key)}[{i}]", item) for i, item in enumerate(value)]

    def req_items(self, key: str) -> list[tuple[str, Any]]:
        """Like :meth:`items`, but the list must be there (``[]`` is fine)."""
        if not self.has(key):
            raise InputError(self.sub(key), "expected a list, got nothing")
        return self.items(key)

    def str_list(self, key: str) -> list[str]:
        out = []
        for path, item in self.items(key):
            if not isinstance(item, str) or not item:
                raise InputError(path, f"expected a non-empty string, got {_describe(item)}")
            out.append(item)
        return out

    def obj(self, key: str) -> _Obj:
        return _Obj(self.req(key), self.sub(key))


# RFC 3339 date-time: full date, "T" (or "t" or a space), full time with seconds, optional
# fraction of any length, and an offset. Python's fromisoformat accepts much more (week
# dates, basic format, hours only, "+0800", "08:00:00,5"), none of which is the contract.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
# The same without an offset (seconds optional): a local time, which the contract refuses.
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?", re.ASCII)


def parse_datetime(value: Any, path: str) -> datetime:
    """Parse an RFC 3339 timestamp that must carry a UTC offset.

    Fractions beyond microseconds are truncated. Years outside
    [``MIN_YEAR``, ``MAX_YEAR``] are refused, so that adding a horizon or a commitment
    can never leave the range of :class:`datetime`.
    """
    if not isinstance(value, str):
        raise InputError(path, f"expected an RFC 3339 datetime string, got {_describe(value)}")
    m = _RFC3339.fullmatch(value)
    if m is None:
        if _LOCAL.fullmatch(value):
            raise InputError(
                path,
                f"expected a datetime with a UTC offset (e.g. +08:00 or Z), got {_describe(value)}",
            )
        raise InputError(
            path,
            "expected an RFC 3339 datetime with offset like 2026-11-23T08:00:00+08:00, "
            f"got {_describe(value)}",
        )
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    micro = int((m.group(7) or "").ljust(6, "0")[:6])
    try:
        if m.group(8):
            tz = UTC
        else:
            off_h, off_m = int(m.group(10)), int(m.group(11))
            if off_h > 23 or off_m > 59:
                raise ValueError("offset must be within -23:59 and +23:59")
            sign = -1 if m.group(9) == "-" else 1
            tz = timezone(sign * timedelta(hours=off_h, minutes=off_m))
        parsed = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise InputError(
            path, f"expected an RFC 3339 datetime with offset ({exc}), got {_describe(value)}"
        ) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise InputError(
            path,
            f"expected a datetime between {MIN_YEAR} and {MAX_YEAR}, got {_describe(value)}",
        )
    return parsed


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, to the second."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _location(obj: _Obj) -> Location:
    with _at(obj.path):
        return Location(lat=obj.num("lat", lo=-90, hi=90), lon=obj.num("lon", lo=-180, hi=180))


def _windows(obj: _Obj, key: str) -> list:
    from dispatcher.domain import Window

    out = []
    for path, item in obj.items(key):
        w = _Obj(item, path)
        start, end = w.instant("start"), w.instant("end")
        with _at(path):
            out.append(Window(start=start, end=end))
    return out


_SPAN = re.compile(r"\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*", re.ASCII)


def _span(text: Any, path: str) -> tuple[time, time]:
    m = _SPAN.fullmatch(text) if isinstance(text, str) else None
    try:
        if m is None:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise InputError(path, f'expected "HH:MM-HH:MM", got {_describe(text)}') from None


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
    from dispatcher.domain import Window

    pat = _Obj(pattern, path)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            path, f"expected a known IANA timezone for the engineer, got {tz_name!r}"
        ) from None
    spans: dict[int, list[tuple[time, time]]] = {}
    for key in pat.data:
        if key not in WEEKDAYS:
            raise InputError(pat.sub(key), f"expected a weekday name ({', '.join(WEEKDAYS)})")
        for ipath, text in pat.items(key):
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


def _engineer(obj: _Obj, planning_start: datetime, horizon_end: datetime) -> Engineer:
    tz_name = obj.text("timezone", default="UTC")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            obj.sub("timezone"),
            f"expected an IANA timezone name such as Asia/Shanghai, got {tz_name!r}",
        ) from None
    shifts = _windows(obj, "shifts")
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
        cur = obj.obj("current")
        with _at(cur.path):
            current = CurrentPosition(
                location=_location(cur.obj("location")),
                available_from=cur.instant("available_from"),
            )
    with _at(obj.path):
        return Engineer(
            id=obj.text("id"),
            name=obj.text("name", default=obj.text("id")),
            home=_location(obj.obj("home")),
            timezone=tz_name,
            skills=frozenset(obj.str_list("skills")),
            shifts=tuple(shifts),
            max_overtime_minutes=obj.integer("max_overtime_minutes", default=0, hi=24 * 60),
            can_travel_overseas=obj.flag("can_travel_overseas", True),
            current=current,
        )


def _order(obj: _Obj) -> Order:
    site = obj.obj("site")
    with _at(site.path):
        site_value = Site(
            location=_location(site),
            country=site.text("country"),
            name=site.text("name", required=False),
        )
    received_at = obj.instant("received_at")
    deadline = obj.maybe_instant("deadline")
    if deadline is not None and deadline < received_at:
        raise InputError(
            obj.sub("deadline"),
            f"expected a datetime at or after received_at ({format_datetime(received_at)}), "
            f"got {_describe(obj.data['deadline'])}",
        )
    with _at(obj.path):
        return Order(
            id=obj.text("id"),
            site=site_value,
            received_at=received_at,
            service_minutes=obj.integer("service_minutes", hi=7 * 24 * 60),
            commitment=obj.text("commitment", required=False),
            deadline=deadline,
            priority=obj.text("priority", default="normal"),
            required_skills=frozenset(obj.str_list("required_skills")),
            site_windows=tuple(_windows(obj, "site_windows")),
            pinned_engineer=obj.text("pinned_engineer", required=False),
            preferred_engineers=tuple(obj.str_list("preferred_engineers")),
            excluded_engineers=tuple(obj.str_list("excluded_engineers")),
        )


def _known_key(obj: _Obj, key: str, allowed: tuple[str, ...]) -> None:
    if key not in allowed:
        raise InputError(obj.sub(key), f"expected one of {', '.join(allowed)}, got {key!r}")


def _policy(data: Any, path: str) -> Policy:
    if data is None:
        return Policy()
    obj = _Obj(data, path)
    defaults = Policy()
    commitments = dict(defaults.commitments)
    if obj.has("commitments"):
        c = obj.obj("commitments")
        for key in c.data:
            _known_key(c, key, COMMITMENT_CLASSES)
            commitments[key] = c.num(key, lo=0.01, hi=MAX_COMMITMENT_HOURS)
    travel = TravelParams()
    if obj.has("travel"):
        t = obj.obj("travel")
        with _at(t.path):
            travel = TravelParams(
                circuity=t.num("circuity", travel.circuity, lo=1, hi=10),
                max_drive_km=t.num("max_drive_km", travel.max_drive_km, lo=0, hi=40_000),
                drive_kmh=t.num("drive_kmh", travel.drive_kmh, lo=0.1, hi=1_000),
                flight_overhead_h=t.num(
                    "flight_overhead_h", travel.flight_overhead_h, lo=0, hi=240
                ),
                flight_kmh=t.num("flight_kmh", travel.flight_kmh, lo=0.1, hi=5_000),
            )
    weights = Weights()
    if obj.has("weights"):
        w = obj.obj("weights")
        factors = dict(weights.priority_factor)
        if w.has("priority_factor"):
            pf = w.obj("priority_factor")
            for key in pf.data:
                _known_key(pf, key, PRIORITIES)
                factors[key] = pf.integer(key, lo=1, hi=MAX_PRIORITY_FACTOR)

        default_weights = weights

        def weight(key: str) -> int:
            return w.integer(key, getattr(default_weights, key), hi=MAX_WEIGHT)

        with _at(w.path):
            weights = Weights(
                unassigned=weight("unassigned"),
                late_per_breach=weight("late_per_breach"),
                late_per_minute=weight("late_per_minute"),
                travel_per_hour=weight("travel_per_hour"),
                travel_per_km=weight("travel_per_km"),
                overtime_per_hour=weight("overtime_per_hour"),
                not_preferred=weight("not_preferred"),
                priority_factor=factors,
            )
    with _at(path):
        return Policy(
            commitments=commitments,
            home_country=obj.text("home_country", default=defaults.home_country),
            travel=travel,
            weights=weights,
        )


def _check_engineer_refs(root: _Obj, engineers: list[Engineer]) -> None:
    """Preferred and excluded engineers must be in the roster: a typo in an exclusion
    would otherwise silently let the excluded engineer be sent.

    A pin to an absent engineer stays allowed (it is the reason
    ``pinned_engineer_unavailable``). With an empty roster nothing is checked: nobody can be
    sent, and a lone order is validated that way (``api.documents.parse_order``).
    """
    if not engineers:
        return
    roster = {e.id for e in engineers}
    for opath, item in root.items("orders"):
        o = _Obj(item, opath)
        for key in ("preferred_engineers", "excluded_engineers"):
            for path, ref in o.items(key):
                if ref not in roster:
                    raise InputError(
                        path, f"expected the id of an engineer in the roster, got {ref!r}"
                    )


def problem_from_dict(data: Any) -> Problem:
    """Validate and convert a Problem document (docs/contract.md)."""
    root = _Obj(data, "")
    planning_start = root.instant("planning_start")
    horizon = root.integer("horizon_hours", default=96, lo=1, hi=24 * 60)
    horizon_end = planning_start + timedelta(hours=horizon)
    policy = _policy(root.data.get("policy"), "policy")
    engineers = [
        _engineer(_Obj(item, path), planning_start, horizon_end)
        for path, item in root.req_items("engineers")
    ]
    orders = [_order(_Obj(item, path)) for path, item in root.req_items("orders")]
    _check_engineer_refs(root, engineers)
    return Problem(
        planning_start=planning_start,
        engineers=tuple(engineers),
        orders=tuple(orders),
        horizon_hours=horizon,
        policy=policy,
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
        return json.loads(text, parse_int=_parse_int)
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
            },
            "weights": {
                "unassigned": pol.weights.unassigned,
                "late_per_breach": pol.weights.late_per_breach,
                "late_per_minute": pol.weights.late_per_minute,
                "travel_per_hour": pol.weights.travel_per_hour,
                "travel_per_km": pol.weights.travel_per_km,
                "overtime_per_hour": pol.weights.overtime_per_hour,
                "not_preferred": pol.weights.not_preferred,
                "priority_factor": dict(pol.weights.priority_factor),
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
    }


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
            }
            for x in plan.late
        ],
        "unassigned": [
            {"order_id": x.order_id, "reason": x.reason.value, "detail": x.detail}
            for x in plan.unassigned
        ],
        "meta": dict(plan.meta),
    }


def _reason(obj: _Obj, key: str) -> Reason:
    value = obj.text(key)
    try:
        return Reason(value)
    except ValueError:
        raise InputError(
            obj.sub(key), f"expected one of {', '.join(r.value for r in Reason)}, got {value!r}"
        ) from None


def _opt(obj: _Obj, key: str, fn: Callable[[_Obj], T]) -> T | None:
    return fn(obj.obj(key)) if obj.has(key) else None


def plan_from_dict(data: Any) -> Plan:
    """Read a Plan document (e.g. a hand-edited one for ``dispatch check``)."""
    root = _Obj(data, "")
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
        r = _Obj(ritem, rpath)
        visits = []
        for vpath, vitem in r.items("visits"):
            v = _Obj(vitem, vpath)
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
            n = _Obj(nitem, npath)
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
        o = _Obj(item, path)
        late.append(
            LateOrder(
                order_id=o.text("order_id"),
                minutes_late=o.num("minutes_late", lo=0),
                reason=_reason(o, "reason"),
                detail=o.text("detail", default=""),
            )
        )
    unassigned = []
    for path, item in root.items("unassigned"):
        o = _Obj(item, path)
        unassigned.append(
            UnassignedOrder(
                order_id=o.text("order_id"),
                reason=_reason(o, "reason"),
                detail=o.text("detail", default=""),
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
