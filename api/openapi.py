"""The OpenAPI document's customisation: the problem+json errors every operation can answer.

The request and response models the document describes live in :mod:`api.schemas`.
:func:`install_openapi` documents the errors that the middleware, the auth dependency and
the validation handler produce for whole classes of operations, as
``application/problem+json`` with the :class:`~api.schemas.Problem` schema, replacing
FastAPI's default (and, here, wrong) ``HTTPValidationError`` 422.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import PROBLEM_JSON, PROBLEM_TYPES
from api.schemas import Problem

BODY_METHODS = ("post", "put", "patch")


def _error_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses any operation like this one can answer."""
    statuses: set[int] = set()
    if operation.get("security"):
        statuses |= {401, 403, 429}  # api.deps: the key, its role, its rate limit
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
