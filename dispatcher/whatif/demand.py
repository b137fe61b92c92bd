"""Demand for what-if simulation: a seeded stochastic ticket model, or a CSV replay.

A *demand stream* is the tickets of one replication, drawn once and shared by every
variant (common random numbers). Each ticket carries its own random marks:

``thin_u``
    uniform in ``[0, 1)``: the stream is drawn at ``oversample`` times the base rate and a
    variant keeps a ticket when ``thin_u * oversample < weight``. Demand multipliers only
    change ``weight``, so a variant at ×1 sees exactly the base tickets and a variant at
    ×1.4 sees them plus 40 % more (Poisson thinning keeps every rate exact).
``segment_u``
    uniform in ``[0, 1)``: which customer segment the ticket falls in (e.g. "premium
    customers are 20 %" keeps ``segment_u < 0.2``), the same in every variant.
``service_factor``, ``travel_factor``
    actual / planned service time and inbound travel time, drawn lognormal.

Determinism: every draw comes from ``random.Random(seed).random()`` (the one method whose
sequence Python promises to keep, see :mod:`dispatcher.generate`).
"""

from __future__ import annotations

import csv
import hashlib
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from random import Random

from dispatcher.domain import COMMITMENT_CLASSES, PRIORITIES, Location, Order, Policy, Site
from dispatcher.errors import InputError
from dispatcher.generate import (
    DOMESTIC_CITIES,
    OVERSEAS_CITIES,
    SKILLS,
    STATIONS,
    TICKET_HOUR_PROFILE,
    City,
)
from dispatcher.reader import parse_datetime
from dispatcher.travel import geodesic_km

HQ_TZ = timezone(timedelta(hours=8))  # tickets are stamped, and profiles read, in Beijing time

# Hour-of-day profile of fault tickets (Beijing time): quiet at night, a morning peak when
# plants start their shifts, a second one after lunch. The generator's tickets follow it too.
DEFAULT_HOUR_PROFILE: tuple[float, ...] = TICKET_HOUR_PROFILE
DEFAULT_WEEKDAY_PROFILE: tuple[float, ...] = (1.15, 1.1, 1.05, 1.05, 1.0, 0.9, 0.75)
# Same mix as the generator's orders: mechanical work dominates, high voltage is rare.
DEFAULT_SKILL_MIX: dict[str, float] = dict(
    zip(SKILLS, (10.0, 6.0, 6.0, 4.0, 1.5, 2.5, 2.0), strict=True)
)
DEFAULT_PRIORITY_MIX: dict[str, float] = {"critical": 0.05, "high": 0.2, "normal": 0.6, "low": 0.15}


def nearest_station(lat: float, lon: float) -> str:
    """Name of the service station closest to a point: the point's *region*."""
    dists = [float(geodesic_km(lat, lon, s.lat, s.lon)) for s in STATIONS]
    return STATIONS[dists.index(min(dists))].name


CITY_REGION: dict[str, str] = {
    c.name: nearest_station(c.lat, c.lon) for c in DOMESTIC_CITIES + OVERSEAS_CITIES
}


def station_names() -> tuple[str, ...]:
    return tuple(s.name for s in STATIONS)


def default_region_weights() -> dict[str, float]:
    """Relative domestic ticket volume per region: the generator's city weights, summed."""
    out = {s.name: 0.0 for s in STATIONS}
    for c in DOMESTIC_CITIES:
        out[CITY_REGION[c.name]] += c.weight
    return out


@dataclass(frozen=True, slots=True)
class Ticket:
    """One ticket of a demand stream (see the module docstring for the marks)."""

    id: str
    received_at: datetime
    location: Location
    country: str
    region: str
    priority: str
    required_skills: frozenset[str]
    service_minutes: int  # the estimate the dispatcher plans with
    site_name: str | None = None
    commitment: str | None = None
    deadline: datetime | None = None
    service_factor: float = 1.0
    travel_factor: float = 1.0
    thin_u: float = 0.0
    segment_u: float = 0.0
    weight: float = 1.0
    premium_hours: float | None = None  # a tighter commitment (scenario "premium" class)

    @property
    def actual_service_minutes(self) -> float:
        return self.service_minutes * self.service_factor

    def to_order(self, policy: Policy | None = None) -> Order:
        """The dispatch order the ticketing system creates for this ticket.

        With ``premium_hours`` the order carries an explicit deadline: the earlier of its
        class deadline under ``policy`` and ``received_at + premium_hours``.
        """
        order = Order(
            id=self.id,
            site=Site(location=self.location, country=self.country, name=self.site_name),
            received_at=self.received_at,
            service_minutes=self.service_minutes,
            commitment=self.commitment,
            deadline=self.deadline,
            priority=self.priority,
            required_skills=self.required_skills,
        )
        if self.premium_hours is None:
            return order
        premium = self.received_at + timedelta(hours=self.premium_hours)
        return replace(order, deadline=min((policy or Policy()).deadline(order), premium))


