"""The one mapping from errors to ``application/problem+json`` (RFC 9457).

Every error response of the service goes through :func:`problem_response`: errors of
the product's tree (:mod:`dispatcher.errors`, :mod:`api.errors`), FastAPI's request
validation errors, Starlette's 404/405, the database being unreachable or busy (503 with
``Retry-After``, a warning in the log, no traceback) and anything unexpected (500, no
details leaked). ``type`` is a stable relative URI, ``/problems/<slug>``, which the service
also serves.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any, get_args

import sqlalchemy.exc as sa_exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from api.errors import InputErrors
from dispatcher.errors import DispatchError, InputError
from dispatcher.reader import unknown_member

PROBLEM_JSON = "application/problem+json"

# slug -> (status, title, description). Titles never change between occurrences.
PROBLEM_TYPES: dict[str, tuple[int, str, str]] = {
    "malformed-json": (400, "Malformed JSON", "The request body is not valid JSON."),
    "unauthorized": (401, "Unauthorized", "No valid API key: send Authorization: Bearer <key>."),
    "forbidden": (403, "Forbidden", "The API key's role may not do this."),
    "not-found": (404, "Not found", "No such resource."),
    "method-not-allowed": (405, "Method not allowed", "The resource exists; the method not."),
    "conflict": (409, "Conflict", "The request conflicts with the resource's current state."),
    "payload-too-large": (413, "Payload too large", "The body exceeds the size limit."),
    "unsupported-media-type": (415, "Unsupported media type", "Send application/json."),
    "invalid-input": (
        422,
        "Invalid input",
        "A value is not acceptable; `errors` lists each with its JSON path.",
    ),
    "too-many-requests": (
        429,
        "Too many requests",
        "The job queue or the stateless solver capacity is full, or the API key's rate "
        "limit is reached; see Retry-After.",
    ),
    "internal-error": (500, "Internal error", "An unexpected error; the request id is logged."),
    "travel-time-unavailable": (
        502,
        "Travel times unavailable",
        "The travel-time provider failed to answer.",
    ),
    "service-unavailable": (
        503,
        "Service unavailable",
        "The service is not ready, its database is unreachable or busy, or the solver "
        "failed; retry after Retry-After when given.",
    ),
}

# A request that failed because the database could not be reached (or was too busy) is
# worth retrying: 503 with this Retry-After.
DATABASE_RETRY_AFTER_S = 2
# sqlite3.OperationalError also covers SQL mistakes ("no such column", syntax errors):
# only these messages say the database file is busy or cannot be used right now.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)

_STATUS_SLUGS = {status: slug for slug, (status, _, _) in PROBLEM_TYPES.items()}

log = logging.getLogger("api.errors")


def problem_type_uri(slug: str) -> str:
    return f"/problems/{slug}"


def problem_body(
    status: int,
    slug: str,
    detail: str,
    errors: list[tuple[str, str]] | None = None,
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    title = PROBLEM_TYPES.get(slug, (status, slug.replace("-", " ").capitalize(), ""))[1]
    body: dict[str, Any] = {
        "type": problem_type_uri(slug),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"path": path, "message": message} for path, message in errors]
    if extensions:
        body.update(extensions)
    return body


def problem_response(
    status: int,
    slug: str,
    detail: str,
    errors: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, slug, detail, errors, extensions),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def problem_bytes(
    status: int, slug: str, detail: str, errors: list[tuple[str, str]] | None = None
) -> bytes:
    """The body of a problem response, for pure ASGI middleware that answers on its own."""
    return json.dumps(problem_body(status, slug, detail, errors)).encode()


def dispatch_error_body(exc: DispatchError) -> dict[str, Any]:
    """The problem document of one error of the product's tree."""
    errors: list[tuple[str, str]] | None = None
    if isinstance(exc, InputErrors):
        errors = exc.errors
    elif isinstance(exc, InputError):
        errors = [(exc.path, exc.message)]
    return problem_body(
        exc.http_status,
        exc.type_slug,
        str(exc) or PROBLEM_TYPES.get(exc.type_slug, (0, "", ""))[2],
        errors=errors,
        extensions=getattr(exc, "extensions", None),
    )


