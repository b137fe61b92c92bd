"""Seeded generator of realistic dispatch problems (docs/contract.md documents).

The scenario is an industrial-equipment maker (crushers, mills, conveyors, packaging
lines) headquartered in Jinan with service stations in nine Chinese cities. Customer sites
sit in real industrial cities, as a service network's do: most in a station's area (within
``AREA_KM`` of a station that has an engineer with the ticket's skills, a few hours' drive),
a minority in Chinese cities beyond every station's area (``OUT_OF_AREA_CITIES``: a long
drive or a flight), and a share in South-East and Central Asia. The output is a plain
JSON-able dict that :func:`dispatcher.codec.problem_from_dict` accepts; docs/demo.md gives
the demo's arithmetic.

Determinism: every random draw comes from ``random.Random(seed).random()``, the one method
whose sequence Python promises not to change across versions (``randrange``, ``choice``,
``sample`` and numpy's ``Generator`` methods carry no such promise). Local times use fixed
UTC offsets, not the tz database, because none of the places used observes daylight saving
and a tzdata update (Kazakhstan moved to UTC+5 in 2024) must not change a shipped fixture.

The stations and cities are data tables of :mod:`dispatcher.places`, re-exported here. The
command line is ``dispatch generate`` (:mod:`dispatcher.cli`), the only one.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from itertools import accumulate, combinations
from pathlib import Path
from random import Random
from typing import Any

from dispatcher.domain import PRIORITIES, Reason
from dispatcher.errors import InputError
from dispatcher.places import (
    DOMESTIC_CITIES,
    OVERSEAS_CITIES,
    STATION_AREAS,
    STATIONS,
    City,
    Station,
)

DEFAULT_PLANNING_START = datetime(2026, 11, 23, 8, 0, tzinfo=timezone(timedelta(hours=8)))
# The other defaults of :func:`generate_problem` (and of ``dispatch generate``).
DEFAULT_HORIZON_HOURS = 96  # 4 working days of Monday-Saturday shifts from a Monday
DEFAULT_OVERSEAS_SHARE = 0.10
DEFAULT_OUT_OF_AREA_SHARE = 0.15
DEFAULT_PLANNED_SHARE = 0.8
MAX_HORIZON_HOURS = 24 * 60  # 60 days

SKILLS = (
    "mechanical",
    "hydraulics",
    "electrical",
    "plc",
    "high_voltage",
    "welding",
    "commissioning",
)
# Supply (what engineers know) and demand (what tickets ask for) are weighted separately:
# mechanical work dominates both; high-voltage certificates are rare.
_ENGINEER_SKILL_WEIGHTS = (10.0, 6.0, 7.0, 5.0, 1.5, 3.0, 3.0)
_ORDER_SKILL_WEIGHTS = (10.0, 6.0, 6.0, 4.0, 1.5, 2.5, 2.0)

_PRIORITY_WEIGHTS = (0.05, 0.20, 0.60, 0.15)  # one per ``PRIORITIES`` entry, same order

_HQ_TZ = timezone(timedelta(hours=8))  # the ticketing system stamps in Beijing time

JITTER_KM = 20.0  # customer sites lie within this distance of their city's centre
# A station's area: sites within this geodesic distance of it, 260 road km at the default
# circuity (1.3), 4 h at the default 65 km/h: an engineer from the station is there by noon.
AREA_KM = 200.0
_HOME_JITTER_KM = 12.0  # engineers live around their station's city
_RECEIVED_WINDOW_MIN = 20 * 60  # tickets arrive over the 20 hours before planning_start
# Relative tickets per hour of the day (Beijing time): quiet at night, a morning peak when
# plants start their shifts, a second one after lunch (dispatcher.demand's default too).
TICKET_HOUR_PROFILE: tuple[float, ...] = (
    0.3, 0.25, 0.2, 0.2, 0.25, 0.4, 0.7, 1.1, 1.6, 1.8, 1.7, 1.5,
    1.2, 1.4, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.6, 0.5, 0.4, 0.35,
)  # fmt: skip
_SHIFT = (time(8), time(18))
_SITE_HOURS = (time(8), time(17))
_WINDOWED_MAX_SERVICE_MIN = 360  # long jobs at sites with opening hours would never fit

_FACILITIES = (
    "cement plant",
    "steel works",
    "coal mine",
    "quarry",
    "ore concentrator",
    "aggregates yard",
    "power plant",
    "port terminal",
    "chemical plant",
    "packaging plant",
)
_SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Zhao",
    "Huang",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
    "Hu",
    "Zhu",
    "Gao",
    "Lin",
    "He",
    "Guo",
    "Ma",
    "Luo",
]
_GIVEN = [
    "Wei",
    "Lei",
    "Jun",
    "Yong",
    "Jie",
    "Tao",
    "Ming",
    "Chao",
    "Qiang",
    "Hao",
    "Bin",
    "Peng",
    "Gang",
    "Hui",
    "Jing",
    "Min",
    "Yan",
    "Xin",
]
_UYGHUR_GIVEN = ["Aziz", "Dilshat", "Ablimit", "Mirzat", "Dilnur", "Gulnar", "Erkin", "Nurlan"]
_UYGHUR_SURNAMES = ["Tursun", "Abdulla", "Yusup", "Kasim", "Niyaz", "Rozi"]


# ------------------------------------------------------------------ random helpers
# Thin wrappers over Random.random() only (see the module docstring for why).


def _below(rng: Random, n: int) -> int:
    return min(int(rng.random() * n), n - 1)


def _between(rng: Random, lo: int, hi: int, step: int = 1) -> int:
    """A uniform value in ``lo, lo + step, ..., hi``."""
    return lo + step * _below(rng, (hi - lo) // step + 1)


def _pick(rng: Random, seq: Sequence[Any]) -> Any:
    return seq[_below(rng, len(seq))]


def _weighted(rng: Random, cum: Sequence[float]) -> int:
    """An index drawn with the weights whose running sums are ``cum``."""
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _weighted_distinct(rng: Random, weights: Sequence[float], k: int) -> list[int]:
    """``k`` distinct indices, each drawn by weight from those not yet drawn."""
    left = list(range(len(weights)))
    out: list[int] = []
    for _ in range(min(k, len(left))):
        j = _weighted(rng, list(accumulate(weights[i] for i in left)))
        out.append(left.pop(j))
    return out


def _sample(rng: Random, n: int, k: int) -> list[int]:
    """``k`` distinct indices of ``range(n)``, in draw order (partial Fisher-Yates)."""
    pool = list(range(n))
    k = max(0, min(k, n))
    for i in range(k):
        j = i + _below(rng, n - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def _jitter(rng: Random, lat: float, lon: float, max_km: float) -> tuple[float, float]:
    """A point uniform in the disc of ``max_km`` around ``(lat, lon)``, to about a metre."""
    r_km = max_km * math.sqrt(rng.random())
    bearing = 2 * math.pi * rng.random()
    dlat = r_km * math.cos(bearing) / 111.32
    dlon = r_km * math.sin(bearing) / (111.32 * math.cos(math.radians(lat)))
    return round(lat + dlat, 5), round(lon + dlon, 5)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; only used to find a city's nearest station."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _nearest_station(city: City) -> int:
    dists = [_km(city.lat, city.lon, s.lat, s.lon) for s in STATIONS]
    return dists.index(min(dists))


# A city's region is its nearest station: that is who the customer knows, and where an
# engineer's current job is.
_CITY_REGION = {c.name: _nearest_station(c) for c in DOMESTIC_CITIES + OVERSEAS_CITIES}
# The Chinese cities beyond every station's area: a long drive (Shijiazhuang, Qingdao) or a
# flight (Baotou, Kunming, Lhasa) from the nearest station.
OUT_OF_AREA_CITIES = tuple(
    c for c in DOMESTIC_CITIES if min(_km(c.lat, c.lon, s.lat, s.lon) for s in STATIONS) > AREA_KM
)
_CUM_OUT_OF_AREA = list(accumulate(c.weight for c in OUT_OF_AREA_CITIES))
_CUM_AREA = [list(accumulate(c.weight for c in area)) for area in STATION_AREAS]
_CUM_OVERSEAS = list(accumulate(c.weight for c in OVERSEAS_CITIES))
_CUM_PRIORITY = list(accumulate(_PRIORITY_WEIGHTS))


def _ts(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _daily(
    tz: tzinfo, hours: tuple[time, time], start: datetime, end: datetime, days: int
) -> list[dict[str, str]]:
    """Absolute windows of ``hours`` local time on each weekday ``< days`` that meet
    ``[start, end)``; ``days=6`` is Monday to Saturday, ``7`` every day."""
    out = []
    day: date = (start.astimezone(tz) - timedelta(days=1)).date()
    last: date = end.astimezone(tz).date()
    while day <= last:
        s = datetime.combine(day, hours[0], tz)
        e = datetime.combine(day, hours[1], tz)
        if day.weekday() < days and e > start and s < end:
            out.append({"start": _ts(s), "end": _ts(e)})
        day += timedelta(days=1)
    return out


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Head count per station: one each when there are enough people, the rest
    proportional to ``weights`` by largest remainder (ties to the earlier station)."""
    base = [1 if total >= len(weights) else 0 for _ in weights]
    rest = total - sum(base)
    quotas = [rest * w / sum(weights) for w in weights]
    counts = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[: rest - sum(counts)]:
        counts[i] += 1
    return [b + c for b, c in zip(base, counts, strict=True)]


