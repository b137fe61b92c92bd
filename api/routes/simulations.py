"""``/v1/simulations``: what-if simulation jobs (docs/simulation.md, docs/api.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.deps import get_runner, get_services, require
from api.jobs.runner import JobRunner
from api.routes import operation_id
from api.schemas import SimulationJobOut, SimulationPage, SimulationRequest
from api.services import Services
from api.services.keys import Principal

router = APIRouter(prefix="/v1", tags=["simulations"], generate_unique_id_function=operation_id)
Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Svc = Annotated[Services, Depends(get_services)]
Runner = Annotated[JobRunner, Depends(get_runner)]


@router.post(
    "/simulations",
    status_code=202,
    response_model=SimulationJobOut,
    responses={429: {"description": "simulation queue full; see Retry-After (problem+json)"}},
)
def create_simulation(
    principal: Coordinator, services: Svc, runner: Runner, body: SimulationRequest
) -> JSONResponse:
    """Validate a scenario and queue its simulation; poll ``Location``."""
    view = services.simulations.create(body.model_dump(), principal.key_id)
    runner.submit(view["id"], "simulation")
    return JSONResponse(
        view, status_code=202, headers={"Location": f"/v1/simulations/{view['id']}"}
    )


@router.get("/simulations", response_model=SimulationPage)
def list_simulations(
    _principal: Coordinator,
    services: Svc,
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many, newest first")] = 20,
) -> JSONResponse:
    """The newest simulations (state, scenario, progress; results via each one's id)."""
    return JSONResponse(services.simulations.list(limit))


@router.get("/simulations/{simulation_id}", response_model=SimulationJobOut)
def get_simulation(simulation_id: str, _principal: Coordinator, services: Svc) -> JSONResponse:
    """State (queued, running, done, failed), progress, and the results once done."""
    return JSONResponse(services.simulations.get(simulation_id))
