"""The HTTP edge's models (Pydantic): what each resource accepts and what it answers, side by
side, for type checks and the OpenAPI document.

Requests (``…In``, ``…Request``, ``…Patch``) check shapes and types only (strict: no
``"12"`` for a number, unknown fields are errors); every rule of the contract is then checked
by :mod:`dispatcher.codec` through :mod:`api.documents`, so error paths are the contract's
(``site.lat``, ``orders[3].id``). Datetimes stay strings here: the codec parses them and
demands a UTC offset.

Responses (``…Out``, ``…Page``) only document the answers: routes return ``JSONResponse``
built by the services, which FastAPI does not re-validate; the Schemathesis tests
(``tests/api/test_schemathesis.py``) check the service against them. They allow extra
members: answers may grow, and clients ignore what they do not know.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from api.errors import InputErrors
from api.problems import pydantic_errors
from api.services.webhooks import WEBHOOK_URL_PATTERN
from dispatcher.codec import (
    MAX_ENGINEER_REFS,
    MAX_REQUIRED_SKILLS,
    MAX_SHIFTS,
    MAX_SITE_WINDOWS,
    MAX_SKILLS,
)
from dispatcher.reader import ID_PATTERN
from dispatcher.schema import DATETIME_PATTERN

# The codec's RFC 3339 shape (an offset required) in the schema; the codec checks it.
DateTime = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date-time", "pattern": DATETIME_PATTERN},
        examples=["2026-11-23T08:00:00+08:00"],
    ),
]


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# JSON has one number type: 27.0 is an integer to JSON Schema, and to this API (strict
# models refuse floats for int fields otherwise). Booleans and strings stay refused.
JsonInt = Annotated[int, BeforeValidator(_integral)]
# A reference to an engineer or a skill: a non-empty string (the codec's rule).
Ref = Annotated[str, Field(min_length=1)]


def _not_null(schema: dict[str, Any]) -> None:
    """The schema of ``X | None`` without its ``null`` branch and default."""
    schema.pop("default", None)
    branches = [b for b in schema.pop("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches


# An optional member that is never null: absent is fine, ``null`` is refused (by the codec
# or the service, with their message); the schema shows the type alone. (``X | None``, not
# a union with a skipped None: error paths stay the contract's, ``site.lat``.)
NOT_NULL = Field(default=None, json_schema_extra=_not_null)

OutDateTime = Field(json_schema_extra={"format": "date-time"})


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    def document(self) -> dict[str, Any]:
        """The fields the client sent, as plain JSON values."""
        return self.model_dump(exclude_unset=True)


class _Out(BaseModel):
    # Answers may grow members: clients ignore what they do not know.
    model_config = ConfigDict(extra="allow")


def validate_item(model: type[_Strict], item: Any, path: str = "") -> dict[str, Any]:
    """Validate one document against ``model`` outside FastAPI (e.g. a batch item)."""
    try:
        return model.model_validate(item).document()
    except ValidationError as exc:
        errors = pydantic_errors(exc.errors(), model)
        if path:
            errors = [
                (f"{path}.{p}" if p and not p.startswith("[") else f"{path}{p}", m)
                for p, m in errors
            ]
        raise InputErrors(errors) from None


# ---------------------------------------------------------------------- errors


class ProblemError(_Out):
    path: str = Field(description="the contract's path of the bad value, e.g. `site.lat`")
    message: str


class Problem(_Out):
    """An RFC 9457 problem document; some types carry more members (`order`, `stale`)."""

    type: str = Field(examples=["/problems/invalid-input"])
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = Field(default=None, description="422 only")


# ---------------------------------------------------------------------- orders


class LocationIn(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SiteIn(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: str = Field(description="ISO-3166 alpha-2", examples=["CN"], pattern="^[A-Za-z]{2}$")
    name: Ref | None = None


class WindowIn(_Strict):
    start: DateTime
    end: DateTime


ORDER_EXAMPLE: dict[str, Any] = {
    "id": "T-10042",
    "site": {"lat": 30.66, "lon": 104.07, "country": "CN", "name": "Chengdu cement mill"},
    "received_at": "2026-11-23T07:40:00+08:00",
    "commitment": None,
    "deadline": None,
    "priority": "high",
    "required_skills": ["hydraulics"],
    "service_minutes": 180,
    "site_windows": [],
    "pinned_engineer": None,
    "preferred_engineers": [],
    "excluded_engineers": [],
}


class QuoteHoldIn(_Strict):
    """A slot from ``POST /v1/quotes`` the ticket is created with: held (the engineer and
    start priced like a published visit) until the next published plan."""

    engineer_id: str = Field(min_length=1, max_length=200)
    eta: DateTime
    start: DateTime | None = Field(default=None, description="service start; default: eta")


class OrderIn(_Strict):
    """An Order document (docs/contract.md); ``id`` is the ticket id and idempotency key."""

    model_config = ConfigDict(json_schema_extra={"examples": [ORDER_EXAMPLE]})

    id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    site: SiteIn
    received_at: DateTime
    service_minutes: JsonInt = Field(ge=0, le=10080)
    commitment: Literal["domestic", "overseas", "remote"] | None = None
    deadline: DateTime | None = None
    priority: Literal["critical", "high", "normal", "low"] = "normal"
    required_skills: list[Ref] = Field(default=[], max_length=MAX_REQUIRED_SKILLS)
    site_windows: list[WindowIn] = Field(default=[], max_length=MAX_SITE_WINDOWS)
    pinned_engineer: Ref | None = None
    preferred_engineers: list[Ref] = Field(default=[], max_length=MAX_ENGINEER_REFS)
    excluded_engineers: list[Ref] = Field(default=[], max_length=MAX_ENGINEER_REFS)
    quote: QuoteHoldIn | None = Field(
        default=None, description="hold a quoted slot (not part of the stored Order document)"
    )


_PATCH_CHANGES = (
    "status", "engineer_id", "arrived_at", "finished_at", "expected_end", "site",
    "received_at", "service_minutes", "commitment", "deadline", "priority", "required_skills",
    "site_windows", "pinned_engineer", "preferred_engineers", "excluded_engineers",
)  # fmt: skip


class OrderPatch(_Strict):
    """Corrections (any Order field but ``id``; ``null`` clears) and/or a status change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "cancelled", "reason": "customer fixed it remotely"},
                {"priority": "critical", "service_minutes": 240},
            ],
            # A status or a correction: ``reason`` alone changes nothing (the service's rule).
            "anyOf": [{"required": [name]} for name in _PATCH_CHANGES],
        }
    )

    status: Literal["in_progress", "done", "cancelled"] | None = NOT_NULL
    reason: str | None = Field(default=None, max_length=2000)
    engineer_id: str | None = Field(
        default=None,
        max_length=200,
        description="with status in_progress: who is on site (default: the published plan's "
        "engineer)",
    )
    arrived_at: DateTime | None = Field(
        default=None,
        description="with status in_progress (or done, when not recorded yet): when the engineer "
        "actually arrived on site (default: now; not before received_at)",
    )
    finished_at: DateTime | None = Field(
        default=None,
        json_schema_extra=_not_null,
        description="with status done: when the visit actually ended (default: now; not before "
        "the arrival)",
    )
    expected_end: DateTime | None = Field(
        default=None,
        description="while in_progress: the engineer's estimate of the end (default: start + "
        "service_minutes)",
    )
    id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="optional; must equal the id in the URL"
    )
    # Members every Order has: a correction replaces them, null would leave the order without.
    site: SiteIn | None = NOT_NULL
    received_at: DateTime | None = NOT_NULL
    service_minutes: Annotated[int, Field(ge=0, le=10080), BeforeValidator(_integral)] | None = (
        NOT_NULL
    )
    commitment: Literal["domestic", "overseas", "remote"] | None = None
    deadline: DateTime | None = None
    priority: Literal["critical", "high", "normal", "low"] | None = None
    required_skills: list[Ref] | None = Field(default=None, max_length=MAX_REQUIRED_SKILLS)
    site_windows: list[WindowIn] | None = Field(default=None, max_length=MAX_SITE_WINDOWS)
    pinned_engineer: Ref | None = None
    preferred_engineers: list[Ref] | None = Field(default=None, max_length=MAX_ENGINEER_REFS)
    excluded_engineers: list[Ref] | None = Field(default=None, max_length=MAX_ENGINEER_REFS)

    @field_validator("status", "finished_at", mode="before")
    @classmethod
    def _given_not_null(cls, value: Any) -> Any:
        # The schema says these are never null (the service would read null as absent).
        if value is None:
            raise ValueError("expected a value, got null")
        return value


