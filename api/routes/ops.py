"""Operations: liveness, readiness, Prometheus metrics, problem type descriptions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

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
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
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
