"""``/v1/plans`` (solve jobs, publishing) and ``/v1/solve`` (stateless)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import get_runner, get_services, require
from api.errors import ServiceUnavailable
from api.jobs.runner import JobRunner
from api.jobs.worker import SolveFailed
from api.routes import operation_id
from api.schemas import PlanJobOut, PlanRequest, PublishRequest
from api.services import Services
from api.services.keys import Principal
from dispatcher.codec import problem_from_dict, problem_to_dict
from dispatcher.errors import InputError

router = APIRouter(prefix="/v1", tags=["plans"], generate_unique_id_function=operation_id)
Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Svc = Annotated[Services, Depends(get_services)]
Runner = Annotated[JobRunner, Depends(get_runner)]

SOLVE_DEFAULT_S = 5.0
SOLVE_EXAMPLE: dict[str, Any] = {
    "planning_start": "2026-11-23T08:00:00+08:00",
    "horizon_hours": 48,
    "policy": {"home_country": "CN"},
    "engineers": [
        {
            "id": "E1",
            "name": "Li Wei",
            "home": {"lat": 30.57, "lon": 104.06},
            "timezone": "Asia/Shanghai",
            "skills": ["hydraulics"],
            "weekly_shifts": {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    ],
    "orders": [
        {
            "id": "T-1",
            "site": {"lat": 30.66, "lon": 104.07, "country": "CN"},
            "received_at": "2026-11-23T07:40:00+08:00",
            "priority": "high",
            "required_skills": ["hydraulics"],
            "service_minutes": 120,
        }
    ],
}


@router.post(
    "/plans",
    status_code=202,
    response_model=PlanJobOut,
    responses={429: {"description": "job queue full; see Retry-After (problem+json)"}},
)
def create_plan(
    principal: Coordinator,
    services: Svc,
    runner: Runner,
    body: PlanRequest | None = None,
) -> JSONResponse:
    """Queue a plan job over the stored orders and engineers; poll ``Location``."""
    options = body.document() if body is not None else {}
    view = services.plans.create(options, principal.key_id)
    runner.submit(view["id"])
    return JSONResponse(view, status_code=202, headers={"Location": f"/v1/plans/{view['id']}"})


@router.get(
    "/plans/current",
    response_model=PlanJobOut,
    responses={404: {"description": "nothing published yet"}},
)
def get_current_plan(_principal: Coordinator, services: Svc) -> JSONResponse:
    """The most recently published plan."""
    return JSONResponse(services.plans.current())


@router.get("/plans/{plan_id}", response_model=PlanJobOut)
def get_plan(plan_id: str, _principal: Coordinator, services: Svc) -> JSONResponse:
    """State (queued, running, done, failed, cancelled), progress, and the plan once done."""
    return JSONResponse(services.plans.get(plan_id))


@router.get("/plans/{plan_id}/problem", response_model=dict[str, Any])
def get_plan_problem(plan_id: str, _principal: Coordinator, services: Svc) -> JSONResponse:
    """The Problem document the job solved (the stored world as the job saw it: visits
    under way, the published plan, absences cut out of shifts): with the plan, what
    ``dispatch check`` takes."""
    return JSONResponse(services.plans.problem(plan_id))


@router.delete(
    "/plans/{plan_id}",
    response_model=PlanJobOut,
    responses={409: {"description": "the job has finished"}},
)
def cancel_plan(plan_id: str, principal: Coordinator, services: Svc) -> JSONResponse:
    """Cancel a queued or running job (audited)."""
    return JSONResponse(services.plans.cancel(plan_id, principal.key_id))


@router.post(
    "/plans/{plan_id}/publish",
    response_model=PlanJobOut,
    responses={409: {"description": "not done, or stale"}},
)
def publish_plan(
    plan_id: str, principal: Coordinator, services: Svc, body: PublishRequest | None = None
) -> JSONResponse:
    """Publish a finished plan (409 if built from data changed since, unless ``force``)."""
    force = body.force if body is not None else False
    return JSONResponse(services.plans.publish(plan_id, force, principal.key_id))


@router.post(
    "/solve",
    response_model=dict[str, Any],
    responses={
        429: {
            "description": "every stateless solver process is busy (DISPATCH_SOLVE_WORKERS); "
            "see Retry-After (problem+json)"
        },
        503: {"description": "the solver failed"},
    },
)
async def solve(
    _principal: Coordinator,
    runner: Runner,
    request: Annotated[dict[str, Any], Body(openapi_examples={"small": {"value": SOLVE_EXAMPLE}})],
    time_limit_s: Annotated[
        float | None,
        Query(gt=0, description="seconds; default 5, or the cap when lower"),
    ] = None,
    solution_limit: Annotated[int | None, Query(ge=1)] = None,
) -> JSONResponse:
    """Solve a whole Problem document now and return the Plan (nothing is stored).

    The time limit is capped by the service's ``stateless_solve_seconds``. Stateless solves
    have solver processes of their own (``solve_workers``), so they never wait behind plan
    jobs; when those are all busy the answer is 429 with ``Retry-After``, at once.
    """
    cap = runner.stateless_cap_s
    if time_limit_s is None:
        time_limit_s = min(SOLVE_DEFAULT_S, cap)
    if time_limit_s > cap:
        raise InputError(
            "query.time_limit_s", f"expected at most {cap:g} seconds, got {time_limit_s:g}"
        )
    document = await run_in_threadpool(_canonical_problem, request)
    try:
        result = await runner.solve_now(
            document, {"time_limit_s": time_limit_s, "solution_limit": solution_limit}
        )
    except SolveFailed as exc:
        raise ServiceUnavailable(f"the solver failed: {exc}") from None
    return JSONResponse(result["plan"])


def _canonical_problem(document: dict[str, Any]) -> dict[str, Any]:
    return problem_to_dict(problem_from_dict(document))