def dispatch_error_response(exc: DispatchError) -> JSONResponse:
    """Map one error of the product's tree."""
    return JSONResponse(
        dispatch_error_body(exc),
        status_code=exc.http_status,
        media_type=PROBLEM_JSON,
        headers=getattr(exc, "headers", None),
    )


def loc_to_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "orders", 3, "site", "lat")`` → ``orders[3].site.lat`` (the codec's style)."""
    parts = list(loc)
    prefix = ""
    if parts and parts[0] == "body":
        parts = parts[1:]
    elif parts and parts[0] in ("query", "path", "header", "cookie"):
        prefix = f"{parts[0]}."
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return prefix + out


def _members(model: Any, loc: Any) -> list[str] | None:
    """The member names of the object at ``loc`` (its last part is the unknown member) in
    the request model ``model``, or None if the path leaves known models."""
    parts = list(loc)[:-1]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    for part in parts:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        model = _inner_model(field.annotation)
    fields = getattr(model, "model_fields", None)
    return list(fields) if isinstance(fields, dict) else None


def _inner_model(annotation: Any) -> Any:
    """The model inside ``X | None``, ``list[X]`` and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def pydantic_errors(errors: Any, model: Any = None) -> list[tuple[str, str]]:
    """Pydantic's errors as ``(path, message)``; a member the model does not define is
    named as the codec names it (``unknown field; expected one of …``)."""
    out = []
    for e in errors:
        loc = e.get("loc", ())
        message = str(e.get("msg", "invalid"))
        if e.get("type") == "extra_forbidden" and loc:
            members = _members(model, loc)
            message = unknown_member(str(loc[-1]), members) if members else "unknown field"
        out.append((loc_to_path(loc), message))
    return out


async def _on_dispatch_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DispatchError)
    return dispatch_error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem_response(400, "malformed-json", "The request body is not valid JSON.")
    route = _request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    body_model = getattr(getattr(body_field, "field_info", None), "annotation", None)
    errors = pydantic_errors(raw, body_model)
    detail = f"{len(errors)} invalid value(s); first: {errors[0][0] or 'body'}: {errors[0][1]}"
    return problem_response(422, "invalid-input", detail, errors=errors)


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = _STATUS_SLUGS.get(exc.status_code, "internal-error")
    detail = exc.detail if isinstance(exc.detail, str) else PROBLEM_TYPES[slug][2]
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, slug, detail, headers=headers)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or used right now (a restart, a
    dropped or refused connection, an exhausted pool, a locked SQLite file), as opposed to
    a mistake in a statement: the request may succeed when retried."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return _driver_unavailable(exc.orig)
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True  # TimeoutError: no pooled connection came free in time
    return _driver_unavailable(exc)


def _driver_unavailable(exc: BaseException | None) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        return any(text in message for text in _SQLITE_UNAVAILABLE)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    # Refused or lost connections, admin shutdown, too many clients, cancelled statements,
    # deadlocks and serialization failures: all operational, all worth a retry.
    return isinstance(exc, psycopg.OperationalError)


def database_unavailable_response(request: Request, exc: BaseException) -> JSONResponse:
    """503 ``service-unavailable`` with ``Retry-After``; one warning line, no traceback."""
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).strip().splitlines() or [""])[0][:300]
    log.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(cause).__name__,
        first_line,
    )
    return problem_response(
        503,
        "service-unavailable",
        "The database is unavailable; retry later.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        return database_unavailable_response(request, exc)
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Reached for errors raised outside the routes (middleware); Starlette re-raises them
    # after this answer, so the server logs those once more.
    if database_unavailable(exc):
        return database_unavailable_response(request, exc)
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal-error", "An unexpected error occurred.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DispatchError, _on_dispatch_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    # Database errors are mapped where the routes' errors are (not by the outermost
    # handler, which re-raises): a lost connection is a 503 and a warning, not a traceback.
    for database_error in (sa_exc.SQLAlchemyError, sqlite3.Error, *_driver_errors()):
        app.add_exception_handler(database_error, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)


def _driver_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return ()
    return (psycopg.Error,)
