"""``/v1/kpis``: commitment compliance from recorded arrivals; ``/v1/orders:export``: the
orders as the ticket-history CSV ``dispatch simulate`` replays (docs/simulation.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from api.deps import require
from api.routes import operation_id
from api.schemas import KpiReport
from api.services.keys import Principal
from api.services.kpis import GROUPS, KpiService
from dispatcher.schema import DATETIME_PATTERN

router = APIRouter(prefix="/v1", generate_unique_id_function=operation_id)
Coordinator = Annotated[Principal, Depends(require("coordinator"))]

WINDOW_NOTE = (
    "RFC 3339 datetime or a date (midnight UTC); orders whose received_at lies in [from, to)"
)
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "a bad from, to or group_by, named in `errors` (problem+json)"}
}


async def get_kpis(request: Request) -> KpiService:
    return request.app.state.kpis


Kpis = Annotated[KpiService, Depends(get_kpis)]
# Nothing, a date (a year from 0001), or the codec's RFC 3339 datetime (offset required):
# what api.services.kpis reads.
_YEAR = "([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_DATE = "(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
INSTANT_PATTERN = f"^$|^{_YEAR}-{_DATE}$|{DATETIME_PATTERN}"
From = Annotated[
    str | None,
    Query(
        alias="from",
        description=WINDOW_NOTE + "; default: 30 days before to",
        json_schema_extra={"pattern": INSTANT_PATTERN},
    ),
]
To = Annotated[
    str | None,
    Query(
        description=WINDOW_NOTE + "; default: now", json_schema_extra={"pattern": INSTANT_PATTERN}
    ),
]
GroupBy = Annotated[
    str | None,
    Query(
        description=f"one of {', '.join(GROUPS)}; none: the total only",
        json_schema_extra={"enum": [*GROUPS, ""]},
    ),
]


@router.get("/kpis", tags=["kpis"], response_model=KpiReport, responses=INVALID)
def get_kpi_report(
    _principal: Coordinator,
    kpis: Kpis,
    start: From = None,
    to: To = None,
    group_by: GroupBy = None,
) -> JSONResponse:
    """On-time arrival (Wilson interval), lateness, overdue, cancelled, receipt-to-arrival
    time and ETA error of the orders received in the window, in total and per group."""
    return JSONResponse(kpis.report(start, to, group_by))


@router.get(
    "/orders:export",
    tags=["kpis"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": 'ticket-history CSV (docs/simulation.md, `history = "file.csv"`)',
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **INVALID,
    },
)
def export_orders(
    _principal: Coordinator, kpis: Kpis, start: From = None, to: To = None
) -> StreamingResponse:
    """The orders received in the window as the CSV ``dispatch simulate`` replays (header
    row; ``actual_service_minutes`` from the recorded arrival and finish)."""
    return StreamingResponse(
        kpis.export(start, to),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="orders-history.csv"'},
    )
