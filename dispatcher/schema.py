"""JSON Schemas (draft 2020-12) of the Problem, Order and Plan documents (docs/contract.md).

The one source of the published schemas: ``dispatch schema NAME`` prints them and the API
serves them at ``GET /v1/schemas/{name}``. Enums, defaults, the codec's named bounds and
its lists of members are taken from the domain types and the codec; the bounds the codec
writes inline (travel parameters) are repeated here, and ``tests/dispatcher/test_schema.py``
checks that the schema and the codec refuse the same values at those edges and name the
same members.

The schemas say what a schema can say. The codec checks more, and stays the authority:
unique engineer and order ids, ``end`` after ``start`` in every window, shifts that do not
overlap, ``deadline`` at or after ``received_at``, ``preferred_engineers`` and
``excluded_engineers`` naming engineers of the roster, a known IANA ``timezone``, real
calendar dates and timestamps within the years 1970-9000. An optional member may be
``null``, which means the same as leaving it out. Every object of the Problem and Order
documents is closed: a member the contract does not name is refused (``dispatcher.codec``
and the API alike), so a misspelt optional field never silently reads as its default. The
one exception is the Problem's top level, where members named ``_…`` or ``$…`` are notes
(``_comment``, ``$schema``). The Plan document is open: a reader of plans ignores members
it does not know, so plans may grow.

The Problem schema describes what the codec reads; the Plan schema what the planner writes
(``dispatcher.codec.plan_to_dict``): every member it always writes is required.
"""

from __future__ import annotations

from typing import Any

from dispatcher.codec import (
    MAX_COMMITMENT_HOURS,
    MAX_ENGINEER_REFS,
    MAX_HORIZON_HOURS,
    MAX_OVERTIME_MINUTES,
    MAX_PRIORITY_FACTOR,
    MAX_REQUIRED_SKILLS,
    MAX_SERVICE_MINUTES,
    MAX_SHIFTS,
    MAX_SITE_WINDOWS,
    MAX_SKILLS,
    MAX_SPANS_PER_DAY,
    MAX_WEIGHT,
    WEEKDAYS,
    WEIGHT_NAMES,
)
from dispatcher.domain import (
    COMMITMENT_CLASSES,
    FIX_LEVERS,
    FIX_RULES,
    PRIORITIES,
    TRAVEL_PROVIDERS,
    UNROUTABLE,
    Policy,
    Reason,
)
from dispatcher.errors import NotFound
from dispatcher.reader import ID_PATTERN

DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]

# dispatcher.codec._RFC3339, anchored, with [0-9] for \d (Python's \d also matches other
# scripts' digits, the codec's re.ASCII does not), and the months, days, hours, minutes,
# seconds and offsets datetime accepts. Left to the codec: the days of each month and the
# years 1970-9000 (in UTC too).
_DATETIME_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
# dispatcher.codec._SPAN, with the hours and minutes datetime.time accepts.
_HHMM = r"([01][0-9]|2[0-3]):[0-5][0-9]"
_SPAN_PATTERN = rf"^\s*{_HHMM}\s*-\s*{_HHMM}\s*$"
# Public for the API's request schemas (api.schemas), which take the codec's datetimes too.
DATETIME_PATTERN = _DATETIME_PATTERN
PLAN_STATUSES = ("optimal", "feasible", "infeasible_orders", "no_solution")
TRAVEL_MODES = ("drive", "flight", "none")


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _nullable(schema: Schema) -> Schema:
    """``schema`` or ``null`` (an optional member: null means absent).

    A ``type`` list where the schema has one, so that a validator's error points inside
    the value; ``anyOf`` around a reference.
    """
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(
    description: str,
    properties: dict[str, Schema],
    required: tuple[str, ...] = (),
    closed: bool = False,
    notes: bool = False,
) -> Schema:
    """An object; ``closed``: no other members; ``notes``: except ``_…`` and ``$…``."""
    out: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        out["required"] = list(required)
    if notes:
        out["patternProperties"] = {"^[_$]": {"description": "a note, ignored"}}
    if closed:
        out["additionalProperties"] = False
    return out


