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
from api.routes.plans import SOLVE_DEFAULT_S
from api.schemas import Problem
from api.services.plans import DEFAULT_TIME_LIMIT_S
from dispatcher.schema import json_schema

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


# ------------------------------------------------------------- requests as tight as validation

CONTRACT_PREFIX = "Contract"
# The body guard (api.middleware) refuses a NUL character in any string of a JSON body.
NUL_FREE = "^[^\\u0000]*$"
NUL_FREE_JSON = "NulFreeJson"


def _contract_components() -> dict[str, Any]:
    """The contract's definitions (dispatcher.schema) as components, ``Contract``-prefixed
    so they never clash with the API's own models (``Problem`` is problem+json here)."""
    defs = json_schema("problem")["$defs"]
    text = json.dumps(defs).replace('"#/$defs/', f'"#/components/schemas/{CONTRACT_PREFIX}')
    components = {CONTRACT_PREFIX + name: d for name, d in json.loads(text).items()}
    _drop_structured_defaults(components)
    return components


def _drop_structured_defaults(node: Any) -> None:
    """Drop object and array ``default`` annotations (the commitments table): they validate
    nothing, and client generators refuse an object default of a nullable member."""
    if isinstance(node, dict):
        if isinstance(node.get("default"), dict | list):
            del node["default"]
        for value in node.values():
            _drop_structured_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_structured_defaults(value)


def _body_schema(schema: dict[str, Any], path: str, method: str) -> dict[str, Any] | None:
    operation = schema.get("paths", {}).get(path, {}).get(method)
    if operation is None or "requestBody" not in operation:
        return None
    media: dict[str, Any] = operation["requestBody"]["content"]["application/json"]
    return media


def _query_param(schema: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    operation = schema["paths"][path][method]
    for param in operation.get("parameters", []):
        if param.get("in") == "query" and param.get("name") == name:
            found: dict[str, Any] = param["schema"]
            return found
    raise KeyError(f"{method.upper()} {path} has no query parameter {name}")


def _cap(prop: dict[str, Any], cap: float, default: float) -> None:
    """``maximum: cap`` on a time limit whose default is ``default`` or the cap if lower
    (api.services.plans.parse_job_options, api.routes.plans.solve)."""
    branches = [b for b in prop.pop("anyOf", []) if b != {"type": "null"}]
    for branch in branches:  # ``float | None`` in the route: None means "not given"
        prop.update(branch)
    prop["maximum"] = cap
    prop["default"] = min(default, cap)


def _walk_refs(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    """The component names ``node`` refers to, directly or not (into ``seen``)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen and name in components:
                    seen.add(name)
                    stack.append(components[name])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _nul_free(node: Any) -> None:
    """Every string of a request schema NUL-free: a ``pattern`` on unpatterned strings and
    on the names of open objects' members; an unconstrained value (``{}``) becomes any JSON
    without NUL (the body guard's rule, which holds for every body)."""
    if isinstance(node, list):
        for item in node:
            _nul_free(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in list(node.items()):
        if key in ("properties", "patternProperties", "$defs"):
            for sub in value.values():
                if isinstance(sub, dict) and not sub:
                    sub["$ref"] = f"#/components/schemas/{NUL_FREE_JSON}"
                else:
                    _nul_free(sub)
        elif key in ("items", "additionalProperties") and value == {}:
            node[key] = {"$ref": f"#/components/schemas/{NUL_FREE_JSON}"}
        elif key not in ("examples", "example", "default", "enum", "const"):
            _nul_free(value)
    kinds = node.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds and "pattern" not in node and "enum" not in node:
        node["pattern"] = NUL_FREE
    if node.get("format") == "date-time" and "pattern" in node:
        # The pattern is the codec's rule; JSON Schema's date-time format would also refuse
        # the space separator and lower-case t/z that RFC 3339 allows and the codec reads.
        del node["format"]
    if "object" in kinds and node.get("additionalProperties", True) is not False:
        node.setdefault("propertyNames", {"pattern": NUL_FREE})


# No ``type``: each keyword applies to the values it is about (``pattern`` to strings,
# ``items`` to arrays, the member rules to objects); client generators read it as any.
NUL_FREE_JSON_SCHEMA: dict[str, Any] = {
    "description": "any JSON value without a NUL character in a string or member name",
    "pattern": NUL_FREE,
    "items": {"$ref": f"#/components/schemas/{NUL_FREE_JSON}"},
    "propertyNames": {"pattern": NUL_FREE},
    "additionalProperties": {"$ref": f"#/components/schemas/{NUL_FREE_JSON}"},
}


def tighten_requests(
    schema: dict[str, Any], max_solve_s: float, stateless_solve_s: float
) -> dict[str, Any]:
    """Make each request schema say what validation accepts (in place): the contract's
    Problem and Policy schemas for ``/v1/solve`` and ``PUT /v1/policy`` (free-form in the
    routes, read by the codec), the service's time-limit caps, NUL-free strings."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_contract_components())
    components[NUL_FREE_JSON] = NUL_FREE_JSON_SCHEMA
    contract_bodies = {
        ("/v1/solve", "post"): "Problem",
        ("/v1/policy", "put"): "Policy",
    }
    for (path, method), name in contract_bodies.items():
        media = _body_schema(schema, path, method)
        if media is not None:
            media["schema"] = {"$ref": f"#/components/schemas/{CONTRACT_PREFIX}{name}"}
    if "/v1/solve" in schema.get("paths", {}):
        limit = _query_param(schema, "/v1/solve", "post", "time_limit_s")
        _cap(limit, stateless_solve_s, SOLVE_DEFAULT_S)
    if "PlanRequest" in components:
        _cap(
            components["PlanRequest"]["properties"]["time_limit_s"],
            max_solve_s,
            DEFAULT_TIME_LIMIT_S,
        )
    if "EngineerIn" in components:  # a dict of lists of spans in the model; the codec's shape
        components["EngineerIn"]["properties"]["weekly_shifts"] = {
            "anyOf": [
                {"$ref": f"#/components/schemas/{CONTRACT_PREFIX}WeeklyShifts"},
                {"type": "null"},
            ]
        }
    requested: set[str] = set()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody")
            if body is not None:
                _nul_free(body.get("content", {}))
                _walk_refs(body, components, requested)
    for name in sorted(requested - {NUL_FREE_JSON}):
        _nul_free(components[name])
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the post-processed document at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            settings = app.state.settings
            document = document_problems(
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
            app.openapi_schema = tighten_requests(
                document, settings.max_solve_seconds, settings.stateless_solve_seconds
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