@dataclass(frozen=True, slots=True)
class DemandStream:
    """Tickets drawn at ``oversample`` times the base rate, in arrival order."""

    tickets: tuple[Ticket, ...]
    oversample: float = 1.0

    def realized(self) -> tuple[Ticket, ...]:
        """The tickets this stream's variant actually receives (Poisson thinning)."""
        m = self.oversample
        return tuple(t for t in self.tickets if t.thin_u * m < t.weight)


def _check_profile(path: str, values: Sequence[float], n: int) -> tuple[float, ...]:
    if len(values) != n:
        raise InputError(path, f"expected {n} non-negative numbers, got {len(values)}")
    for i, v in enumerate(values):
        if not (
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 and math.isfinite(v)
        ):
            raise InputError(f"{path}[{i}]", f"expected a non-negative number, got {v!r}")
    if sum(values) <= 0:
        raise InputError(path, "expected at least one positive value, got all zeros")
    return tuple(float(v) for v in values)


def _check_mix(
    path: str, mix: Mapping[str, float], allowed: Sequence[str] | None
) -> dict[str, float]:
    out = {}
    for k, v in mix.items():
        if allowed is not None and k not in allowed:
            raise InputError(f"{path}.{k}", f"expected one of {', '.join(allowed)}")
        if not (
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 and math.isfinite(v)
        ):
            raise InputError(f"{path}.{k}", f"expected a non-negative number, got {v!r}")
        out[k] = float(v)
    if not out or sum(out.values()) <= 0:
        raise InputError(path, "expected at least one positive weight")
    return out