class OrderBatchIn(BaseModel):
    """Up to 1000 Order documents; each is validated and stored on its own."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"orders": [ORDER_EXAMPLE]}]}
    )

    orders: list[Any] = Field(max_length=1000)


OrderStatus = Literal["open", "planned", "published", "in_progress", "done", "cancelled"]


class StatusChange(_Out):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: OrderStatus | None = Field(alias="from")
    to: OrderStatus
    at: str = OutDateTime
    actor: str | None
    note: str | None


class Assignment(_Out):
    """The order's place in the published plan."""

    plan_id: str | None
    engineer_id: str | None = Field(description="null: unassigned (see `reason`)")
    eta: str | None = OutDateTime
    start: str | None = OutDateTime
    end: str | None = OutDateTime
    on_time: bool
    slack_minutes: float | None
    reason: str | None
    detail: str | None = Field(
        default=None, description="late or unassigned: the reason's sentence (docs/reasons.md)"
    )
    fix: dict[str, Any] | None = Field(
        default=None,
        description="late or unassigned: the cheapest single change that makes it on time, as in "
        "the plan document (the plan schema's Fix; docs/reasons.md, Fixes); null: none found, "
        "or fixes not computed",
    )


class UnderWay(_Out):
    engineer_id: str
    arrived_at: str = OutDateTime
    expected_end: str = OutDateTime


