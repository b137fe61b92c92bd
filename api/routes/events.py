"""``/v1/events``: the ordered feed of order changes for the ticketing system (long-poll)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import get_services, require
from api.routes import operation_id
from api.schemas import EventPage
from api.services import Services
from api.services.keys import Principal

router = APIRouter(prefix="/v1", tags=["events"], generate_unique_id_function=operation_id)
Ticketing = Annotated[Principal, Depends(require("ticketing"))]
Svc = Annotated[Services, Depends(get_services)]

MAX_WAIT_S = 30.0
POLL_S = 0.25  # how often a waiting request looks for new events


@router.get("/events", response_model=EventPage)
async def list_events(
    _principal: Ticketing,
    services: Svc,
    after: Annotated[
        str | None,
        Query(max_length=64, description="the `next` of the previous answer; none: from the start"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_S, description="seconds to wait for an event when none is newer"),
    ] = 0.0,
) -> JSONResponse:
    """Events after the cursor ``after``, oldest first, and the cursor to continue from.

    With ``wait``, an answer that would be empty waits up to that many seconds (≤ 30) and
    returns as soon as an event is committed.
    """
    feed = services.events
    start = await run_in_threadpool(feed.check_cursor, after)
    deadline = time.monotonic() + wait
    while True:
        page = await run_in_threadpool(feed.page, start, limit)
        remaining = deadline - time.monotonic()
        if page["events"] or remaining <= 0:
            return JSONResponse(page)
        await asyncio.sleep(min(POLL_S, remaining))