@dataclass(frozen=True)
class DemandModel:
    """Seeded stochastic demand: a non-homogeneous Poisson process of tickets.

    The arrival rate in hour ``h`` (Beijing time) of a day with weekday ``w`` is
    ``tickets_per_day * weekday_profile[w] / mean(weekday_profile)
    * hour_profile[h] / sum(hour_profile)``. A ticket is overseas with probability
    ``overseas_share`` (city by the generator's weights), else its region is drawn by
    ``region_weights`` and its city within the region by city weight. It needs one skill
    (two with probability ``two_skill_share``) by ``skill_mix``, has a priority by
    ``priority_mix`` and a planned service time lognormal with median
    ``service_median_minutes`` and log-sd ``service_sigma``, rounded to 15 minutes and
    clipped to ``[service_min_minutes, service_max_minutes]``. With probability
    ``planned_share`` a domestic ticket is planned work due 30 to ``planned_due_hours``
    hours after it arrives (explicit ``deadline``, normal or low priority). The actual
    service and inbound travel are the planned ones times lognormal factors with median 1
    and log-sd ``service_deviation_sigma`` / ``travel_deviation_sigma``.
    """

    tickets_per_day: float = 60.0
    overseas_share: float = 0.08
    region_weights: dict[str, float] = field(default_factory=default_region_weights)
    hour_profile: tuple[float, ...] = DEFAULT_HOUR_PROFILE
    weekday_profile: tuple[float, ...] = DEFAULT_WEEKDAY_PROFILE
    skill_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SKILL_MIX))
    two_skill_share: float = 0.15
    priority_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_MIX))
    service_median_minutes: float = 120.0
    service_sigma: float = 0.45
    service_min_minutes: int = 30
    service_max_minutes: int = 480
    planned_share: float = 0.0
    planned_due_hours: int = 96
    service_deviation_sigma: float = 0.25
    travel_deviation_sigma: float = 0.15

    def __post_init__(self) -> None:
        def number(name: str, lo: float, hi: float | None = None) -> None:
            v = getattr(self, name)
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if not (ok and v >= lo and (hi is None or v <= hi)):
                rng = f"in [{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
                raise InputError(name, f"expected a number {rng}, got {v!r}")

        number("tickets_per_day", 0)
        number("overseas_share", 0, 1)
        number("two_skill_share", 0, 1)
        number("planned_share", 0, 1)
        number("service_median_minutes", 1, 7 * 24 * 60)
        number("service_sigma", 0, 3)
        number("service_min_minutes", 0, 7 * 24 * 60)
        number("service_max_minutes", self.service_min_minutes, 7 * 24 * 60)
        number("planned_due_hours", 31, 24 * 60)
        number("service_deviation_sigma", 0, 3)
        number("travel_deviation_sigma", 0, 3)
        _check_profile("hour_profile", self.hour_profile, 24)
        _check_profile("weekday_profile", self.weekday_profile, 7)
        _check_mix("region_weights", self.region_weights, station_names())
        _check_mix("skill_mix", self.skill_mix, None)
        _check_mix("priority_mix", self.priority_mix, PRIORITIES)

    def hourly_rate(self, hour_of_day: int, weekday: int) -> float:
        """Expected tickets in one hour (Beijing time) of the given weekday (0 = Monday)."""
        w = self.weekday_profile[weekday] / (sum(self.weekday_profile) / 7)
        h = self.hour_profile[hour_of_day] / sum(self.hour_profile)
        return self.tickets_per_day * w * h


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (stable across runs and processes, unlike ``hash``)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _normal(rng: Random) -> float:
    """Standard normal by Box-Muller from two ``random()`` draws."""
    u1 = 1.0 - rng.random()  # (0, 1]
    u2 = rng.random()
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def generate_stream(
    model: DemandModel, start: datetime, hours: int, seed: int, oversample: float = 1.0
) -> DemandStream:
    """Draw the tickets arriving in ``[start, start + hours)``.

    Parameters
    ----------
    model
        The demand model.
    start
        Beginning of the arrival period (timezone-aware).
    hours
        Length of the arrival period.
    seed
        Seed of the stream; the same seed gives the same tickets.
    oversample
        Draw at this multiple of the model's rate (>= 1) so that variants with demand
        multipliers up to ``oversample`` can be thinned from the same stream.

    Returns
    -------
    DemandStream
        Tickets ``S-000001``, … in arrival order, every one of weight 1.
    """
    if not oversample >= 1:
        raise InputError("oversample", f"expected a number >= 1, got {oversample!r}")
    rng = Random(seed)
    regions = [r for r, w in model.region_weights.items() if w > 0]
    cum_region = list(accumulate(model.region_weights[r] for r in regions))
    by_region: dict[str, list[City]] = {r: [] for r in regions}
    for c in DOMESTIC_CITIES:
        if CITY_REGION[c.name] in by_region:
            by_region[CITY_REGION[c.name]].append(c)
    # A region without customer cities of its own draws from the station city itself.
    for r in regions:
        if not by_region[r]:
            st = next(s for s in STATIONS if s.name == r)
            by_region[r] = [City(st.name, "CN", st.lat, st.lon, 1.0, st.tz)]
    cum_city = {r: list(accumulate(c.weight for c in cs)) for r, cs in by_region.items()}
    cum_overseas = list(accumulate(c.weight for c in OVERSEAS_CITIES))
    skills = list(model.skill_mix)
    skill_w = [model.skill_mix[s] for s in skills]
    prios = [p for p in PRIORITIES if model.priority_mix.get(p, 0) > 0]
    cum_prio = list(accumulate(model.priority_mix[p] for p in prios))
    out: list[Ticket] = []
    t0 = start
    for h in range(hours):
        local = (t0 + timedelta(hours=h)).astimezone(HQ_TZ)
        rate = model.hourly_rate(local.hour, local.weekday()) * oversample
        if rate <= 0:
            continue
        at = 0.0
        while True:
            at += -math.log(1.0 - rng.random()) / rate
            if at >= 1.0:
                break
            received = (t0 + timedelta(hours=h + at)).replace(microsecond=0)
            out.append(
                _ticket(
                    model,
                    rng,
                    len(out) + 1,
                    received,
                    regions,
                    cum_region,
                    by_region,
                    cum_city,
                    cum_overseas,
                    skills,
                    skill_w,
                    prios,
                    cum_prio,
                )
            )
    return DemandStream(tickets=tuple(out), oversample=oversample)


