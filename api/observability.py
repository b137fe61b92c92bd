"""Metrics (Prometheus), JSON logs with a request id, and the request middleware.

Each app has its own :class:`prometheus_client.CollectorRegistry`; gauges that describe
stored state (jobs by state, orders by status) are read from the database at scrape time,
at most once per ``STATE_CACHE_SECONDS`` (frequent or hostile scrapes reuse the counts).
With several uvicorn workers each worker answers for itself (no multiprocess mode).
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.persistence.models import OrderRow, PlanJobRow

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
access_log = logging.getLogger("api.access")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SOLVE_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
STATE_CACHE_SECONDS = 5.0


class _StateCollector(Collector):
    """Jobs by state and orders by status, counted in the database when scraped (at most
    once per ``cache_seconds``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        at_risk: Callable[[], int] | None = None,
        cache_seconds: float = STATE_CACHE_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._at_risk = at_risk
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # concurrent scrapes wait for one count
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self._cache_seconds:
                self._cached = (now, list(self._count()))
            metrics = self._cached[1]
        yield from metrics

    def _count(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("dispatch_jobs", "Plan jobs by state", labels=["state"])
        orders = GaugeMetricFamily("dispatch_orders", "Orders by status", labels=["status"])
        at_risk = GaugeMetricFamily(
            "dispatch_orders_at_risk", "Active orders at risk of breaching (docs/api.md)"
        )
        try:
            with self._sessions() as session:
                for state, count in session.execute(
                    sa.select(PlanJobRow.state, sa.func.count()).group_by(PlanJobRow.state)
                ):
                    jobs.add_metric([state], count)
                for status, count in session.execute(
                    sa.select(OrderRow.status, sa.func.count()).group_by(OrderRow.status)
                ):
                    orders.add_metric([status], count)
            if self._at_risk is not None:
                at_risk.add_metric([], self._at_risk())
        except sa.exc.SQLAlchemyError:
            logging.getLogger("api.metrics").warning("database unavailable for metrics")
        yield jobs
        yield orders
        yield at_risk


class Metrics:
    def __init__(
        self, sessions: sessionmaker[Session], at_risk: Callable[[], int] | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "dispatch_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.solve_seconds = Histogram(
            "dispatch_solve_seconds",
            "Wall time of solves (plan jobs and stateless solves)",
            buckets=SOLVE_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(sessions, at_risk))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` (also handed to uvicorn) writing JSON to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"level": level, "handlers": ["stderr"], "propagate": False},
            "uvicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "uvicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


class RequestContextMiddleware:
    """Request id (``X-Request-ID`` in or generated, echoed back), latency metric, access log."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.request_seconds.labels(scope["method"], route, str(status[0])).observe(
                elapsed
            )
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status[0],
                extra={
                    "status": status[0],
                    "route": route,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")[:64]
            if text and all(c.isalnum() or c in "-_." for c in text):
                return text
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
