"""Domain types: engineers, orders, policy, problem and plan.

All types are frozen dataclasses that reject bad values on creation with an
:class:`~dispatcher.errors.InputError` naming the field and the expectation.
Datetimes always carry a UTC offset; the solver works in integer seconds since
``Problem.planning_start`` (see :mod:`dispatcher.compile`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from dispatcher.errors import InputError

PRIORITIES = ("critical", "high", "normal", "low")
# The integer weights of Weights (every one but priority_factor), in the contract's order.
WEIGHT_NAMES = (
    "unassigned",
    "late_per_breach",
    "late_per_minute",
    "travel_per_hour",
    "travel_per_km",
    "overtime_per_hour",
    "not_preferred",
    "reassign",
    "retime_per_hour",
)
# How a plan is made (dispatcher.planner.PlanOptions.mode; docs/model.md, "Re-planning").
PLAN_MODES = ("full", "incremental")
COMMITMENT_CLASSES = ("domestic", "overseas", "remote")


class Reason(StrEnum):
    """Closed set of reasons an order is late or unassigned (see docs/reasons.md)."""

    NO_SKILLED_ENGINEER = "no_skilled_engineer"
    EXCLUDED = "excluded"
    OVERSEAS_NOT_ALLOWED = "overseas_not_allowed"
    PINNED_ENGINEER_UNAVAILABLE = "pinned_engineer_unavailable"
    SITE_WINDOW_CLOSED = "site_window_closed"
    UNREACHABLE_BEFORE_DEADLINE = "unreachable_before_deadline"
    BEYOND_HORIZON = "beyond_horizon"
    CAPACITY = "capacity"
    NOT_PLANNED_IN_TIME = "not_planned_in_time"


def _require_aware(path: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise InputError(path, f"expected an RFC 3339 datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(path, f"expected a datetime with a UTC offset, got {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (
            isinstance(self.lat, int | float) and math.isfinite(self.lat) and -90 <= self.lat <= 90
        ):
            raise InputError("lat", f"expected a number in [-90, 90], got {self.lat!r}")
        if not (
            isinstance(self.lon, int | float)
            and math.isfinite(self.lon)
            and -180 <= self.lon <= 180
        ):
            raise InputError("lon", f"expected a number in [-180, 180], got {self.lon!r}")


@dataclass(frozen=True, slots=True)
class Site:
    location: Location
    country: str
    name: str | None = None

    def __post_init__(self) -> None:
        if not (
            isinstance(self.country, str) and len(self.country) == 2 and self.country.isalpha()
        ):
            raise InputError("country", f"expected an ISO-3166 alpha-2 code, got {self.country!r}")
        object.__setattr__(self, "country", self.country.upper())


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval of absolute time ``[start, end)``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware("start", self.start)
        _require_aware("end", self.end)
        if self.end <= self.start:
            raise InputError(
                "end",
                f"expected end after start, got start {self.start.isoformat()} "
                f"and end {self.end.isoformat()}",
            )


@dataclass(frozen=True, slots=True)
class CurrentPosition:
    location: Location
    available_from: datetime

    def __post_init__(self) -> None:
        _require_aware("available_from", self.available_from)


@dataclass(frozen=True, slots=True)
class Engineer:
    id: str
    name: str
    home: Location
    timezone: str = "UTC"
    skills: frozenset[str] = frozenset()
    shifts: tuple[Window, ...] = ()
    max_overtime_minutes: int = 0
    can_travel_overseas: bool = True
    current: CurrentPosition | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.id, str) and self.id):
            raise InputError("id", f"expected a non-empty string, got {self.id!r}")
        if not (isinstance(self.max_overtime_minutes, int) and self.max_overtime_minutes >= 0):
            raise InputError(
                "max_overtime_minutes",
                f"expected a non-negative integer, got {self.max_overtime_minutes!r}",
            )
        ordered = sorted(self.shifts, key=lambda w: w.start)
        for i in range(1, len(ordered)):
            if ordered[i].start < ordered[i - 1].end:
                raise InputError(
                    f"shifts[{i}]",
                    f"expected non-overlapping shifts, got {ordered[i].start.isoformat()} "
                    f"before the previous shift ends at {ordered[i - 1].end.isoformat()}",
                )
        object.__setattr__(self, "shifts", tuple(ordered))

    @property
    def start_location(self) -> Location:
        return self.current.location if self.current else self.home


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    site: Site
    received_at: datetime
    service_minutes: int
    commitment: str | None = None
    deadline: datetime | None = None
    priority: str = "normal"
    required_skills: frozenset[str] = frozenset()
    site_windows: tuple[Window, ...] = ()
    pinned_engineer: str | None = None
    preferred_engineers: tuple[str, ...] = ()
    excluded_engineers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (isinstance(self.id, str) and self.id):
            raise InputError("id", f"expected a non-empty string, got {self.id!r}")
        _require_aware("received_at", self.received_at)
        if self.deadline is not None:
            _require_aware("deadline", self.deadline)
        if not (isinstance(self.service_minutes, int) and 0 <= self.service_minutes <= 7 * 24 * 60):
            raise InputError(
                "service_minutes",
                f"expected an integer number of minutes in [0, 10080], got {self.service_minutes!r}",
            )
        if self.priority not in PRIORITIES:
            raise InputError(
                "priority", f"expected one of {', '.join(PRIORITIES)}, got {self.priority!r}"
            )
        if self.commitment is not None and self.commitment not in COMMITMENT_CLASSES:
            raise InputError(
                "commitment",
                f"expected one of {', '.join(COMMITMENT_CLASSES)} or null, got {self.commitment!r}",
            )
        object.__setattr__(
            self, "site_windows", tuple(sorted(self.site_windows, key=lambda w: w.start))
        )


TRAVEL_PROVIDERS = ("geodesic", "osrm")
UNROUTABLE = ("fallback", "error")


@dataclass(frozen=True, slots=True)
class TravelParams:
    """Door-to-door travel model (docs/travel.md)."""

    circuity: float = 1.3
    max_drive_km: float = 600.0
    drive_kmh: float = 65.0
    flight_overhead_h: float = 3.5
    flight_kmh: float = 750.0
    # Road legs from an OSRM server instead of geodesic km x circuity (docs/travel.md).
    provider: str = "geodesic"  # one of TRAVEL_PROVIDERS
    url: str | None = None  # the OSRM server, e.g. http://osrm.example.com:5000
    unroutable: str = "fallback"  # one of UNROUTABLE: a pair OSRM cannot route
    max_table_size: int = 100  # the server's --max-table-size

    def __post_init__(self) -> None:
        if self.provider not in TRAVEL_PROVIDERS:
            raise InputError("provider", f"expected one of {', '.join(TRAVEL_PROVIDERS)}")
        if self.provider == "osrm" and not self.url:
            raise InputError("url", "expected the OSRM server's URL for provider osrm")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise InputError("url", f"expected an http:// or https:// URL, got {self.url!r}")
        if self.unroutable not in UNROUTABLE:
            raise InputError("unroutable", f"expected one of {', '.join(UNROUTABLE)}")
        if not (isinstance(self.max_table_size, int) and self.max_table_size >= 1):
            raise InputError("max_table_size", "expected a positive integer")
        for name in ("circuity", "max_drive_km", "drive_kmh", "flight_kmh"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InputError(name, f"expected a positive number, got {value!r}")
        if self.circuity < 1:
            raise InputError("circuity", f"expected a number >= 1, got {self.circuity!r}")
        if not (
            isinstance(self.flight_overhead_h, int | float)
            and math.isfinite(self.flight_overhead_h)
            and self.flight_overhead_h >= 0
        ):
            raise InputError(
                "flight_overhead_h",
                f"expected a non-negative number, got {self.flight_overhead_h!r}",
            )


@dataclass(frozen=True, slots=True)
class Weights:
    """Objective weights (docs/model.md), in cost units.

    The defaults keep the levels apart, each scaled by the order's ``priority_factor``:
    dropping an order costs more than a breach (``late_per_breach``, once per order served
    after its deadline) plus ``late_per_minute`` times a whole 96-hour horizon of lateness,
    and a breach costs as much as 200 minutes of lateness, so the solver first serves, then
    serves on time, then keeps the minutes late down. (A breach at 2,000,000 — 33 hours —
    made the solver drop orders rather than make several others late: demo, 10 s, 22-27
    unassigned against 17-23 at 200,000; docs/performance.md.)
    """

    unassigned: int = 10_000_000
    late_per_breach: int = 200_000
    late_per_minute: int = 1_000
    travel_per_hour: int = 600
    travel_per_km: int = 1
    overtime_per_hour: int = 1_200
    not_preferred: int = 300
    # Stability of a re-plan against the published plan (docs/model.md, "Re-planning"):
    # moving a published visit to another engineer costs as much as 50 hours of driving at
    # the normal priority, a hundredth of a breach; drifting its start beyond the tolerance
    # costs this per hour.
    reassign: int = 3_000
    retime_per_hour: int = 300
    priority_factor: dict[str, int] = field(
        default_factory=lambda: {"critical": 1000, "high": 100, "normal": 10, "low": 1}
    )

    def __post_init__(self) -> None:
        for name in WEIGHT_NAMES:
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 0):
                raise InputError(name, f"expected a non-negative integer, got {value!r}")
        for p in PRIORITIES:
            value = self.priority_factor.get(p)
            if not (isinstance(value, int) and value >= 1):
                raise InputError(
                    f"priority_factor.{p}", f"expected a positive integer, got {value!r}"
                )


@dataclass(frozen=True, slots=True)
class Stability:
    """How a re-plan treats the published plan: a start may drift ``tolerance_minutes``
    either way for free; a published visit starting within ``frozen_hours`` of the
    planning start keeps its engineer whatever it costs."""

    tolerance_minutes: int = 60
    frozen_hours: float = 2.0

    def __post_init__(self) -> None:
        if not (isinstance(self.tolerance_minutes, int) and self.tolerance_minutes >= 0):
            raise InputError(
                "tolerance_minutes",
                f"expected a non-negative integer, got {self.tolerance_minutes!r}",
            )
        if not (
            isinstance(self.frozen_hours, int | float)
            and math.isfinite(self.frozen_hours)
            and self.frozen_hours >= 0
        ):
            raise InputError(
                "frozen_hours", f"expected a non-negative number, got {self.frozen_hours!r}"
            )


@dataclass(frozen=True, slots=True)
class Policy:
    commitments: dict[str, float] = field(
        default_factory=lambda: {"domestic": 24.0, "overseas": 72.0, "remote": 72.0}
    )
    home_country: str = "CN"
    travel: TravelParams = field(default_factory=TravelParams)
    weights: Weights = field(default_factory=Weights)
    stability: Stability = field(default_factory=Stability)

    def __post_init__(self) -> None:
        for name, hours in self.commitments.items():
            if not (isinstance(hours, int | float) and math.isfinite(hours) and hours > 0):
                raise InputError(
                    f"commitments.{name}", f"expected a positive number of hours, got {hours!r}"
                )
        for name in COMMITMENT_CLASSES:
            if name not in self.commitments:
                raise InputError(f"commitments.{name}", "expected a number of hours, got nothing")
        if not (isinstance(self.home_country, str) and len(self.home_country) == 2):
            raise InputError(
                "home_country", f"expected an ISO-3166 alpha-2 code, got {self.home_country!r}"
            )
        object.__setattr__(self, "home_country", self.home_country.upper())

    def commitment_class(self, order: Order) -> str:
        """The order's commitment class: explicit, else derived from the site country."""
        if order.commitment is not None:
            return order.commitment
        return "domestic" if order.site.country == self.home_country else "overseas"

    def deadline(self, order: Order) -> datetime:
        """``deadline`` when given, else ``received_at`` + the class's hours (calendar hours)."""
        if order.deadline is not None:
            return order.deadline
        return order.received_at + timedelta(hours=self.commitments[self.commitment_class(order)])

    def is_overseas(self, order: Order) -> bool:
        return order.site.country != self.home_country


