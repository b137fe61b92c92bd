"""Administration: the policy, API keys, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.deps import get_services, require
from api.routes import operation_id
from api.schemas import AuditPage, KeyCreated, KeyRequest, KeyRevoked, PolicyIn
from api.services import Services
from api.services.keys import Principal
from dispatcher.errors import NotFound

router = APIRouter(prefix="/v1", tags=["admin"], generate_unique_id_function=operation_id)
Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Svc = Annotated[Services, Depends(get_services)]


@router.get("/policy", response_model=dict[str, Any])
def get_policy(_principal: Coordinator, services: Svc) -> JSONResponse:
    """The active policy: commitments (hours), home country, travel model, weights."""
    return JSONResponse(services.policy.get())


@router.put("/policy", response_model=dict[str, Any])
def put_policy(body: PolicyIn, principal: Admin, services: Svc) -> JSONResponse:
    """Replace the policy; deadlines of open orders are recomputed."""
    document: dict[str, Any] = body.model_dump()
    return JSONResponse(services.orders.replace_policy(document, principal.key_id))


@router.post("/keys", status_code=201, response_model=KeyCreated)
def create_key(body: KeyRequest, principal: Admin, services: Svc) -> JSONResponse:
    """Create an API key; the key is in this response only."""
    key_id, key = services.keys.create(body.role, body.name, actor=principal.key_id)
    return JSONResponse({"id": key_id, "role": body.role, "key": key}, status_code=201)


@router.delete(
    "/keys/{key_id}",
    status_code=200,
    response_model=KeyRevoked,
    responses={404: {"description": "no such active key"}},
)
def revoke_key(key_id: str, principal: Admin, services: Svc) -> JSONResponse:
    if not services.keys.revoke(key_id, actor=principal.key_id):
        raise NotFound(f"no active key {key_id!r}")
    return JSONResponse({"id": key_id, "revoked": True})


@router.get("/audit", response_model=AuditPage)
def list_audit_events(_principal: Admin, services: Svc) -> JSONResponse:
    """The latest 100 audit events (publish, cancel, keys, policy)."""
    return JSONResponse({"items": services.audit.list_recent()})