def _ticket(
    model: DemandModel,
    rng: Random,
    n: int,
    received: datetime,
    regions: list[str],
    cum_region: list[float],
    by_region: dict[str, list[City]],
    cum_city: dict[str, list[float]],
    cum_overseas: list[float],
    skills: list[str],
    skill_w: list[float],
    prios: list[str],
    cum_prio: list[float],
) -> Ticket:
    # A fixed number of draws per ticket, whatever the branches, keeps later tickets
    # identical when one parameter changes the outcome of an earlier one.
    u_overseas, u_region, u_city, u_two = rng.random(), rng.random(), rng.random(), rng.random()
    u_planned, u_due, u_prio = rng.random(), rng.random(), rng.random()
    lat_u, lon_u = rng.random(), rng.random()
    s1, s2 = rng.random(), rng.random()
    z_service = _normal(rng)
    service_factor = math.exp(model.service_deviation_sigma * _normal(rng))
    travel_factor = math.exp(model.travel_deviation_sigma * _normal(rng))
    thin_u, segment_u = rng.random(), rng.random()

    overseas = u_overseas < model.overseas_share
    if overseas or not regions:
        city = OVERSEAS_CITIES[
            min(bisect_right(cum_overseas, u_city * cum_overseas[-1]), len(OVERSEAS_CITIES) - 1)
        ]
    else:
        region = regions[min(bisect_right(cum_region, u_region * cum_region[-1]), len(regions) - 1)]
        cum = cum_city[region]
        city = by_region[region][min(bisect_right(cum, u_city * cum[-1]), len(cum) - 1)]
    r_km = 20.0 * math.sqrt(lat_u)
    bearing = 2 * math.pi * lon_u
    lat = round(city.lat + r_km * math.cos(bearing) / 111.32, 5)
    lon = round(
        city.lon + r_km * math.sin(bearing) / (111.32 * math.cos(math.radians(city.lat))), 5
    )

    total = sum(skill_w)
    cum_s = list(accumulate(skill_w))
    first = min(bisect_right(cum_s, s1 * total), len(skills) - 1)
    need = {skills[first]}
    if u_two < model.two_skill_share and len(skills) > 1:
        rest = [i for i in range(len(skills)) if i != first]
        cum_r = list(accumulate(skill_w[i] for i in rest))
        if cum_r[-1] > 0:
            need.add(skills[rest[min(bisect_right(cum_r, s2 * cum_r[-1]), len(rest) - 1)]])

    priority = prios[min(bisect_right(cum_prio, u_prio * cum_prio[-1]), len(prios) - 1)]
    deadline = None
    if not overseas and u_planned < model.planned_share:
        due_h = 30 + int(u_due * (model.planned_due_hours - 30))
        deadline = received + timedelta(hours=due_h)
        priority = "normal" if u_prio < 0.6 else "low"
    raw = model.service_median_minutes * math.exp(model.service_sigma * z_service)
    service = int(round(raw / 15.0)) * 15
    service = max(model.service_min_minutes, min(model.service_max_minutes, service))
    return Ticket(
        id=f"S-{n:06d}",
        received_at=received,
        location=Location(lat, lon),
        country=city.country,
        region=CITY_REGION.get(city.name, nearest_station(city.lat, city.lon)),
        priority=priority,
        required_skills=frozenset(need),
        service_minutes=service,
        site_name=city.name,
        commitment="remote" if city.remote else None,
        deadline=deadline,
        service_factor=service_factor,
        travel_factor=travel_factor,
        thin_u=thin_u,
        segment_u=segment_u,
    )


# ------------------------------------------------------------------ CSV replay

CSV_REQUIRED = (
    "id",
    "received_at",
    "lat",
    "lon",
    "country",
    "priority",
    "required_skills",
    "service_minutes",
)
CSV_OPTIONAL = ("site_name", "commitment", "deadline", "actual_service_minutes")


@dataclass(frozen=True)
class HistoryDemand:
    """Tickets replayed from a CSV of historical tickets (columns in docs/simulation.md).

    ``service_deviation_sigma`` and ``travel_deviation_sigma`` draw the deviations a
    replication applies (a recorded ``actual_service_minutes`` replaces the service draw).
    """

    tickets: tuple[Ticket, ...]
    source: str = ""
    service_deviation_sigma: float = 0.25
    travel_deviation_sigma: float = 0.15

    @property
    def start(self) -> datetime:
        return min(t.received_at for t in self.tickets)


