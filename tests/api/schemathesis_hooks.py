"""Schemathesis hooks of ``test_schemathesis.py``: the one check narrowed, and why.

``positive_data_acceptance`` demands that every request the OpenAPI schema allows is
accepted. The schema is as tight as validation where JSON Schema can say it (patterns,
enums, caps, the contract's own schemas); a few rules of the service relate two values, or
a value and the stored state, or parse a text format, and no JSON Schema can state them.
For the operations listed in :data:`RULES_BEYOND_SCHEMA` the built-in check is switched off
(in the generated ``schemathesis.toml``) and :func:`positive_data_acceptance_beyond_schema`
runs instead: it accepts a 422 only when *every* error it lists is one of that operation's
named rules, and otherwise fails exactly as the built-in check does. Each rule is tested on
its own in ``tests/api/test_openapi_tightness.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import schemathesis
from schemathesis.checks import not_a_server_error, positive_data_acceptance


class Rule(NamedTuple):
    name: str
    path: str  # regex, full match on the error's path
    message: str  # regex, searched in the error's message


_END_AFTER_START = Rule("window end after its start", r".*\.end", r"expected end after start")
_DATETIME_RANGE = Rule(
    "timestamps are real calendar dates within the years 1970-9000 (in UTC too)",
    r".*",
    r"expected a datetime (between|whose)|expected an RFC 3339 datetime with offset \(",
)
_DEADLINE = Rule("deadline at or after received_at", r"(.*\.)?deadline", r"at or after received_at")
_SHIFTS_APART = Rule("shifts do not overlap", r".*shifts\[[0-9]+\]", r"non-overlapping shifts")
_TIMEZONE = Rule("a known IANA timezone", r"(.*\.)?timezone", r"timezone")
_ROSTER = Rule(
    "engineer references name engineers of the roster",
    r".*(preferred_engineers|excluded_engineers)\[[0-9]+\]",
    r"expected the id of an engineer in the roster",
)
_VISIT_FACTS = Rule(
    "visit facts go with their status change and the stored order's state (docs/api.md)",
    r"engineer_id|arrived_at|expected_end|finished_at",
    r"expected only (with|while)|expected nothing: the arrival is recorded|"
    r"expected a datetime at or after the (visit's start|order's received_at|arrival)",
)
_NOT_YET_OPEN = Rule(
    "a quote is for a ticket not stored as an open order yet",
    r"id",
    r"expected an order not yet open",
)
_OWN_ID = Rule("an id in the body equals the id in the URL", r"id", r"own id|the id in the URL")

_REAL_DATE = Rule(
    "a date is a real calendar date",
    r"query\.(from|to)",
    r'got "[0-9]{4}-[0-9]{2}-[0-9]{2}"$',
)
_WINDOW = Rule("`to` after `from`", r"query\.to", r"expected a time after from")
_PAGE_CURSOR = Rule(
    "a page cursor is opaque: only a `next_cursor` handed out",
    r"query\.cursor",
    r"expected a cursor returned by a previous page",
)

RULES_BEYOND_SCHEMA: dict[str, tuple[Rule, ...]] = {
    "POST /v1/orders": (_END_AFTER_START, _DATETIME_RANGE, _DEADLINE),
    "POST /v1/quotes": (_END_AFTER_START, _DATETIME_RANGE, _DEADLINE, _NOT_YET_OPEN),
    "PATCH /v1/orders/{order_id}": (
        _END_AFTER_START,
        _DATETIME_RANGE,
        _DEADLINE,
        _OWN_ID,
        _VISIT_FACTS,
    ),
    "PUT /v1/engineers/{engineer_id}": (
        _END_AFTER_START,
        _DATETIME_RANGE,
        _TIMEZONE,
        _SHIFTS_APART,
        _OWN_ID,
    ),
    "POST /v1/engineers/{engineer_id}/status": (_END_AFTER_START, _DATETIME_RANGE),
    "POST /v1/solve": (
        _END_AFTER_START,
        _DATETIME_RANGE,
        _DEADLINE,
        _TIMEZONE,
        _SHIFTS_APART,
        _ROSTER,
    ),
    "GET /v1/kpis": (_DATETIME_RANGE, _REAL_DATE, _WINDOW),
    "GET /v1/orders:export": (_DATETIME_RANGE, _REAL_DATE, _WINDOW),
    "GET /v1/orders": (_PAGE_CURSOR,),
    "GET /v1/engineers": (_PAGE_CURSOR,),
    "GET /v1/events": (
        Rule(
            "a cursor is opaque: only a `next` the feed handed out",
            r"query\.after",
            r"expected a cursor returned as `next`",
        ),
    ),
    "POST /v1/simulations": (
        Rule(
            "the scenario is the TOML text of a scenario file (docs/simulation.md)",
            r"scenario(\..*|\[.*)?",
            r".",
        ),
        Rule(
            "days (or the scenario's) plus the scenario's drain_days at most 60",
            r"days",
            r"days \+ drain_days <= 60",
        ),
    ),
}


# not_a_server_error: the one 5xx the service documents for a schema-valid request.
SERVER_ERRORS_BEYOND_SCHEMA: dict[str, tuple[Rule, ...]] = {
    "POST /v1/solve": (
        Rule(
            "a travel provider the problem names (policy.travel: osrm at url) that cannot be "
            "reached: 503, the solver failed",
            r"",
            r"^the solver failed: TravelTimeError: ",
        ),
    ),
}


def _body(response: Any) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def explained(label: str, status: int, body: Any) -> bool:
    """Whether a ``status`` answer with problem ``body`` to a schema-valid request of
    ``label`` is wholly explained by that operation's rules beyond the schema."""
    rules = RULES_BEYOND_SCHEMA.get(label, ())
    if status != 422 or not rules or not isinstance(body, dict):
        return False
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return False
    return all(
        isinstance(e, dict)
        and any(
            re.fullmatch(rule.path, str(e.get("path", "")))
            and re.search(rule.message, str(e.get("message", "")))
            for rule in rules
        )
        for e in errors
    )