class Hold(_Out):
    engineer_id: str
    start: str = OutDateTime


class OrderOut(_Out):
    id: str
    status: OrderStatus
    deadline: str = OutDateTime
    commitment_class: str
    priority: str
    at_risk: bool
    assignment: Assignment | None
    order: dict[str, Any] = Field(description="the Order document as stored")
    under_way: UnderWay | None = Field(default=None, description="while in_progress")
    hold: Hold | None = Field(default=None, description="a quoted slot held until published")
    version: int
    created_at: str = OutDateTime
    updated_at: str = OutDateTime
    status_history: list[StatusChange] | None = Field(
        default=None, description="single-order answers only"
    )


class OrderPage(_Out):
    items: list[OrderOut]
    next_cursor: str | None


class BatchItemResult(_Out):
    index: int
    id: str | None = Field(description="the item's id, when it has a string one")
    status: Literal[200, 201, 409, 422]
    order: OrderOut | None = Field(default=None, description="status 200 or 201")
    problem: Problem | None = Field(default=None, description="status 409 or 422")


class BatchOut(_Out):
    results: list[BatchItemResult]


# ------------------------------------------------------------------- engineers


class AbsenceIn(_Strict):
    start: DateTime
    end: DateTime
    reason: str | None = None


class CurrentIn(_Strict):
    location: LocationIn
    available_from: DateTime


ENGINEER_EXAMPLE: dict[str, Any] = {
    "name": "Li Wei",
    "home": {"lat": 30.57, "lon": 104.06},
    "timezone": "Asia/Shanghai",
    "skills": ["hydraulics", "plc"],
    "weekly_shifts": {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "max_overtime_minutes": 60,
    "can_travel_overseas": True,
}


class EngineerIn(_Strict):
    """An Engineer document; ``shifts`` are absolute, ``weekly_shifts`` a weekly pattern
    (``{"mon": ["08:00-18:00"]}`` in the engineer's timezone)."""

    model_config = ConfigDict(json_schema_extra={"examples": [ENGINEER_EXAMPLE]})

    id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="optional; must equal the id in the URL",
    )
    name: Ref | None = None
    home: LocationIn
    timezone: Ref = "UTC"
    skills: list[Ref] = Field(default=[], max_length=MAX_SKILLS)
    shifts: list[WindowIn] = Field(default=[], max_length=MAX_SHIFTS)
    weekly_shifts: dict[str, list[str] | None] | None = None
    max_overtime_minutes: JsonInt = Field(default=0, ge=0, le=1440)
    can_travel_overseas: bool = True
    current: CurrentIn | None = None