def load_history_csv(path: str | Path) -> tuple[Ticket, ...]:
    """Read historical tickets; every bad cell is an InputError naming row and column.

    Parameters
    ----------
    path
        CSV with a header row. Required columns: ``id, received_at, lat, lon, country,
        priority, required_skills, service_minutes``; optional: ``site_name, commitment,
        deadline, actual_service_minutes``. ``required_skills`` separates skills with ``;``.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            str(path), f"expected a readable UTF-8 CSV file ({exc.__class__.__name__})"
        ) from None
    reader = csv.DictReader(text.splitlines())
    cols = reader.fieldnames or []
    missing = [c for c in CSV_REQUIRED if c not in cols]
    if missing:
        raise InputError(
            str(path), f"expected columns {', '.join(CSV_REQUIRED)}; missing {', '.join(missing)}"
        )
    out = [_row_ticket(row, f"{p.name} row {i + 2}") for i, row in enumerate(reader)]
    ids = [t.id for t in out]
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise InputError(str(path), f"expected unique ticket ids, got duplicate {dup!r}")
    return tuple(sorted(out, key=lambda t: (t.received_at, t.id)))


def _row_ticket(row: dict[str, str], where: str) -> Ticket:
    def cell(col: str) -> str:
        value = (row.get(col) or "").strip()
        if not value and col in CSV_REQUIRED:
            raise InputError(f"{where}.{col}", "expected a value, got nothing")
        return value

    def num(col: str, lo: float, hi: float) -> float:
        text = cell(col)
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{where}.{col}", f"expected a number, got {text!r}") from None
        if not lo <= value <= hi:
            raise InputError(f"{where}.{col}", f"expected a number in [{lo:g}, {hi:g}], got {text}")
        return value

    received = parse_datetime(cell("received_at"), f"{where}.received_at")
    lat, lon = num("lat", -90, 90), num("lon", -180, 180)
    priority = cell("priority")
    if priority not in PRIORITIES:
        raise InputError(
            f"{where}.priority", f"expected one of {', '.join(PRIORITIES)}, got {priority!r}"
        )
    commitment = cell("commitment") or None
    if commitment is not None and commitment not in COMMITMENT_CLASSES:
        raise InputError(
            f"{where}.commitment",
            f"expected one of {', '.join(COMMITMENT_CLASSES)}, got {commitment!r}",
        )
    deadline_text = cell("deadline")
    deadline = parse_datetime(deadline_text, f"{where}.deadline") if deadline_text else None
    service = int(num("service_minutes", 0, 7 * 24 * 60))
    recorded = bool(cell("actual_service_minutes"))
    factor = 1.0
    if recorded:
        actual = num("actual_service_minutes", 0, 7 * 24 * 60)
        factor = actual / service if service > 0 else 1.0
    skills = frozenset(s.strip() for s in cell("required_skills").split(";") if s.strip())
    country = cell("country").upper()
    if len(country) != 2 or not country.isalpha():
        raise InputError(f"{where}.country", f"expected an ISO-3166 alpha-2 code, got {country!r}")
    return Ticket(
        id=cell("id"),
        received_at=received,
        location=Location(lat, lon),
        country=country,
        region=nearest_station(lat, lon),
        priority=priority,
        required_skills=skills,
        service_minutes=service,
        site_name=cell("site_name") or None,
        commitment=commitment,
        deadline=deadline,
        service_factor=factor,
        # A negative travel factor marks a recorded actual service time (replay keeps it).
        travel_factor=-1.0 if recorded else 1.0,
    )


def replay_stream(history: HistoryDemand, seed: int, oversample: float = 1.0) -> DemandStream:
    """The historical tickets as one replication's stream.

    Deviations and marks are drawn from ``seed`` (a recorded actual service time is kept).
    For ``oversample > 1`` each ticket gets ``ceil(oversample) - 1`` extra copies (ids
    ``<id>~2`` …) received at a uniformly drawn time up to 24 h later, so that demand
    multipliers above 1 have tickets to keep.
    """
    rng = Random(seed)
    copies = max(1, math.ceil(oversample))
    out: list[Ticket] = []
    for t in history.tickets:
        for k in range(copies):
            u_shift = rng.random()
            z_s, z_t = _normal(rng), _normal(rng)
            thin_u, segment_u = rng.random(), rng.random()
            recorded = t.travel_factor < 0
            service_factor = (
                t.service_factor if recorded else math.exp(history.service_deviation_sigma * z_s)
            )
            travel_factor = math.exp(history.travel_deviation_sigma * z_t)
            # Copy k of a ticket covers the rate band [k, k+1) of the oversampled stream.
            u = (k + thin_u) / oversample if oversample > 1 else thin_u
            shift = timedelta(seconds=int(u_shift * 24 * 3600)) if k > 0 else timedelta(0)
            out.append(
                replace(
                    t,
                    id=t.id if k == 0 else f"{t.id}~{k + 1}",
                    received_at=t.received_at + shift,
                    deadline=None if t.deadline is None else t.deadline + shift,
                    service_factor=service_factor,
                    travel_factor=travel_factor,
                    thin_u=min(u, 1.0 - 1e-12),
                    segment_u=segment_u,
                )
            )
    out.sort(key=lambda t: (t.received_at, t.id))
    return DemandStream(tickets=tuple(out), oversample=oversample)