@dataclass(frozen=True, slots=True)
class InProgress:
    """A visit under way: ``engineer_id`` is on site at ``location`` from ``started_at``
    until ``expected_end`` (start + service minutes, or the engineer's own estimate)."""

    order_id: str
    engineer_id: str
    location: Location
    started_at: datetime
    expected_end: datetime

    def __post_init__(self) -> None:
        _require_aware("started_at", self.started_at)
        _require_aware("expected_end", self.expected_end)
        if self.expected_end < self.started_at:
            raise InputError(
                "expected_end",
                f"expected a datetime at or after started_at, got {self.expected_end.isoformat()}",
            )


@dataclass(frozen=True, slots=True)
class PublishedVisit:
    """A visit of the published plan: what a re-plan is priced against (``Stability``)."""

    order_id: str
    engineer_id: str
    start: datetime

    def __post_init__(self) -> None:
        _require_aware("start", self.start)


@dataclass(frozen=True, slots=True)
class Problem:
    """What to plan. ``in_progress`` visits are fixed: each engineer on site is there until
    the visit's expected end, so on construction their ``current`` position becomes the
    site from that instant (unless they reported a later one). ``published`` is the plan in
    force, against which moves are priced."""

    planning_start: datetime
    engineers: tuple[Engineer, ...]
    orders: tuple[Order, ...]
    horizon_hours: int = 96
    policy: Policy = field(default_factory=Policy)
    in_progress: tuple[InProgress, ...] = ()
    published: tuple[PublishedVisit, ...] = ()

    def __post_init__(self) -> None:
        _require_aware("planning_start", self.planning_start)
        self._check_present()
        object.__setattr__(self, "engineers", tuple(self._on_site(e) for e in self.engineers))
        if not (isinstance(self.horizon_hours, int) and 1 <= self.horizon_hours <= 24 * 60):
            raise InputError(
                "horizon_hours", f"expected an integer in [1, 1440], got {self.horizon_hours!r}"
            )
        for kind, ids in (
            ("engineers", [e.id for e in self.engineers]),
            ("orders", [o.id for o in self.orders]),
        ):
            seen: set[str] = set()
            for i, item_id in enumerate(ids):
                if item_id in seen:
                    raise InputError(
                        f"{kind}[{i}].id", f"expected a unique id, got duplicate {item_id!r}"
                    )
                seen.add(item_id)
        for i, order in enumerate(self.orders):
            refs = [order.pinned_engineer] if order.pinned_engineer else []
            for ref in [*refs, *order.preferred_engineers, *order.excluded_engineers]:
                if not isinstance(ref, str):
                    raise InputError(
                        f"orders[{i}]", f"expected engineer ids as strings, got {ref!r}"
                    )
        # Unknown engineer ids are allowed: a pin to an absent engineer is a reason, not an error.

    def _check_present(self) -> None:
        """An order under way is not open, and is under way once; a published visit is
        listed once."""
        open_ids = {o.id for o in self.orders}
        seen: set[str] = set()
        for i, visit in enumerate(self.in_progress):
            if visit.order_id in open_ids or visit.order_id in seen:
                raise InputError(
                    f"in_progress[{i}].order_id",
                    f"expected an order neither open nor already under way, got {visit.order_id!r}",
                )
            seen.add(visit.order_id)
        seen = set()
        for i, pub in enumerate(self.published):
            if pub.order_id in seen:
                raise InputError(
                    f"published[{i}].order_id",
                    f"expected each order once, got duplicate {pub.order_id!r}",
                )
            seen.add(pub.order_id)

    def _on_site(self, engineer: Engineer) -> Engineer:
        """``engineer`` with its position after its latest visit under way, if any."""
        visits = [v for v in self.in_progress if v.engineer_id == engineer.id]
        if not visits:
            return engineer
        last = max(visits, key=lambda v: v.expected_end)
        current = engineer.current
        if current is not None and current.available_from >= last.expected_end:
            return engineer  # a later position report wins
        return replace(engineer, current=CurrentPosition(last.location, last.expected_end))

    def under_way(self, engineer_id: str) -> InProgress | None:
        """The visit ``engineer_id`` is on now, the one ending last if several."""
        visits = [v for v in self.in_progress if v.engineer_id == engineer_id]
        return max(visits, key=lambda v: v.expected_end) if visits else None

    @property
    def horizon_end(self) -> datetime:
        return self.planning_start + timedelta(hours=self.horizon_hours)

    def engineer(self, engineer_id: str) -> Engineer | None:
        return next((e for e in self.engineers if e.id == engineer_id), None)


