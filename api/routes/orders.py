"""``/v1/orders``: intake from the ticketing system, status, corrections, listing."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.deps import get_services, require
from api.problems import dispatch_error_body
from api.routes import operation_id
from api.schemas import (
    BatchOut,
    OrderBatchIn,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    validate_item,
)
from api.services import Services
from api.services.keys import Principal
from api.services.orders import STATUSES, OrderFilter
from dispatcher.domain import COMMITMENT_CLASSES, PRIORITIES
from dispatcher.errors import DispatchError

router = APIRouter(prefix="/v1", tags=["orders"], generate_unique_id_function=operation_id)
Ticketing = Annotated[Principal, Depends(require("ticketing"))]
Svc = Annotated[Services, Depends(get_services)]

ORDER_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "the ticket id exists with a different body (problem+json)"},
    422: {"description": "invalid order; `errors` lists each field path (problem+json)"},
}


def csv_pattern(values: tuple[str, ...]) -> str:
    """A comma-separated list of ``values`` (spaces around items and empty items allowed):
    what :func:`_split` reads, as the OpenAPI schema of a filter's value states it."""
    one = f" *({'|'.join(values)})? *"
    return f"^{one}(,{one})*$"


def _filter_query(values: tuple[str, ...], what: str) -> Any:
    # The pattern goes on the items in the schema only: the service checks each value with
    # its own message at ``query.<name>`` (api.services.orders.OrderFilter), the same rule.
    return Query(
        description=f"{what}: {', '.join(values)}; repeat or comma-separate",
        json_schema_extra={"items": {"type": "string", "pattern": csv_pattern(values)}},
    )


StatusFilter = Annotated[list[str] | None, _filter_query(STATUSES, "order status")]
PriorityFilter = Annotated[list[str] | None, _filter_query(PRIORITIES, "priority")]
CommitmentFilter = Annotated[
    list[str] | None, _filter_query(COMMITMENT_CLASSES, "commitment class")
]


def _location(order_id: str) -> str:
    return f"/v1/orders/{quote(order_id, safe='')}"


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {"description": "the same order was already stored", "model": OrderOut},
        **ORDER_RESPONSES,
    },
)
def create_order(body: OrderIn, principal: Ticketing, services: Svc) -> JSONResponse:
    """Create an order; idempotent by ticket id (same body again → 200 with the stored one)."""
    view, created = services.orders.create(body.document(), principal.key_id)
    return JSONResponse(
        view, status_code=201 if created else 200, headers={"Location": _location(view["id"])}
    )


@router.post("/orders:batch", response_model=BatchOut)
def create_orders(body: OrderBatchIn, principal: Ticketing, services: Svc) -> JSONResponse:
    """Create many orders; each gets its own result (``status`` 201, 200, 409 or 422)."""
    results = []
    for index, item in enumerate(body.orders):
        results.append(_batch_item(services, index, item, principal.key_id))
    return JSONResponse({"results": results})


def _batch_item(services: Services, index: int, item: Any, actor: str) -> dict[str, Any]:
    raw_id = item.get("id") if isinstance(item, dict) else None
    order_id = raw_id if isinstance(raw_id, str) else None  # echo ids of the right type only
    try:
        view, created = services.orders.create(validate_item(OrderIn, item), actor)
    except DispatchError as exc:
        problem = dispatch_error_body(exc)
        return {"index": index, "id": order_id, "status": exc.http_status, "problem": problem}
    return {"index": index, "id": view["id"], "status": 201 if created else 200, "order": view}


@router.get("/orders", response_model=OrderPage)
def list_orders(
    _principal: Ticketing,
    services: Svc,
    status: StatusFilter = None,
    priority: PriorityFilter = None,
    commitment: CommitmentFilter = None,
    at_risk: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> JSONResponse:
    """Orders in intake order, filtered; follow ``next_cursor`` for the next page."""
    filt = OrderFilter(
        status=_split(status),
        priority=_split(priority),
        commitment=_split(commitment),
        at_risk=at_risk,
    )
    return JSONResponse(services.orders.list(filt, limit, cursor))


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip(" ") for raw in values or [] for v in raw.split(",") if v.strip(" "))


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    responses={404: {"description": "no such order"}},
)
def get_order(order_id: str, _principal: Ticketing, services: Svc) -> JSONResponse:
    """One order with its deadline, assignment/ETA in the published plan, and history."""
    return JSONResponse(services.orders.get(order_id))


@router.patch("/orders/{order_id}", response_model=OrderOut, responses=ORDER_RESPONSES)
def patch_order(
    order_id: str, body: OrderPatch, principal: Ticketing, services: Svc
) -> JSONResponse:
    """Cancel, mark in progress or done, and/or correct fields (merge-patch)."""
    return JSONResponse(services.orders.patch(order_id, body.document(), principal.key_id))
