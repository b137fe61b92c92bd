"""Operations: liveness, readiness, Prometheus metrics, problem type descriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.deps import authorize, bearer
from api.errors import ServiceUnavailable
from api.persistence import migrate
from api.problems import PROBLEM_TYPES, problem_type_uri
from api.routes import operation_id
from api.schemas import Health, ProblemType, Ready
from dispatcher.errors import NotFound

router = APIRouter(tags=["ops"], generate_unique_id_function=operation_id)


@router.get("/healthz", response_model=Health)
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"description": "database unreachable or not migrated"}},
)
async def readyz(request: Request) -> dict[str, str]:
    """The database answers and its schema is at the newest migration."""
    engine = request.app.state.engine
    try:
        current, head = await run_in_threadpool(
            lambda: (migrate.current_revision(engine), migrate.head_revision(engine))
        )
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(f"database unreachable: {type(exc).__name__}") from None
    if current != head:
        raise ServiceUnavailable(f"database schema at {current}, expected {head}")
    return {"status": "ready", "schema": str(current)}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        401: {"description": "no admin API key (unless DISPATCH_METRICS_PUBLIC=1)"},
        403: {"description": "the key is not an admin key"},
    },
)
async def metrics(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """Prometheus text format. Needs an admin API key unless the service runs with
    ``DISPATCH_METRICS_PUBLIC=1``; counts read from the database are at most 5 s old."""
    if not request.app.state.settings.metrics_public:
        await authorize(request, credentials, "admin")
    registry = request.app.state.metrics.registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/problems/{slug}",
    tags=["errors"],
    response_model=ProblemType,
    responses={404: {"description": "no such problem type"}},
)
def problem_type(slug: str) -> JSONResponse:
    """What a problem ``type`` means."""
    if slug not in PROBLEM_TYPES:
        raise NotFound(f"no problem type {slug!r}")
    status, title, description = PROBLEM_TYPES[slug]
    return JSONResponse(
        {
            "type": problem_type_uri(slug),
            "status": status,
            "title": title,
            "description": description,
        }
    )
