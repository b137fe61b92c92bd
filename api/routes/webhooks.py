"""``/v1/webhooks``: endpoints of an API key that receive every event, signed, in order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from api.deps import get_services, require
from api.routes import operation_id
from api.schemas import DeliveryPage, WebhookCreated, WebhookIn, WebhookOut, WebhookPage
from api.services import Services
from api.services.keys import Principal

router = APIRouter(prefix="/v1", tags=["webhooks"], generate_unique_id_function=operation_id)
Ticketing = Annotated[Principal, Depends(require("ticketing"))]
Svc = Annotated[Services, Depends(get_services)]
WebhookId = Annotated[str, Path(min_length=1, max_length=40)]


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses={422: {"description": "not an http(s) URL, or a bad secret"}},
)
def create_webhook(body: WebhookIn, principal: Ticketing, services: Svc) -> JSONResponse:
    """Register a URL for the events committed from now on; the secret is in this answer only."""
    view = services.webhooks.create(principal.key_id, body.url, body.secret)
    return JSONResponse(view, status_code=201, headers={"Location": f"/v1/webhooks/{view['id']}"})


@router.get("/webhooks", response_model=WebhookPage)
def list_webhooks(principal: Ticketing, services: Svc) -> JSONResponse:
    """The calling key's webhooks (secrets are never shown again)."""
    return JSONResponse({"items": services.webhooks.list(principal.key_id)})


@router.delete(
    "/webhooks/{webhook_id}",
    response_model=WebhookOut,
    responses={404: {"description": "no such webhook of this key"}},
)
def delete_webhook(webhook_id: WebhookId, principal: Ticketing, services: Svc) -> JSONResponse:
    """Stop delivering to a webhook (its delivery log stays readable)."""
    return JSONResponse(services.webhooks.delete(principal.key_id, webhook_id))


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses={404: {"description": "no such webhook of this key"}},
)
def list_webhook_deliveries(
    webhook_id: WebhookId,
    principal: Ticketing,
    services: Svc,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    """The newest delivery attempts, oldest first: event id, attempt, status code or error."""
    return JSONResponse(services.webhooks.deliveries(principal.key_id, webhook_id, limit))