class EngineerStatusIn(_Strict):
    """A position update (``current``; ``null`` = back at home) and/or the absence list."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current": {
                        "location": {"lat": 31.23, "lon": 121.47},
                        "available_from": "2026-11-23T14:00:00+08:00",
                    }
                },
                {
                    "absences": [
                        {
                            "start": "2026-11-24T00:00:00+08:00",
                            "end": "2026-11-26T00:00:00+08:00",
                            "reason": "sick",
                        }
                    ]
                },
            ]
        }
    )

    current: CurrentIn | None = None
    absences: list[AbsenceIn] | None = NOT_NULL


class AbsenceOut(_Out):
    start: str = OutDateTime
    end: str = OutDateTime
    reason: str | None


class EngineerOut(_Out):
    id: str
    engineer: dict[str, Any] = Field(description="the Engineer document as stored")
    absences: list[AbsenceOut]
    created_at: str = OutDateTime
    updated_at: str = OutDateTime


class EngineerPage(_Out):
    items: list[EngineerOut]
    next_cursor: str | None


# ----------------------------------------------------------------------- plans

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class PlanRequest(_Strict):
    """Options of a plan job; the Problem is what the service stores now."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"time_limit_s": 10, "horizon_hours": 96}]}
    )

    time_limit_s: float = Field(default=10.0, gt=0)
    solution_limit: Annotated[int, Field(ge=1), BeforeValidator(_integral)] | None = None
    horizon_hours: JsonInt = Field(default=96, ge=1, le=1440)
    planning_start: DateTime | None = Field(default=None, description="default: now")
    mode: Literal["full", "incremental"] | None = Field(
        default=None,
        description="incremental: start from the published plan, keep its visits with their "
        "engineers unless they can no longer serve them, fit the rest in; full: plan afresh "
        "(moves from the published plan are still priced). Default: incremental when a plan "
        "is published.",
    )


class PublishRequest(_Strict):
    force: bool = Field(default=False, description="publish even if built from stale data")


class PlanChange(_Out):
    """One order the plan changes (dispatcher/diff.py)."""

    order_id: str
    kind: Literal["added", "reassigned", "retimed", "dropped"]
    reason: str = Field(
        description="new_order, engineer_unavailable, reoptimised, or (dropped) the plan's "
        "reason code"
    )
    from_engineer: str | None
    to_engineer: str | None
    old_start: str | None = OutDateTime
    new_start: str | None = OutDateTime


class SkippedRecord(_Out):
    kind: Literal["order", "engineer"]
    id: str | None
    error: str = Field(description="why the stored document no longer validates")


class PlanJobOut(_Out):
    id: str
    state: JobState
    options: dict[str, Any]
    input_hash: str
    orders: int
    engineers: int
    progress: dict[str, Any] | None
    error: str | None
    created_by: str | None
    created_at: str = OutDateTime
    started_at: str | None = OutDateTime
    finished_at: str | None = OutDateTime
    published_at: str | None = OutDateTime
    published_by: str | None
    plan: dict[str, Any] | None = Field(description="the Plan document once done")
    changes: list[PlanChange] | None = Field(
        default=None,
        description="once done: what the plan changes against the plan published when the "
        "job was made (unchanged orders are left out)",
    )
    skipped: list[SkippedRecord] = Field(
        default=[],
        description="stored orders and engineers left out of the job because they no longer "
        "validate (each also logged as a warning); normally empty",
    )


# ----------------------------------------------------------------- simulations

SIMULATION_SCENARIO_EXAMPLE = """\
name = "hire-in-chengdu"
seed = 20261123

[base]
start = 2026-11-23T00:00:00+08:00

[base.roster]
engineers = 12
seed = 7

[base.demand]
tickets_per_day = 20

[simulation]
days = 2
drain_days = 1
replications = 5

[simulation.solver]
time_limit_s = 5
solution_limit = 5

[[variants]]
name = "hire 2 in Chengdu"
[[variants.modifications]]
type = "add_engineers"
engineers = 2
station = "Chengdu"
"""