def _list(items: Schema, description: str | None = None) -> Schema:
    out: Schema = {"type": "array", "items": items}
    if description:
        out["description"] = description
    return out


def _num(description: str, lo: float | None = None, hi: float | None = None) -> Schema:
    out: Schema = {"type": "number", "description": description}
    if lo is not None:
        out["minimum"] = lo
    if hi is not None:
        out["maximum"] = hi
    return out


def _int(description: str, lo: int = 0, hi: int | None = None) -> Schema:
    out: Schema = {"type": "integer", "description": description, "minimum": lo}
    if hi is not None:
        out["maximum"] = hi
    return out


def _most(schema: Schema, n: int) -> Schema:
    """A list ``schema`` of at most ``n`` items (the codec's bound)."""
    return {**schema, "maxItems": n}


def _id(description: str) -> Schema:
    """An order or engineer id: the reader's safe character set."""
    return {"type": "string", "pattern": ID_PATTERN, "description": description}


def _text(description: str) -> Schema:
    return {"type": "string", "minLength": 1, "description": description}


def _optional(schema: Schema, default: Any = None) -> Schema:
    out = _nullable(schema)
    if default is not None:
        out["default"] = default
    return out


def _definitions() -> dict[str, Schema]:
    """Every named part of the three documents, written once."""
    policy = Policy()
    travel, weights, stability = policy.travel, policy.weights, policy.stability
    reasons = [r.value for r in Reason]
    ids = _most(_list(_id("an engineer id")), MAX_ENGINEER_REFS)
    return {
        "DateTime": {
            "type": "string",
            "format": "date-time",
            "pattern": _DATETIME_PATTERN,
            "description": "RFC 3339 with a UTC offset (Z or +hh:mm), seconds required, "
            "years 1970-9000; plans write UTC with Z, to the second",
        },
        "Location": _obj(
            "a point, WGS84 degrees",
            {
                "lat": _num("latitude, degrees", -90, 90),
                "lon": _num("longitude, degrees", -180, 180),
            },
            ("lat", "lon"),
            closed=True,
        ),
        "Window": _obj(
            "a half-open interval [start, end) of absolute time; end after start",
            {"start": _ref("DateTime"), "end": _ref("DateTime")},
            ("start", "end"),
            closed=True,
        ),
        "CurrentPosition": _obj(
            "where and from when the engineer is free now (replaces home as the start)",
            {"location": _ref("Location"), "available_from": _ref("DateTime")},
            ("location", "available_from"),
            closed=True,
        ),
        "WeeklyShifts": {
            "type": "object",
            "description": "a weekly pattern of shifts in the engineer's timezone, expanded "
            "over the horizon; an end at or before the start runs past midnight",
            "properties": {
                day: _optional(
                    _most(
                        _list({"type": "string", "pattern": _SPAN_PATTERN}, '"HH:MM-HH:MM"'),
                        MAX_SPANS_PER_DAY,
                    )
                )
                for day in WEEKDAYS
            },
            "additionalProperties": False,
        },
        "Engineer": _obj(
            "a field engineer",
            {
                "id": _id("unique among the engineers"),
                "name": _optional(_text("display name; defaults to the id")),
                "home": _ref("Location"),
                "timezone": _optional(
                    _text("IANA timezone name, e.g. Asia/Shanghai (work and nights)"), "UTC"
                ),
                "skills": _optional(_most(_list(_text("a skill")), MAX_SKILLS)),
                "shifts": _optional(
                    _most(
                        _list(_ref("Window"), "absolute work windows, not overlapping"), MAX_SHIFTS
                    )
                ),
                "weekly_shifts": _optional(_ref("WeeklyShifts")),
                "max_overtime_minutes": _optional(
                    _int("minutes a shift may be extended", 0, MAX_OVERTIME_MINUTES), 0
                ),
                "can_travel_overseas": _optional({"type": "boolean"}, True),
                "current": _optional(_ref("CurrentPosition")),
            },
            ("id", "home"),
            closed=True,
        ),
        "Site": _obj(
            "where the visit is",
            {
                "lat": _num("latitude, degrees", -90, 90),
                "lon": _num("longitude, degrees", -180, 180),
                "country": {
                    "type": "string",
                    "pattern": "^[A-Za-z]{2}$",
                    "description": "ISO-3166 alpha-2 (upper-cased on reading)",
                },
                "name": _optional(_text("display name")),
            },
            ("lat", "lon", "country"),
            closed=True,
        ),
        "Order": _obj(
            "a service order (a ticket)",
            {
                "id": _id("the ticket id; unique, the idempotency key"),
                "site": _ref("Site"),
                "received_at": _ref("DateTime"),
                "service_minutes": _int("time on site, minutes", 0, MAX_SERVICE_MINUTES),
                "commitment": {
                    "enum": [*COMMITMENT_CLASSES, None],
                    "description": "null: domestic if the site is in policy.home_country, "
                    "else overseas",
                },
                "deadline": _optional(
                    {
                        **_ref("DateTime"),
                        "description": "overrides received_at + the commitment's hours; "
                        "at or after received_at",
                    }
                ),
                "priority": {
                    "enum": [*PRIORITIES, None],
                    "default": "normal",
                    "description": "scales every penalty by policy.weights.priority_factor",
                },
                "required_skills": _optional(
                    _most(_list(_text("a skill"), "all of them are needed"), MAX_REQUIRED_SKILLS)
                ),
                "site_windows": _optional(
                    _most(
                        _list(_ref("Window"), "when the site is open; empty: always"),
                        MAX_SITE_WINDOWS,
                    )
                ),
                "pinned_engineer": _optional(
                    _text("hard: only this engineer (absent: pinned_engineer_unavailable)")
                ),
                "preferred_engineers": _optional(
                    {**ids, "description": "soft; must name engineers of the roster"}
                ),
                "excluded_engineers": _optional(
                    {**ids, "description": "hard; must name engineers of the roster"}
                ),
            },
            ("id", "site", "received_at", "service_minutes"),
            closed=True,
        ),
        "Policy": _obj(
            "company rules; every member optional (null or absent: the default shown)",
            {
                "commitments": _optional(
                    _obj(
                        "hours from received_at to the deadline, per commitment class; "
                        "classes left out keep their default",
                        {
                            name: _num("hours", 0.01, MAX_COMMITMENT_HOURS)
                            for name in COMMITMENT_CLASSES
                        },
                        closed=True,
                    ),
                    dict(policy.commitments),
                ),
                "home_country": _optional(
                    {
                        "type": "string",
                        "pattern": "^[A-Za-z]{2}$",
                        "description": "ISO-3166 alpha-2: sites elsewhere are overseas",
                    },
                    policy.home_country,
                ),
                "travel": _optional(
                    _obj(
                        "the travel model (docs/travel.md)",
                        {
                            "circuity": _optional(
                                _num("road km per geodesic km", 1, 10), travel.circuity
                            ),
                            "max_drive_km": _optional(
                                {**_num("longer legs fly", None, 40_000), "exclusiveMinimum": 0},
                                travel.max_drive_km,
                            ),
                            "drive_kmh": _optional(_num("km/h", 0.1, 1_000), travel.drive_kmh),
                            "flight_overhead_h": _optional(
                                _num("hours added to each flight", 0, 240),
                                travel.flight_overhead_h,
                            ),
                            "flight_kmh": _optional(_num("km/h", 0.1, 5_000), travel.flight_kmh),
                            "provider": {
                                "enum": [*TRAVEL_PROVIDERS, None],
                                "default": travel.provider,
                                "description": "road legs from: the model above or OSRM",
                            },
                            "url": _optional(
                                {
                                    **_text("the OSRM server (provider osrm)"),
                                    "pattern": "^https?://",
                                }
                            ),
                            "unroutable": {
                                "enum": [*UNROUTABLE, None],
                                "default": travel.unroutable,
                                "description": "a pair OSRM cannot route: geodesic model or error",
                            },
                            "max_table_size": _optional(
                                _int("the OSRM server's --max-table-size", 1, 100_000),
                                travel.max_table_size,
                            ),
                        },
                        closed=True,
                    )
                ),
                "stability": _optional(
                    _obj(
                        "how a re-plan treats the published plan (docs/model.md)",
                        {
                            "tolerance_minutes": _optional(
                                _int(
                                    "drift of a published start allowed either way for free",
                                    0,
                                    MAX_HORIZON_HOURS * 60,
                                ),
                                stability.tolerance_minutes,
                            ),
                            "frozen_hours": _optional(
                                _num(
                                    "published visits starting this soon keep their engineer",
                                    0,
                                    MAX_HORIZON_HOURS,
                                ),
                                stability.frozen_hours,
                            ),
                        },
                        closed=True,
                    )
                ),
                "weights": _optional(
                    _obj(
                        "objective weights in cost units (docs/model.md)",
                        {
                            **{
                                name: _optional(
                                    _int("cost units", 0, MAX_WEIGHT), getattr(weights, name)
                                )
                                for name in WEIGHT_NAMES
                            },
                            "priority_factor": _optional(
                                _obj(
                                    "multiplier of every penalty, per priority; priorities "
                                    "left out keep their default",
                                    {p: _int("factor", 1, MAX_PRIORITY_FACTOR) for p in PRIORITIES},
                                    closed=True,
                                ),
                                dict(weights.priority_factor),
                            ),
                        },
                        closed=True,
                    )
                ),
            },
            closed=True,
        ),
        "InProgress": _obj(
            "a visit under way: its engineer is on site until expected_end, and their next "
            "leg starts there",
            {
                "order_id": _text("the order being served (not among the open orders)"),
                "engineer_id": _text("who is on site"),
                "location": _ref("Location"),
                "started_at": _ref("DateTime"),
                "expected_end": {
                    **_ref("DateTime"),
                    "description": "start + service minutes, or the engineer's estimate",
                },
            },
            ("order_id", "engineer_id", "location", "started_at", "expected_end"),
            closed=True,
        ),
        "PublishedVisit": _obj(
            "a visit of the published plan",
            {
                "order_id": _text("an order"),
                "engineer_id": _text("its engineer in the published plan"),
                "start": {**_ref("DateTime"), "description": "its published service start"},
            },
            ("order_id", "engineer_id", "start"),
            closed=True,
        ),
        "Problem": _obj(
            "what to plan: a roster, open orders, the company's policy",
            {
                "planning_start": {
                    **_ref("DateTime"),
                    "description": "now, for the plan; nothing starts earlier",
                },
                "horizon_hours": _optional(
                    _int("hours after planning_start that the plan covers", 1, MAX_HORIZON_HOURS),
                    96,
                ),
                "policy": _optional(_ref("Policy")),
                "engineers": _list(_ref("Engineer"), "the roster ([] is allowed)"),
                "orders": _list(_ref("Order"), "[] is allowed"),
                "in_progress": _optional(
                    _list(_ref("InProgress"), "visits under way: fixed, not open orders")
                ),
                "published": _optional(
                    _list(_ref("PublishedVisit"), "the plan in force; moves from it are priced")
                ),
            },
            ("planning_start", "engineers", "orders"),
            closed=True,
            notes=True,
        ),
        "Visit": _obj(
            "one order served: the leg there, then the service",
            {
                "order_id": _text("the order"),
                "travel_mode": {"enum": list(TRAVEL_MODES)},
                "travel_km": _num("km of the leg", 0),
                "travel_minutes": _num("minutes of the leg", 0),
                "departure": _ref("DateTime"),
                "arrival": _ref("DateTime"),
                "start": _ref("DateTime"),
                "end": _ref("DateTime"),
                "deadline": _ref("DateTime"),
                "slack_minutes": _num("deadline minus arrival, minutes; negative when late"),
                "on_time": {"type": "boolean"},
                "overtime_minutes": _num("minutes worked past the shift for this visit", 0),
            },
            (
                "order_id",
                "travel_mode",
                "travel_km",
                "travel_minutes",
                "departure",
                "arrival",
                "start",
                "end",
                "deadline",
                "slack_minutes",
                "on_time",
                "overtime_minutes",
            ),
        ),
        "Overnight": _obj(
            "where the engineer spends a night",
            {
                "night_of": {
                    "type": "string",
                    "format": "date",
                    "description": "ISO date, engineer's timezone, of the evening",
                },
                "location": _ref("Location"),
                "hotel": {"type": "boolean", "description": "false: at home"},
                "place": {
                    "type": "string",
                    "description": '"start", a site name, or "en route to ..."',
                },
            },
            ("night_of", "location", "hotel", "place"),
        ),
        "ReturnLeg": _obj(
            "the way home after the last visit",
            {
                "travel_mode": {"enum": list(TRAVEL_MODES)},
                "travel_km": _num("km", 0),
                "travel_minutes": _num("minutes", 0),
                "departure": _ref("DateTime"),
                "arrival": _ref("DateTime"),
            },
            ("travel_mode", "travel_km", "travel_minutes", "departure", "arrival"),
        ),
        "Route": _obj(
            "one engineer's day(s); every engineer of the problem has one, maybe empty",
            {
                "engineer_id": _text("the engineer"),
                "start": _nullable(
                    _obj(
                        "where and when the route starts",
                        {"location": _ref("Location"), "time": _ref("DateTime")},
                        ("location", "time"),
                    )
                ),
                "visits": _list(_ref("Visit"), "in visiting order"),
                "overnights": _list(_ref("Overnight")),
                "return": _nullable(_ref("ReturnLeg")),
            },
            ("engineer_id", "start", "visits", "overnights", "return"),
        ),
        "Reason": {
            "enum": reasons,
            "description": "closed set, docs/reasons.md",
        },
        "LateOrder": _obj(
            "an order served after its deadline",
            {
                "order_id": _text("the order"),
                "minutes_late": _num("minutes", 0),
                "reason": _ref("Reason"),
                "detail": {"type": "string", "description": "the binding fact"},
                "fix": _nullable(_ref("Fix")),
                "fix_note": _optional(
                    _text("why fix is null (e.g. not computed within the budget)")
                ),
            },
            ("order_id", "minutes_late", "reason", "detail"),
        ),
        "UnassignedOrder": _obj(
            "an order the plan does not serve",
            {
                "order_id": _text("the order"),
                "reason": _ref("Reason"),
                "detail": {"type": "string", "description": "the binding fact"},
                "fix": _nullable(_ref("Fix")),
                "fix_note": _optional(
                    _text("why fix is null (e.g. not computed within the budget)")
                ),
            },
            ("order_id", "reason", "detail"),
        ),
        "Fix": _obj(
            "the cheapest single change that makes the order on time (docs/reasons.md, Fixes)",
            {
                "lever": {
                    "enum": list(FIX_LEVERS),
                    "description": "closed set, tried in this order",
                },
                "engineer_id": _text("the engineer who serves the order after the change"),
                "order_id": _text("swap: the order that moves"),
                "moved_to": _text("swap: the engineer the moved order goes to"),
                "slack_minutes": _num("swap: the moved order's slack there, minutes"),
                "minutes": _int("overtime: minutes more on `day`; deadline: minutes later", 1),
                "day": _text("overtime: the engineer's local date of the shift worked longer"),
                "skill": _text("other_engineer: the skills missing; add_engineer: the skills"),
                "rule": {"enum": list(FIX_RULES), "description": "other_engineer: the rule waived"},
                "station": _text("add_engineer: where one more engineer would be based"),
                "location": _ref("Location"),
                "cost": {
                    "type": "integer",
                    "description": "extra travel (and overtime) cost in the objective's units",
                },
                "sentence": _text("the fix in words"),
            },
            ("lever", "cost", "sentence"),
            closed=True,
        ),
        "Kpis": _obj(
            "totals of the plan",
            {
                "orders": _int("orders in the problem"),
                "assigned": _int("orders served"),
                "on_time": _int("served by their deadline"),
                "late": _int("served after their deadline"),
                "unassigned": _int("not served"),
                "on_time_rate": _num("on_time / orders (1 with no orders)", 0, 1),
                "travel_km": _num("all legs, returns included", 0),
                "travel_hours": _num("all legs, returns included", 0),
                "overtime_minutes": _num("all visits", 0),
                "hotel_nights": _int("nights away from home"),
                "engineers_used": _int("engineers with a visit"),
            },
            (
                "orders",
                "assigned",
                "on_time",
                "late",
                "unassigned",
                "on_time_rate",
                "travel_km",
                "travel_hours",
                "overtime_minutes",
                "hotel_nights",
                "engineers_used",
            ),
        ),
        "PlanMeta": {
            **_obj(
                "how the plan was made (members may be added)",
                {
                    "solver": {"type": "string"},
                    "solver_version": {"type": "string"},
                    "time_limit_s": _num("the search's time limit, seconds", 0),
                    "solution_limit": {"type": ["integer", "null"]},
                    "first_solution": {"type": "string"},
                    "metaheuristic": {"type": "string"},
                    "objective": {
                        "type": ["integer", "null"],
                        "description": "the plan's priced objective, cost units",
                    },
                    "initial_solution": {"type": "string"},
                    "final_phase": {
                        "type": "string",
                        "description": "what produced the plan returned",
                    },
                    "solutions": _int("solutions the search reported"),
                    "compile_seconds": _num("seconds", 0),
                    "build_seconds": _num("seconds", 0),
                    "first_solution_seconds": {
                        "type": ["number", "null"],
                        "description": "null: no plan found within the time limit",
                    },
                    "solve_seconds": _num("seconds", 0),
                    "decode_seconds": _num("seconds", 0),
                    "input_hash": {
                        "type": "string",
                        "pattern": "^sha256:[0-9a-f]{64}$",
                        "description": "of the canonical Problem document",
                    },
                    "policy": {"type": "object"},
                    "solver_errors": _list({"type": "string"}),
                    "orders_not_planned_in_time": _int(
                        "unassigned orders with reason not_planned_in_time"
                    ),
                },
                (
                    "solver",
                    "solver_version",
                    "time_limit_s",
                    "objective",
                    "final_phase",
                    "first_solution_seconds",
                    "solve_seconds",
                    "input_hash",
                    "orders_not_planned_in_time",
                ),
            ),
            "patternProperties": {
                "^candidates_": _int(
                    "candidate plans offered, improving, repaired, rejected in the search"
                )
            },
        },
        "Plan": _obj(
            "the answer: routes, late and unassigned orders with reasons, KPIs",
            {
                "status": {"enum": list(PLAN_STATUSES)},
                "kpis": _ref("Kpis"),
                "routes": _list(_ref("Route")),
                "late": _list(_ref("LateOrder")),
                "unassigned": _list(_ref("UnassignedOrder")),
                "meta": _ref("PlanMeta"),
            },
            ("status", "kpis", "routes", "late", "unassigned", "meta"),
        ),
    }


TITLES = {"problem": "Problem", "plan": "Plan", "order": "Order"}


def _reachable(defs: dict[str, Schema], root: str) -> list[str]:
    """The definitions ``root`` refers to, directly or not, ``root`` first."""
    seen: list[str] = []
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        stack: list[Any] = [defs[name]]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/$defs/"):
                    todo.append(ref.removeprefix("#/$defs/"))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return seen


def schema_names() -> tuple[str, ...]:
    return tuple(TITLES)


def json_schema(name: str) -> Schema:
    """The JSON Schema of the ``problem``, ``plan`` or ``order`` document.

    Raises
    ------
    NotFound
        For any other name.
    """
    if name not in TITLES:
        raise NotFound(f"no schema {name!r}; expected one of {', '.join(TITLES)}")
    defs = _definitions()
    root = TITLES[name]
    return {
        "$schema": DIALECT,
        "title": root,
        "description": f"The {root} document of the field dispatch contract (docs/contract.md).",
        "$ref": f"#/$defs/{root}",
        "$defs": {d: defs[d] for d in sorted(_reachable(defs, root))},
    }


__all__ = ["json_schema", "schema_names"]