def server_error_explained(label: str, status: int, body: Any) -> bool:
    """Whether a 503 of ``label`` is the documented one of :data:`SERVER_ERRORS_BEYOND_SCHEMA`."""
    rules = SERVER_ERRORS_BEYOND_SCHEMA.get(label, ())
    return (
        status == 503
        and isinstance(body, dict)
        and body.get("type") == "/problems/service-unavailable"
        and any(re.search(rule.message, str(body.get("detail", ""))) for rule in rules)
    )


@schemathesis.check
def positive_data_acceptance_beyond_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance`` for the operations of :data:`RULES_BEYOND_SCHEMA`,
    where a 422 naming only those rules is the documented answer."""
    label = case.operation.label
    if label not in RULES_BEYOND_SCHEMA:
        return None  # the built-in check runs for every other operation
    if explained(label, response.status_code, _body(response)):
        return None
    return positive_data_acceptance(ctx, response, case)


@schemathesis.check
def not_a_server_error_beyond_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """``not_a_server_error`` for the operations of :data:`SERVER_ERRORS_BEYOND_SCHEMA`."""
    label = case.operation.label
    if label not in SERVER_ERRORS_BEYOND_SCHEMA:
        return None  # the built-in check runs for every other operation
    if server_error_explained(label, response.status_code, _body(response)):
        return None
    return not_a_server_error(ctx, response, case)


# Built-in check -> its narrowed replacement and the operations it replaces it for.
REPLACEMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "positive_data_acceptance": (
        "positive_data_acceptance_beyond_schema",
        tuple(RULES_BEYOND_SCHEMA),
    ),
    "not_a_server_error": (
        "not_a_server_error_beyond_schema",
        tuple(SERVER_ERRORS_BEYOND_SCHEMA),
    ),
}
