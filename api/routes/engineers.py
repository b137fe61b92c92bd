"""``/v1/engineers``: the field force, their positions and absences."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse

from api.deps import get_services, require
from api.routes import operation_id
from api.schemas import EngineerIn, EngineerOut, EngineerPage, EngineerStatusIn
from api.services import Services
from api.services.keys import Principal

router = APIRouter(prefix="/v1", tags=["engineers"], generate_unique_id_function=operation_id)
Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Svc = Annotated[Services, Depends(get_services)]


@router.put(
    "/engineers/{engineer_id}",
    status_code=200,
    response_model=EngineerOut,
    responses={201: {"description": "created", "model": EngineerOut}},
)
def put_engineer(
    engineer_id: Annotated[str, Path(min_length=1, max_length=200)],
    body: EngineerIn,
    _principal: Coordinator,
    services: Svc,
) -> JSONResponse:
    """Create or replace an engineer (the id in the URL is the engineer's id)."""
    view, created = services.engineers.put(engineer_id, body.document())
    return JSONResponse(
        view,
        status_code=201 if created else 200,
        headers={"Location": f"/v1/engineers/{quote(engineer_id, safe='')}"},
    )


@router.get("/engineers", response_model=EngineerPage)
def list_engineers(
    _principal: Coordinator,
    services: Svc,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> JSONResponse:
    return JSONResponse(services.engineers.list(limit, cursor))


@router.get("/engineers/{engineer_id}", response_model=EngineerOut)
def get_engineer(engineer_id: str, _principal: Coordinator, services: Svc) -> JSONResponse:
    return JSONResponse(services.engineers.get(engineer_id))


@router.delete("/engineers/{engineer_id}", status_code=204)
def delete_engineer(engineer_id: str, _principal: Coordinator, services: Svc) -> Response:
    services.engineers.delete(engineer_id)
    return Response(status_code=204)


@router.post("/engineers/{engineer_id}/status", response_model=EngineerOut)
def set_engineer_status(
    engineer_id: str, body: EngineerStatusIn, _principal: Coordinator, services: Svc
) -> JSONResponse:
    """Report where the engineer is and from when they are free, and/or their absences."""
    return JSONResponse(services.engineers.update_status(engineer_id, body.document()))