class SimulationRequest(_Strict):
    """A what-if simulation: a scenario file's TOML text (docs/simulation.md) and overrides.

    The base must be a demand model with a generated roster: a base referencing a file
    (``problem``, ``roster.file``, ``demand.history``) is refused, the API reads no files.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"scenario": SIMULATION_SCENARIO_EXAMPLE, "replications": 5, "seed": 7}]
        }
    )

    scenario: str = Field(
        min_length=1,
        max_length=200_000,
        description="TOML text of a scenario file, as fixtures/scenarios/*.toml",
    )
    replications: JsonInt = Field(default=5, ge=1, le=50, description="replications per variant")
    days: float | None = Field(default=None, gt=0, le=60, description="override of simulation.days")
    seed: Annotated[int, Field(ge=0), BeforeValidator(_integral)] | None = Field(
        default=None, description="override of the scenario seed"
    )


class SimulationProgress(_Out):
    replications_done: int
    replications_total: int
    phase: Literal["replications", "search", "done"] | None = None


class SimulationJobOut(_Out):
    id: str
    state: JobState
    scenario: str = Field(description="the scenario's name")
    variants: list[str] = Field(description="`base` first, then the scenario's variants")
    replications: int
    days: float | None = Field(description="the override, if any")
    seed: int | None = Field(description="the override, if any")
    progress: SimulationProgress | None
    error: str | None
    created_by: str | None
    created_at: str = OutDateTime
    started_at: str | None = OutDateTime
    finished_at: str | None = OutDateTime
    results: dict[str, Any] | None = Field(
        description="once done: the `results.json` document of `dispatch simulate` "
        "(`scenario`, `comparison` with per-variant intervals, paired differences and "
        "`warnings`, `search`, `replications`)"
    )


class SimulationPage(_Out):
    items: list[SimulationJobOut] = Field(description="newest first; `results` left out")


# ----------------------------------------------------------------------- admin


class PolicyIn(BaseModel):
    """A policy document: ``commitments`` (hours), ``home_country``, ``travel``, ``weights``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "commitments": {"domestic": 24, "overseas": 72, "remote": 72},
                    "home_country": "CN",
                }
            ]
        },
    )


class KeyRequest(_Strict):
    role: Literal["ticketing", "coordinator", "admin"]
    name: str | None = Field(default=None, max_length=200)


class KeyCreated(_Out):
    id: str
    role: Literal["ticketing", "coordinator", "admin"]
    key: str = Field(description="shown in this answer only")


class KeyRevoked(_Out):
    id: str
    revoked: bool


class AuditEvent(_Out):
    at: str = OutDateTime
    actor: str | None
    action: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any]


class AuditPage(_Out):
    items: list[AuditEvent]


# ------------------------------------------------------------------------- ops


class Health(_Out):
    status: Literal["ok"]


class Ready(_Out):
    status: Literal["ready"]
    schema_: str = Field(alias="schema")


class ProblemType(_Out):
    type: str
    status: int
    title: str
    description: str


# ---------------------------------------------------------------- events, webhooks


EventType = Literal[
    "order.created",
    "order.status_changed",
    "order.assigned",
    "order.reassigned",
    "order.retimed",
    "order.unassigned",
]


class EventOut(_Out):
    id: int = Field(description="increasing, without gaps, in commit order")
    type: EventType
    at: str = OutDateTime
    order_id: str | None
    data: dict[str, Any] = Field(
        description="by type: status_changed `from`, `to`, `actor`, `note`; assigned "
        "`engineer_id`, `eta`, `start`, `on_time`; reassigned `from_engineer_id`, "
        "`to_engineer_id`, `old_start`, `new_start`; retimed `engineer_id`, `old_start`, "
        "`new_start`, `shift_minutes`; unassigned `engineer_id`, `old_start`, `reason`; "
        "plan events also `plan_id`"
    )


class EventPage(_Out):
    events: list[EventOut]
    next: str = Field(description="the cursor to send as `after` next time (opaque)")