def eligible_engineers(problem: Problem, order: Order) -> list[int]:
    """Engineers allowed to serve ``order`` by the hard rules (skills, exclusions, pin, overseas)."""
    return Eligibility(problem)(order)


class Eligibility:
    """:func:`eligible_engineers` for many orders of one problem.

    The engineers with the skills and the overseas permission are found once per (required
    skills, overseas) and kept; each order then only drops its exclusions and keeps its pin.
    A loop over every engineer per order took 1.2 s of the compile at 5,000 orders and 500
    engineers (issue 25)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self._capable: dict[tuple[frozenset[str], bool], list[int]] = {}

    def __call__(self, order: Order) -> list[int]:
        key = (order.required_skills, self.problem.policy.is_overseas(order))
        capable = self._capable.get(key)
        if capable is None:
            skills, overseas = key
            capable = [
                v
                for v, e in enumerate(self.problem.engineers)
                if skills <= e.skills and (e.can_travel_overseas or not overseas)
            ]
            self._capable[key] = capable
        if order.pinned_engineer is None and not order.excluded_engineers:
            return list(capable)
        engineers = self.problem.engineers
        return [
            v
            for v in capable
            if engineers[v].id not in order.excluded_engineers
            and (order.pinned_engineer is None or engineers[v].id == order.pinned_engineer)
        ]


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class Visit:
    order_id: str
    travel_mode: str  # "drive" | "flight" | "none"
    travel_km: float
    travel_minutes: float
    departure: datetime
    arrival: datetime
    start: datetime
    end: datetime
    deadline: datetime
    slack_minutes: float
    on_time: bool
    overtime_minutes: float = 0.0


@dataclass(frozen=True, slots=True)
class Overnight:
    night_of: str  # ISO date, in the engineer's timezone, of the evening the rest begins
    location: Location
    hotel: bool
    place: str  # human description: "home", a site name, or "en route to ..."


@dataclass(frozen=True, slots=True)
class ReturnLeg:
    travel_mode: str
    travel_km: float
    travel_minutes: float
    departure: datetime
    arrival: datetime


@dataclass(frozen=True, slots=True)
class Route:
    engineer_id: str
    visits: tuple[Visit, ...]
    overnights: tuple[Overnight, ...] = ()
    return_leg: ReturnLeg | None = None
    start_location: Location | None = None
    start_time: datetime | None = None


# The levers a fix may pull, in the order a fix is chosen (docs/reasons.md, "Fixes").
FIX_LEVERS = ("insert", "overtime", "swap", "other_engineer", "deadline", "add_engineer")
# The rule an other_engineer fix waives.
FIX_RULES = ("skill", "excluded", "overseas", "pin")


@dataclass(frozen=True, slots=True)
class Fix:
    """The cheapest single change that makes a late or unassigned order on time
    (:mod:`dispatcher.fixes`, docs/reasons.md "Fixes").

    ``engineer_id`` serves the order after the change (for ``add_engineer``: none yet);
    ``order_id``/``moved_to``/``slack_minutes``: a swap's other order, the engineer it goes
    to and its slack there; ``minutes``: overtime or deadline minutes; ``day``: the local
    date of the shift worked longer; ``skill``/``rule``: what an other engineer lacks or
    which rule they break; ``station``/``location``: where one more engineer would be based.
    ``cost``: the change's extra cost in the objective's units (travel, overtime).
    ``routes``: the engineers' routes (order ids) the change gives, where they differ from
    the plan's (not in the document; what a test re-checks).
    """

    lever: str
    sentence: str
    cost: int = 0
    engineer_id: str | None = None
    order_id: str | None = None
    moved_to: str | None = None
    slack_minutes: float | None = None
    minutes: int | None = None
    day: str | None = None
    skill: str | None = None
    rule: str | None = None
    station: str | None = None
    location: Location | None = None
    routes: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.lever not in FIX_LEVERS:
            raise InputError(
                "lever", f"expected one of {', '.join(FIX_LEVERS)}, got {self.lever!r}"
            )
        if self.rule is not None and self.rule not in FIX_RULES:
            raise InputError("rule", f"expected one of {', '.join(FIX_RULES)}, got {self.rule!r}")


@dataclass(frozen=True, slots=True)
class LateOrder:
    order_id: str
    minutes_late: float
    reason: Reason
    detail: str
    fix: Fix | None = None
    fix_note: str | None = None  # why ``fix`` is None, when fixes were looked for


@dataclass(frozen=True, slots=True)
class UnassignedOrder:
    order_id: str
    reason: Reason
    detail: str
    fix: Fix | None = None
    fix_note: str | None = None  # why ``fix`` is None, when fixes were looked for


@dataclass(frozen=True, slots=True)
class Kpis:
    orders: int
    assigned: int
    on_time: int
    late: int
    unassigned: int
    on_time_rate: float
    travel_km: float
    travel_hours: float
    overtime_minutes: float
    hotel_nights: int
    engineers_used: int


@dataclass(frozen=True, slots=True)
class Plan:
    status: str  # "optimal" | "feasible" | "infeasible_orders" | "no_solution"
    kpis: Kpis
    routes: tuple[Route, ...]
    late: tuple[LateOrder, ...]
    unassigned: tuple[UnassignedOrder, ...]
    meta: dict[str, object]
