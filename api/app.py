"""The application factory. Nothing here runs at import: no module-level app or settings."""

from __future__ import annotations

import logging
import logging.config
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.board import mount_assets
from api.jobs.runner import JobRunner
from api.jobs.store import recover_interrupted
from api.middleware import BodyGuardMiddleware
from api.observability import Metrics, RequestContextMiddleware, logging_config
from api.openapi import install_openapi
from api.persistence import migrate
from api.persistence.db import (
    create_db_engine,
    create_read_session_factory,
    create_session_factory,
)
from api.problems import install_problem_handlers
from api.routes import (
    admin,
    board,
    contract,
    engineers,
    events,
    kpis,
    ops,
    orders,
    plans,
    quotes,
    simulations,
    webhooks,
    whoami,
)
from api.services import Clock, build_services, utc_now
from api.services.kpis import KpiService, region_table_from_env
from api.services.webhooks import DeliveryWorker
from api.settings import Settings

log = logging.getLogger("api")

DESCRIPTION = """
Dispatch optimizer API: orders from the ticketing system, engineers, plan jobs,
publishing, ETAs, and what-if simulations. Shapes follow the JSON contract (`docs/contract.md`
in the repository; JSON Schemas at `GET /v1/schemas/{problem,plan,order}`): timestamps are
RFC 3339 with an offset, durations minutes, distances km.

Authenticate with `Authorization: Bearer <API key>` (the schemas need none); roles are
`ticketing` (orders), `coordinator` (also engineers, plans and simulations) and `admin`
(also policy and keys).
Every error is `application/problem+json` (RFC 9457) with a stable `type`;
invalid input lists each bad field in `errors: [{path, message}]`.
"""

# Every tag the routers use, in the order the docs list them.
TAGS: list[dict[str, str]] = [
    {
        "name": "orders",
        "description": "Intake from the ticketing system: create orders (idempotent by ticket "
        "id, one by one or in batches), follow their status, deadline and ETA in the "
        "published plan, correct or cancel them. Any key (role `ticketing` or higher).",
    },
    {
        "name": "quotes",
        "description": "ETA quotes for a ticket not yet stored: where the next incremental "
        "re-plan would put it against the published plan (engineer, arrival, service start, "
        "on time, the visits it would make late), and each other engineer's cheapest place. "
        "Nothing is stored. Any key (role `ticketing` or higher).",
    },
    {
        "name": "engineers",
        "description": "The field force: create or replace engineers, report where they are "
        "and from when they are free, record absences. Role `coordinator` or higher.",
    },
    {
        "name": "plans",
        "description": "Plan jobs over the stored orders and engineers (queued, running, done, "
        "failed, cancelled), publishing a finished plan, and stateless solves of a whole "
        "Problem document. Role `coordinator` or higher.",
    },
    {
        "name": "simulations",
        "description": "What-if simulations of a scenario (docs/simulation.md) as jobs: submit, "
        "follow the replications, read the results. Role `coordinator` or higher.",
    },
    {
        "name": "kpis",
        "description": "Commitment compliance from what actually happened: on-time arrival with "
        "its interval, lateness, overdue and cancelled orders, ETA error, per commitment, "
        "region, priority, engineer, station or week; the orders as the ticket-history CSV a "
        "what-if replays. Role `coordinator` or higher.",
    },
    {
        "name": "events",
        "description": "The ordered feed of order changes (created, status changed, assigned, "
        "reassigned, retimed, unassigned) for the ticketing system: read after a cursor, "
        "long-poll with `wait`. Any key (role `ticketing` or higher).",
    },
    {
        "name": "webhooks",
        "description": "Endpoints of an API key that receive every event as a signed JSON POST, "
        "in order, with retries and a delivery log. Any key (role `ticketing` or higher).",
    },
    {
        "name": "admin",
        "description": "The policy (commitments, travel model, weights), API keys and the "
        "audit log. Role `admin` (the policy is readable by `coordinator`).",
    },
    {
        "name": "ops",
        "description": "Liveness, readiness and Prometheus metrics for the platform; no API key.",
    },
    {
        "name": "errors",
        "description": "What each problem `type` of an `application/problem+json` error means; "
        "no API key.",
    },
    {
        "name": "contract",
        "description": "The JSON Schemas of the contract's documents (problem, plan, order); "
        "no API key.",
    },
]


def create_app(settings: Settings, clock: Clock = utc_now) -> FastAPI:
    """Build the API for ``settings``; the database is migrated when the app starts."""
    engine = create_db_engine(settings.database_url)
    sessions = create_session_factory(engine)
    services = build_services(settings, sessions, clock)
    metrics = Metrics(sessions, services.orders.count_at_risk)
    runner = JobRunner(settings, services.plans, metrics, services.simulations)
    deliveries = DeliveryWorker(sessions, clock, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_startup:
            await run_in_threadpool(migrate.upgrade, engine)
        # The queue executor's jobs belong to workers; their sweep settles a lost one's.
        if settings.recover_jobs_on_startup and settings.job_executor != "queue":
            await run_in_threadpool(recover_interrupted, services)
        await runner.start()
        deliveries.start()
        log.info("dispatch API ready", extra={"database": engine.url.render_as_string()})
        try:
            yield
        finally:
            await run_in_threadpool(deliveries.stop)
            await runner.stop()
            engine.dispose()

    app = FastAPI(
        title="Field dispatch API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: api.routes.board, from local assets
        redoc_url=None,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.services = services
    app.state.metrics = metrics
    app.state.runner = runner
    app.state.kpis = KpiService(
        create_read_session_factory(sessions), clock, region_table_from_env()
    )
    install_problem_handlers(app)
    install_openapi(app)
    for module in (
        orders, quotes, engineers, plans, simulations, kpis, events, webhooks, admin, ops,
        contract, whoami, board,
    ):  # fmt: skip
        app.include_router(module.router)
    mount_assets(app)
    # Outermost last: the request context wraps everything, including body guards.
    app.add_middleware(BodyGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes: settings from ``DISPATCH_*``."""
    settings = Settings.from_env()
    logging.config.dictConfig(logging_config(settings.log_level))
    return create_app(settings)