class WebhookIn(_Strict):
    url: str = Field(
        min_length=1,
        max_length=2000,
        json_schema_extra={"pattern": WEBHOOK_URL_PATTERN},
        description="http or https URL receiving each event as a JSON POST",
        examples=["https://ticketing.example.com/dispatch-events"],
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="the HMAC-SHA256 key of `X-Dispatch-Signature`; generated when not given",
    )


class WebhookOut(_Out):
    id: str
    url: str
    created_at: str = OutDateTime
    deleted_at: str | None = OutDateTime
    delivered_through: int = Field(description="the last event id this webhook is done with")


class WebhookCreated(WebhookOut):
    secret: str = Field(description="shown in this answer only")


class WebhookPage(_Out):
    items: list[WebhookOut]


class DeliveryOut(_Out):
    event_id: int
    attempt: int
    status_code: int | None = Field(description="the receiver's answer, if any")
    error: str | None = Field(description="why the attempt failed, if it did")
    outcome: Literal["delivered", "retry", "failed"]
    at: str = OutDateTime


class DeliveryPage(_Out):
    items: list[DeliveryOut]


# --------------------------------------------------------------------------- quotes


class QuoteOptionOut(_Out):
    """One engineer's cheapest place for the quoted order (times as a plan gives them)."""

    engineer_id: str
    eta: str = Field(description="arrival on site", json_schema_extra={"format": "date-time"})
    start: str = Field(description="service start", json_schema_extra={"format": "date-time"})
    on_time: bool = Field(description="arrival by the deadline")
    deadline: str = OutDateTime
    slack_minutes: float = Field(description="deadline minus arrival (negative when late)")
    extra_travel_km: float = Field(
        description="the engineer's route with the order minus without it (way home included)"
    )
    displaces: list[str] = Field(
        description="published orders on time now that this insertion would make late"
    )


class QuoteOut(_Out):
    """``POST /v1/quotes``: best first; the first option is where the next incremental
    re-plan puts the order when nothing else changes."""

    order_id: str
    options: list[QuoteOptionOut]
    reason: (
        Literal[
            "no_skilled_engineer", "excluded", "overseas_not_allowed",
            "pinned_engineer_unavailable", "site_window_closed", "unreachable_before_deadline",
            "beyond_horizon", "capacity", "not_planned_in_time",
        ]
        | None
    ) = Field(description="why there is no option (docs/reasons.md); null with options")  # fmt: skip
    detail: str | None = Field(description="the reason's sentence naming the binding fact")
    plan_id: str | None = Field(description="the published plan quoted against (null: none)")
    planning_start: str = Field(
        description="the moment the quote's routes start from (the book's build time)",
        json_schema_extra={"format": "date-time"},
    )


# ------------------------------------------------------------------ KPIs (GET /v1/kpis)


class RateOut(_Out):
    share: float | None = Field(description="on_time / trials (null without trials)")
    low: float | None
    high: float | None
    trials: int = Field(description="on_time + late + overdue")
    level: float
    method: Literal["wilson"]


class PercentilesOut(_Out):
    n: int
    p50: float | None
    p90: float | None


class KpiFigures(_Out):
    orders: int = Field(description="orders received in the window")
    on_time: int = Field(description="arrived at or before the deadline")
    late: int = Field(description="arrived after the deadline")
    overdue: int = Field(description="not arrived, not done nor cancelled, deadline past")
    pending: int = Field(description="not arrived, deadline still ahead")
    unrecorded: int = Field(description="done without a recorded arrival")
    cancelled: int
    on_time_rate: RateOut
    minutes_late: PercentilesOut = Field(description="arrival minus deadline of the late ones")
    mean_minutes_to_arrival: float | None = Field(description="receipt to arrival, mean")
    eta_error_minutes: PercentilesOut = Field(
        description="|arrival - the ETA of the plan in force at the arrival|"
    )


class KpiGroup(KpiFigures):
    key: str | None = Field(description="the group's value (null: none, e.g. no engineer)")


class KpiReport(_Out):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: str = Field(alias="from", json_schema_extra={"format": "date-time"})
    to: str = OutDateTime
    as_of: str = OutDateTime
    group_by: Literal["commitment", "region", "priority", "engineer", "station", "week"] | None
    home_country: str
    total: KpiFigures
    groups: list[KpiGroup]