def _engineer_skills(rng: Random) -> list[str]:
    k = (2, 3, 4)[_weighted(rng, (0.35, 0.80, 1.0))]
    drawn = _weighted_distinct(rng, _ENGINEER_SKILL_WEIGHTS, k)
    names = [SKILLS[i] for i in drawn]
    # Nobody holds a high-voltage ticket without being an electrician.
    if "high_voltage" in names and "electrical" not in names:
        swap = max(i for i, s in enumerate(names) if s != "high_voltage")
        names[swap] = "electrical"
    return sorted(names)


def _engineer_name(rng: Random, station: Station) -> str:
    if station.name == "Urumqi" and rng.random() < 0.5:
        return f"{_pick(rng, _UYGHUR_GIVEN)} {_pick(rng, _UYGHUR_SURNAMES)}"
    return f"{_pick(rng, _SURNAMES)} {_pick(rng, _GIVEN)}"


# ------------------------------------------------------------------ public API


def generate_problem(
    orders: int,
    engineers: int,
    seed: int,
    planning_start: datetime | None = None,
    horizon_hours: int = DEFAULT_HORIZON_HOURS,
    overseas_share: float = DEFAULT_OVERSEAS_SHARE,
    planned_share: float = DEFAULT_PLANNED_SHARE,
    out_of_area_share: float = DEFAULT_OUT_OF_AREA_SHARE,
    awkward: bool = False,
) -> dict[str, Any]:
    """A realistic Problem document, identical for identical arguments.

    Parameters
    ----------
    orders
        Number of dispatch orders (``T-100001``, … in the order tickets arrived).
    engineers
        Number of engineers (``ENG-001``, …), spread over the service stations in
        proportion to station size, at least one per station when there are enough.
    seed
        Seed of the only random stream used.
    planning_start
        "Now" of the plan, timezone-aware; default 2026-11-23 08:00 +08:00 (a Monday).
    horizon_hours
        Planning horizon; shifts and site windows cover it.
    overseas_share
        Fraction of orders at overseas sites (rounded to a whole number of orders).
    out_of_area_share
        Fraction of orders at Chinese sites beyond every station's area
        (``OUT_OF_AREA_CITIES``; rounded, at most the orders left after the overseas ones).
        The other domestic orders lie in the area (``STATION_AREAS``) of a station with
        engineers, drawn by the weight of the area's cities, and ask only for skills that
        station's own engineers hold.
    planned_share
        Probability that a domestic order is planned work (maintenance, commissioning) with
        an explicit ``deadline`` 30 h or more ahead rather than a fault ticket on the
        commitment clock. Without planned work a 4-day backlog is all due within a day.
    awkward
        Turn up to ``len(AWKWARD_REASONS)`` ordinary orders into the awkward tickets a real
        backlog holds, each built so that no engineer can serve it for one reason of
        ``AWKWARD_REASONS`` (see :func:`_make_awkward`; the demo has them, docs/demo.md lists
        them). They keep their ids, arrival times and sites, and are drawn after everything
        else, so the other orders, the roster and the order count are those of
        ``awkward=False``. Off by default: benchmarks and simulations plan ordinary orders.

    Returns
    -------
    dict
        A JSON-able Problem (docs/contract.md) for
        :func:`dispatcher.codec.problem_from_dict`. Every ordinary order has at least one
        engineer holding all its required skills (allowed abroad when the site is overseas),
        and every timestamp is RFC 3339 with an offset.

    Raises
    ------
    InputError
        On a negative count, no engineers for a non-empty order list, a naive
        ``planning_start``, a horizon outside ``[1, 1440]`` or a share outside ``[0, 1]``.
    """
    if orders < 0:
        raise InputError("orders", f"expected an integer >= 0, got {orders!r}")
    if engineers < 1 and orders > 0:
        raise InputError(
            "engineers", f"expected an integer >= 1 when there are orders, got {engineers!r}"
        )
    if engineers < 0:
        raise InputError("engineers", f"expected an integer >= 0, got {engineers!r}")
    if not 1 <= horizon_hours <= MAX_HORIZON_HOURS:
        raise InputError(
            "horizon_hours",
            f"expected an integer in [1, {MAX_HORIZON_HOURS}], got {horizon_hours!r}",
        )
    if not 0.0 <= overseas_share <= 1.0:
        raise InputError("overseas_share", f"expected a number in [0, 1], got {overseas_share!r}")
    if not 0.0 <= planned_share <= 1.0:
        raise InputError("planned_share", f"expected a number in [0, 1], got {planned_share!r}")
    if not 0.0 <= out_of_area_share <= 1.0:
        raise InputError(
            "out_of_area_share", f"expected a number in [0, 1], got {out_of_area_share!r}"
        )
    start = DEFAULT_PLANNING_START if planning_start is None else planning_start
    if start.tzinfo is None or start.utcoffset() is None:
        raise InputError(
            "planning_start", f"expected a datetime with a UTC offset, got {start.isoformat()}"
        )
    start = start.replace(microsecond=0)
    end = start + timedelta(hours=horizon_hours)
    rng = Random(seed)

    staff = _make_engineers(rng, engineers, start, end)
    return {
        "planning_start": _ts(start),
        "horizon_hours": horizon_hours,
        "policy": {
            "commitments": {"domestic": 24, "overseas": 72, "remote": 72},
            "home_country": "CN",
        },
        "engineers": [e.doc for e in staff],
        "orders": _make_orders(
            rng,
            orders,
            staff,
            start,
            end,
            overseas_share,
            planned_share,
            horizon_hours,
            out_of_area_share,
            awkward,
        ),
    }


