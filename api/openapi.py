"""The OpenAPI document: response shapes, and the problem+json errors every operation can
answer.

Routes return ``JSONResponse`` built by the services, so the models below only document
the answers (FastAPI does not re-validate a returned ``Response``); the Schemathesis tests
(``tests/api/test_schemathesis.py``) check the service against them. :func:`install_openapi`
then documents the errors that the middleware, the auth dependency and the validation
handler produce for whole classes of operations, as ``application/problem+json`` with
the :class:`Problem` schema, replacing FastAPI's default (and, here, wrong)
``HTTPValidationError`` 422.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from api.problems import PROBLEM_JSON, PROBLEM_TYPES

DateTime = Field(json_schema_extra={"format": "date-time"})
OrderStatus = Literal["open", "planned", "published", "in_progress", "done", "cancelled"]
JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class _Out(BaseModel):
    # Answers may grow members: clients ignore what they do not know.
    model_config = ConfigDict(extra="allow")


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


class StatusChange(_Out):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: OrderStatus | None = Field(alias="from")
    to: OrderStatus
    at: str = DateTime
    actor: str | None
    note: str | None


class Assignment(_Out):
    """The order's place in the published plan."""

    plan_id: str | None
    engineer_id: str | None = Field(description="null: unassigned (see `reason`)")
    eta: str | None = DateTime
    start: str | None = DateTime
    end: str | None = DateTime
    on_time: bool
    slack_minutes: float | None
    reason: str | None


class OrderOut(_Out):
    id: str
    status: OrderStatus
    deadline: str = DateTime
    commitment_class: str
    priority: str
    at_risk: bool
    assignment: Assignment | None
    order: dict[str, Any] = Field(description="the Order document as stored")
    version: int
    created_at: str = DateTime
    updated_at: str = DateTime
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


class AbsenceOut(_Out):
    start: str = DateTime
    end: str = DateTime
    reason: str | None


class EngineerOut(_Out):
    id: str
    engineer: dict[str, Any] = Field(description="the Engineer document as stored")
    absences: list[AbsenceOut]
    created_at: str = DateTime
    updated_at: str = DateTime


class EngineerPage(_Out):
    items: list[EngineerOut]
    next_cursor: str | None


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
    created_at: str = DateTime
    started_at: str | None = DateTime
    finished_at: str | None = DateTime
    published_at: str | None = DateTime
    published_by: str | None
    plan: dict[str, Any] | None = Field(description="the Plan document once done")


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
    created_at: str = DateTime
    started_at: str | None = DateTime
    finished_at: str | None = DateTime
    results: dict[str, Any] | None = Field(
        description="once done: the `results.json` document of `dispatch simulate` "
        "(`scenario`, `comparison` with per-variant intervals, paired differences and "
        "`warnings`, `search`, `replications`)"
    )


class KeyCreated(_Out):
    id: str
    role: Literal["ticketing", "coordinator", "admin"]
    key: str = Field(description="shown in this answer only")


class KeyRevoked(_Out):
    id: str
    revoked: bool


class AuditEvent(_Out):
    at: str = DateTime
    actor: str | None
    action: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any]


class AuditPage(_Out):
    items: list[AuditEvent]


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


# ---------------------------------------------------------------------------- errors

BODY_METHODS = ("post", "put", "patch")


def _error_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses any operation like this one can answer."""
    statuses: set[int] = set()
    if operation.get("security"):
        statuses |= {401, 403}
    params = operation.get("parameters", [])
    if params or "requestBody" in operation:
        statuses.add(422)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)  # an unknown id; also a path the router does not match
    if method in BODY_METHODS:
        statuses |= {413, 415}  # api.middleware.BodyGuardMiddleware, any body
        if "requestBody" in operation:
            statuses.add(400)  # malformed JSON
    return statuses


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe every error answer of ``schema``'s operations as problem+json (in place)."""
    titles = {status: title for status, title, _ in PROBLEM_TYPES.values()}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem_schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault("Problem", problem_schema)
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            statuses = _error_statuses(method, operation)
            statuses |= {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for status in sorted(statuses):
                existing = responses.get(str(status), {})
                description = existing.get("description") or titles.get(status, "Error")
                if status == 422 and description == "Validation Error":
                    description = "invalid input; `errors` lists each bad value's path"
                responses[str(status)] = _problem_response(description)
    for unused in ("HTTPValidationError", "ValidationError"):  # in this order
        if f'"#/components/schemas/{unused}"' not in json.dumps(schema):
            components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the post-processed document at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
