"""``/v1/quotes``: "when could someone be there?" for a ticket not yet stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.deps import get_services, require
from api.routes import operation_id
from api.schemas import OrderIn, QuoteOut
from api.services import Services
from api.services.keys import Principal
from dispatcher.quote import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/v1", tags=["quotes"], generate_unique_id_function=operation_id)
Ticketing = Annotated[Principal, Depends(require("ticketing"))]
Svc = Annotated[Services, Depends(get_services)]

QUOTE_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "invalid order (validated like `POST /v1/orders`), an id already open, "
        "or a bad `limit`; `errors` lists each field path (problem+json)"
    },
}


@router.post("/quotes", response_model=QuoteOut, responses=QUOTE_RESPONSES)
def create_quote(
    body: OrderIn,
    _principal: Ticketing,
    services: Svc,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="most options, at most one per engineer")
    ] = DEFAULT_LIMIT,
) -> JSONResponse:
    """Quote an order not yet stored against the published plan: where the next incremental
    re-plan would put it (the first option) and each other engineer's cheapest place, best
    first; no option and the reason code when nobody can serve it. Nothing is stored."""
    return JSONResponse(services.quotes.quote(body.document(), limit))