@dataclass(slots=True)
class _Staff:
    doc: dict[str, Any]
    station: int
    skills: frozenset[str]
    abroad: bool


def _make_engineers(rng: Random, n: int, start: datetime, end: datetime) -> list[_Staff]:
    counts = _allocate(n, [s.weight for s in STATIONS])
    station_of = [i for i, c in enumerate(counts) for _ in range(c)]
    # Exact head counts rather than coin flips, so small teams still show each feature.
    overtime = set(_sample(rng, n, round(0.15 * n)))
    # At least one engineer must be allowed abroad, or overseas orders are noise.
    grounded = set(_sample(rng, n, min(round(0.10 * n), n - 1)))
    busy = set(_sample(rng, n, round(0.20 * n)))
    width = max(3, len(str(n)))
    shifts_at: dict[int, list[dict[str, str]]] = {}
    out = []
    for i, si in enumerate(station_of):
        st = STATIONS[si]
        lat, lon = _jitter(rng, st.lat, st.lon, _HOME_JITTER_KM)
        skills = _engineer_skills(rng)
        if si not in shifts_at:
            shifts_at[si] = _daily(st.tz, _SHIFT, start, end, days=6)
        doc: dict[str, Any] = {
            "id": f"ENG-{i + 1:0{width}d}",
            "name": _engineer_name(rng, st),
            "home": {"lat": lat, "lon": lon},
            "timezone": st.timezone,
            "skills": skills,
            "shifts": [dict(w) for w in shifts_at[si]],
            "max_overtime_minutes": _pick(rng, (60, 90, 120)) if i in overtime else 0,
            "can_travel_overseas": i not in grounded,
            "current": None,
        }
        if i in busy:
            # Finishing a job at a customer in the own region, free within a few hours.
            region = [c for c in DOMESTIC_CITIES if _CITY_REGION[c.name] == si]
            city = _pick(rng, region) if region else None
            here = (st.lat, st.lon) if city is None else (city.lat, city.lon)
            clat, clon = _jitter(rng, here[0], here[1], JITTER_KM)
            free = start + timedelta(minutes=_between(rng, 30, 240, 15))
            doc["current"] = {
                "location": {"lat": clat, "lon": clon},
                "available_from": _ts(free.astimezone(_HQ_TZ)),
            }
        out.append(_Staff(doc, si, frozenset(skills), i not in grounded))
    return out


def _skilled(staff: list[_Staff], skills: frozenset[str], abroad: bool) -> list[int]:
    return [i for i, e in enumerate(staff) if skills <= e.skills and (e.abroad or not abroad)]


def _regional_first(rng: Random, staff: list[_Staff], cands: list[int], region: int) -> int:
    local = [i for i in cands if staff[i].station == region]
    return int(_pick(rng, local or cands))


def _age_minutes(rng: Random, cum_hours: Sequence[float]) -> int:
    """Minutes a ticket has waited: hour ``h`` before planning start drawn by the running
    sums ``cum_hours``, then a minute inside it."""
    return 60 * _weighted(rng, cum_hours) + _between(rng, 0, 59)


def _make_orders(
    rng: Random,
    n: int,
    staff: list[_Staff],
    start: datetime,
    end: datetime,
    overseas_share: float,
    planned_share: float = 0.0,
    horizon_hours: int = 96,
    out_of_area_share: float = 0.0,
    awkward: bool = False,
) -> list[dict[str, Any]]:
    # Every skill set of size 1-2 that some engineer covers: at home, abroad, and at each
    # station (its area's tickets are the ones its own engineers can do).
    coverable: dict[bool, set[frozenset[str]]] = {False: set(), True: set()}
    local: list[set[frozenset[str]]] = [set() for _ in STATIONS]
    crews: list[list[_Staff]] = [[] for _ in STATIONS]
    for e in staff:
        subsets = {frozenset(c) for k in (1, 2) for c in combinations(sorted(e.skills), k)}
        coverable[False] |= subsets
        local[e.station] |= subsets
        crews[e.station].append(e)
        if e.abroad:
            coverable[True] |= subsets
    # Area tickets go to the cities of staffed stations, by city weight: a station's share
    # of the tickets is its area's weight, which is not quite its share of the head count
    # (with 30 engineers, Chengdu's and Urumqi's areas have more work per head than Jinan's).
    cum_area = list(
        accumulate(
            sum(c.weight for c in STATION_AREAS[k]) if crews[k] else 0.0
            for k in range(len(STATIONS))
        )
    )
    overseas = set(_sample(rng, n, round(overseas_share * n)))
    home = [i for i in range(n) if i not in overseas]
    n_out = min(round(out_of_area_share * n), len(home))
    out_of_area = {home[j] for j in _sample(rng, len(home), n_out)}
    start_hq = start.astimezone(_HQ_TZ)
    # Plants report faults on the day shift more than at night (Beijing time). Ticket ids
    # grow with arrival time, as they do in a ticketing system.
    cum_hours = list(
        accumulate(
            TICKET_HOUR_PROFILE[(start_hq - timedelta(hours=h + 1)).hour]
            for h in range(_RECEIVED_WINDOW_MIN // 60)
        )
    )
    ages = sorted((_age_minutes(rng, cum_hours) for _ in range(n)), reverse=True)
    out = []
    regions = []
    places = []
    # Eligible staff per (skills, abroad): a scan of the roster per order made 100,000 orders
    # for 10,000 engineers take minutes.
    skilled: dict[tuple[frozenset[str], bool], list[int]] = {}
    for i in range(n):
        abroad = i in overseas
        if abroad or i in out_of_area:
            skills = _order_skills(rng, staff, coverable[abroad], abroad)
            cities, cum = (
                (OVERSEAS_CITIES, _CUM_OVERSEAS)
                if abroad
                else (OUT_OF_AREA_CITIES, _CUM_OUT_OF_AREA)
            )
            city = cities[_weighted(rng, cum)]
            region = _CITY_REGION[city.name]
        else:
            region = _weighted(rng, cum_area)
            city = STATION_AREAS[region][_weighted(rng, _CUM_AREA[region])]
            skills = _order_skills(rng, crews[region], local[region], False)
        lat, lon = _jitter(rng, city.lat, city.lon, JITTER_KM)
        windowed = rng.random() < 0.30
        service = _service_minutes(rng)
        if windowed:
            service = min(service, _WINDOWED_MAX_SERVICE_MIN)
        doc: dict[str, Any] = {
            "id": f"T-{100001 + i}",
            "site": {
                "lat": lat,
                "lon": lon,
                "country": city.country,
                "name": f"{city.name} {_pick(rng, _FACILITIES)}",
            },
            "received_at": _ts(start_hq - timedelta(minutes=ages[i])),
            "commitment": "remote" if city.remote else None,
            "deadline": None,
            "priority": PRIORITIES[_weighted(rng, _CUM_PRIORITY)],
            "required_skills": sorted(skills),
            "service_minutes": service,
            "site_windows": _daily(city.tz, _SITE_HOURS, start, end, days=7) if windowed else [],
            "pinned_engineer": None,
            "preferred_engineers": [],
            "excluded_engineers": [],
        }
        if not abroad and rng.random() < planned_share:
            # Planned work (preventive maintenance, commissioning, inspections) is booked
            # with an explicit due date days out; only fault tickets run on the 24 h clock.
            due_h = _between(rng, 30, max(31, horizon_hours - 6))
            doc["deadline"] = _ts(start_hq + timedelta(hours=due_h))
            doc["priority"] = "normal" if rng.random() < 0.6 else "low"
        regions.append(region)
        places.append(city)
        key = (skills, abroad)
        if key not in skilled:
            skilled[key] = _skilled(staff, skills, abroad)
        eligible = skilled[key]
        if rng.random() < 0.10:
            # The customer asks for the engineer(s) who know their machines.
            first = _regional_first(rng, staff, eligible, region)
            chosen = [first]
            if len(eligible) > 1 and rng.random() < 0.3:
                chosen.append(_pick(rng, [j for j in eligible if j != first]))
            doc["preferred_engineers"] = [staff[j].doc["id"] for j in sorted(chosen)]
        if rng.random() < 0.03:
            # Excluding must leave someone able to do the job, else the reason is noise.
            banned = [j for j in eligible if staff[j].doc["id"] not in doc["preferred_engineers"]]
            if banned and len(eligible) >= 2:
                doc["excluded_engineers"] = [staff[_pick(rng, banned)].doc["id"]]
        out.append(doc)
    _pin(rng, out, regions, staff)
    if awkward:
        groups = [
            "overseas" if i in overseas else "out" if i in out_of_area else "area" for i in range(n)
        ]
        _make_awkward(rng, out, regions, places, groups, staff, start, end)
    return out


def _order_skills(
    rng: Random, staff: list[_Staff], coverable: set[frozenset[str]], abroad: bool
) -> frozenset[str]:
    k = 1 if rng.random() < 0.70 else 2
    for _ in range(5):
        skills = frozenset(SKILLS[j] for j in _weighted_distinct(rng, _ORDER_SKILL_WEIGHTS, k))
        if skills in coverable:
            return skills
        k = 1  # a rare pair nobody holds: fall back to a single skill
    # A skill nobody (allowed abroad) holds: ask for one a real engineer has.
    able = [e for e in staff if e.abroad or not abroad]
    return frozenset([_pick(rng, sorted(_pick(rng, able).skills))])


def _service_minutes(rng: Random) -> int:
    u = rng.random()
    if u < 0.25:
        return _between(rng, 60, 90, 15)  # inspections, resets
    if u < 0.90:
        return _between(rng, 90, 180, 15)  # the common repair
    return _between(rng, 240, 480, 30)  # liner or gearbox changes


def _pin(
    rng: Random, orders: list[dict[str, Any]], regions: list[int], staff: list[_Staff]
) -> None:
    """Pin one to three domestic orders to a skilled engineer of their region, as a
    published plan would have promised them."""
    cands = [
        i
        for i, o in enumerate(orders)
        if o["site"]["country"] == "CN" and not o["excluded_engineers"]
    ]
    for i in sorted(_sample(rng, len(cands), _between(rng, 1, 3))):
        o = orders[cands[i]]
        eligible = _skilled(staff, frozenset(o["required_skills"]), False)
        pinned = _regional_first(rng, staff, eligible, regions[cands[i]])
        o["pinned_engineer"] = staff[pinned].doc["id"]


# ------------------------------------------------------------------ awkward orders

# What the awkward orders of ``generate_problem(awkward=True)`` are built to end on, in the
# order they are made (docs/reasons.md says how each reason is decided). ``capacity``,
# ``unreachable_before_deadline`` and ``not_planned_in_time`` depend on the rest of the
# plan or on the time limit, so ordinary orders show them or not.
AWKWARD_REASONS: tuple[Reason, ...] = (
    Reason.NO_SKILLED_ENGINEER,  # a specialist inspection nobody on the roster is certified for
    Reason.EXCLUDED,  # the customer barred every engineer with the skills
    Reason.OVERSEAS_NOT_ALLOWED,  # abroad, and only engineers who may not travel have the skills
    Reason.PINNED_ENGINEER_UNAVAILABLE,  # pinned to the usual engineer, who lacks a skill
    Reason.SITE_WINDOW_CLOSED,  # the line stops only at night, when nobody works
    Reason.SITE_WINDOW_CLOSED,  # a 4-hour stop at the plan's start, far from everybody
    Reason.BEYOND_HORIZON,  # 14 hours in one go: longer than any working day
)
# Ultrasonic testing of shafts and welds is bought from a certified inspection firm.
SPECIALIST_SKILL = "ultrasonic_testing"
# A continuous line stops at night: after every shift (08:00-18:00) and its overtime
# (at most 120 min), in any of the generator's time zones.
_NIGHT_STOP = (time(22), time(6))
_SHORT_STOP_H = 4
# Geodesic km from every skilled engineer to the site with the short stop: at circuity 1.3
# a 6-hour drive, or a flight with its 3.5 h of overhead, so nobody arrives while it lasts.
_FAR_KM = 300.0
_UNBROKEN_SERVICE_MIN = 840  # a shift is 600 min, overtime at most 120


def _start_of(e: _Staff) -> tuple[float, float]:
    at = e.doc["current"]["location"] if e.doc["current"] else e.doc["home"]
    return at["lat"], at["lon"]


def _nightly(tz: tzinfo, start: datetime, end: datetime) -> list[dict[str, str]]:
    """``_NIGHT_STOP`` windows, local time ``tz``, every night that meets ``[start, end)``."""
    out = []
    day: date = (start.astimezone(tz) - timedelta(days=1)).date()
    while day <= end.astimezone(tz).date():
        s = datetime.combine(day, _NIGHT_STOP[0], tz)
        e = datetime.combine(day + timedelta(days=1), _NIGHT_STOP[1], tz)
        if e > start and s < end:
            out.append({"start": _ts(s), "end": _ts(e)})
        day += timedelta(days=1)
    return out


def _make_awkward(
    rng: Random,
    orders: list[dict[str, Any]],
    regions: list[int],
    places: list[City],
    groups: list[str],
    staff: list[_Staff],
    start: datetime,
    end: datetime,
) -> None:
    """Turn ordinary orders into one awkward ticket per entry of ``AWKWARD_REASONS``.

    Each is an order without pin, preference or exclusion, of the group (``area``, ``out``,
    ``overseas``) its story needs, drawn after everything else; it keeps its id, arrival,
    site and deadline, and only what it asks for changes. A kind the roster cannot give
    is skipped: ``overseas_not_allowed`` needs skills that only engineers who may not
    travel abroad hold together, and the far site needs an out-of-area order more than
    ``_FAR_KM`` from every engineer with its skills.
    """
    free = [
        i
        for i, o in enumerate(orders)
        if not (o["pinned_engineer"] or o["preferred_engineers"] or o["excluded_engineers"])
    ]

    def take(group: str, ok: Callable[[int], bool] | None = None) -> int | None:
        cands = [i for i in free if groups[i] == group and (ok is None or ok(i))]
        if not cands:
            return None
        i = int(_pick(rng, cands))
        free.remove(i)
        return i

    # no_skilled_engineer: the order's work plus ultrasonic testing of the part.
    i = take("area")
    if i is not None:
        orders[i]["required_skills"] = sorted({*orders[i]["required_skills"], SPECIALIST_SKILL})

    # excluded: the rarest skill set on the roster (a customer bars one or two engineers,
    # not a dozen), the likelier job first, at a site in a holder's station area.
    holders: dict[frozenset[str], list[int]] = {}
    for j, e in enumerate(staff):
        for k in (1, 2):
            for c in combinations(sorted(e.skills), k):
                holders.setdefault(frozenset(c), []).append(j)
    demand = dict(zip(SKILLS, _ORDER_SKILL_WEIGHTS, strict=True))
    if holders:
        rare = min(
            holders,
            key=lambda s: (len(holders[s]), -math.prod(demand[x] for x in s), sorted(s)),
        )
        home = {staff[j].station for j in holders[rare]}
        i = take("area", lambda i: regions[i] in home)
        if i is None:
            i = take("area")
        if i is not None:
            orders[i]["required_skills"] = sorted(rare)
            orders[i]["excluded_engineers"] = [staff[j].doc["id"] for j in holders[rare]]

    # overseas_not_allowed: the smallest skill set that only grounded engineers hold.
    allowed = [e.skills for e in staff if e.abroad]
    grounded_only = sorted(
        {
            frozenset(c)
            for e in staff
            if not e.abroad
            for k in range(1, len(e.skills) + 1)
            for c in combinations(sorted(e.skills), k)
            if not any(frozenset(c) <= a for a in allowed)
        },
        key=lambda s: (len(s), sorted(s)),
    )
    if grounded_only:
        i = take("overseas")
        if i is not None:
            orders[i]["required_skills"] = sorted(grounded_only[0])

    # pinned_engineer_unavailable: pinned to an engineer of the site's station who lacks
    # one of the skills (the customer's usual engineer; this fault needs something else).
    def lacking(i: int) -> list[int]:
        need = set(orders[i]["required_skills"])
        return [j for j, e in enumerate(staff) if e.station == regions[i] and not need <= e.skills]

    i = take("area", lambda i: bool(lacking(i)))
    if i is not None:
        orders[i]["pinned_engineer"] = staff[int(_pick(rng, lacking(i)))].doc["id"]

    # site_window_closed: the plant stops its line only at night, when nobody works.
    i = take("area")
    if i is not None:
        orders[i]["site_windows"] = _nightly(places[i].tz, start, end)
        orders[i]["service_minutes"] = min(orders[i]["service_minutes"], _WINDOWED_MAX_SERVICE_MIN)

    # site_window_closed: a 4-hour stop from the plan's start, at a site far from everyone
    # with the skills (the window holds the visit; nobody can be there while it is open).
    def far(i: int) -> bool:
        lat, lon = orders[i]["site"]["lat"], orders[i]["site"]["lon"]
        need = set(orders[i]["required_skills"])
        return all(_km(lat, lon, *_start_of(e)) > _FAR_KM for e in staff if need <= e.skills)

    i = take("out", far)
    if i is not None:
        tz = places[i].tz
        orders[i]["site_windows"] = [
            {
                "start": _ts(start.astimezone(tz)),
                "end": _ts((start + timedelta(hours=_SHORT_STOP_H)).astimezone(tz)),
            }
        ]
        orders[i]["service_minutes"] = min(orders[i]["service_minutes"], 180)

    # beyond_horizon: a mill relining that must run 14 hours in one stop.
    i = take("area", lambda i: not orders[i]["site_windows"])
    if i is not None:
        orders[i]["service_minutes"] = _UNBROKEN_SERVICE_MIN


def problem_json(problem: dict[str, Any]) -> str:
    """A Problem document as the text ``dispatch generate`` writes: readable UTF-8 JSON
    (``indent=1``, one final newline), the form of ``fixtures/demo.json``."""
    return json.dumps(problem, indent=1, ensure_ascii=False) + "\n"


def write_problem(path: str | Path, problem: dict[str, Any]) -> None:
    """Write a Problem document as readable UTF-8 JSON (:func:`problem_json`).

    Parameters
    ----------
    path
        Target file; its parent directory must exist.
    problem
        A JSON-able Problem document, e.g. from :func:`generate_problem`.
    """
    Path(path).write_text(problem_json(problem), encoding="utf-8")


__all__ = [
    "AREA_KM",
    "AWKWARD_REASONS",
    "DEFAULT_HORIZON_HOURS",
    "DEFAULT_OUT_OF_AREA_SHARE",
    "DEFAULT_OVERSEAS_SHARE",
    "DEFAULT_PLANNED_SHARE",
    "DEFAULT_PLANNING_START",
    "DOMESTIC_CITIES",
    "JITTER_KM",
    "MAX_HORIZON_HOURS",
    "OUT_OF_AREA_CITIES",
    "OVERSEAS_CITIES",
    "SKILLS",
    "SPECIALIST_SKILL",
    "STATION_AREAS",
    "STATIONS",
    "TICKET_HOUR_PROFILE",
    "City",
    "Station",
    "generate_problem",
    "problem_json",
    "write_problem",
]

if __name__ == "__main__":
    # The command line is dispatcher/cli.py's alone (importing it here would be an import
    # circle): say where it went rather than exit 0 having done nothing.
    raise SystemExit(
        "python -m dispatcher.generate is gone: use `dispatch generate` (or `python -m "
        "dispatcher.cli generate`); `dispatch generate --help` lists the options"
    )
