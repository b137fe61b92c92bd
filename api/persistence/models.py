"""ORM rows. Alembic (``api/migrations``) is the only way this schema changes.

Contract documents (an order or engineer as the client sent it, a plan as the solver
returned it) are stored whole in JSON columns; the columns beside them are the ones the
service filters, sorts or joins on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend (SQLite drops offsets)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JsonDoc, list[Any]: JsonDoc}


class PolicyRow(Base):
    """The active policy document (a single row, id 1)."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class EngineerRow(Base):
    __tablename__ = "engineers"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    document: Mapped[dict[str, Any]]
    absences: Mapped[list[Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# What GET /v1/kpis reads of an order, after the window's received_at (api.services.kpis).
KPI_COLUMNS = ("status", "deadline", "arrived_at", "published_eta", "commitment_class",
               "priority", "engineer_id", "country", "station")  # fmt: skip


class OrderRow(Base):
    __tablename__ = "orders"
    # Covering: the KPI figures of a window are an index-only scan on PostgreSQL (INCLUDE);
    # migration 0006 makes the columns index keys on SQLite, which covers alike.
    __table_args__ = (
        sa.Index("ix_orders_received_kpi", "received_at", postgresql_include=list(KPI_COLUMNS)),
    )

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    document: Mapped[dict[str, Any]]
    body_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    priority: Mapped[str] = mapped_column(sa.String(16))
    commitment_class: Mapped[str] = mapped_column(sa.String(16))
    deadline: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Under way (status in_progress): who is on site, since when, the reported end.
    engineer_id: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)
    expected_end: Mapped[datetime | None] = mapped_column(default=None)
    # What actually happened (migration 0006): the visit's end, and the ETA the plan in force
    # when the engineer arrived had given (its plan_visits row), for the KPIs.
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    published_eta: Mapped[datetime | None] = mapped_column(default=None)
    # Where the site is, for KPI groups: its country and the nearest service station.
    country: Mapped[str | None] = mapped_column(sa.String(2), default=None)
    station: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    # A quoted slot held for the ticket until the next published plan.
    hold_engineer_id: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    hold_start: Mapped[datetime | None] = mapped_column(default=None)


class OrderStatusRow(Base):
    """One status change of an order (the status history)."""

    __tablename__ = "order_status_history"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)


class PlanJobRow(Base):
    """A solve job: its lifecycle (queued → running → done/failed/cancelled) and its input."""

    __tablename__ = "plan_jobs"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    options: Mapped[dict[str, Any]]
    planning_start: Mapped[datetime]
    horizon_hours: Mapped[int]
    problem: Mapped[dict[str, Any]]
    input_hash: Mapped[str] = mapped_column(sa.String(80))
    progress: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The ``dispatch worker`` running it and the lease it renews (migration 0007).
    worker_id: Mapped[str | None] = mapped_column(sa.String(80))
    heartbeat_at: Mapped[datetime | None]


class PlanRow(Base):
    """The result of a finished job; ``published_at`` set once a coordinator publishes it."""

    __tablename__ = "plans"

    job_id: Mapped[str] = mapped_column(sa.ForeignKey("plan_jobs.id"), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(32))
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    published_by: Mapped[str | None] = mapped_column(sa.String(64))
    # What the plan changes against the plan published when its job was made (dispatcher.diff).
    changes: Mapped[list[Any] | None] = mapped_column(JsonDoc, default=None)


class PlanVisitRow(Base):
    """Where each order of a plan stands: a visit (engineer, ETA) or unassigned (reason)."""

    __tablename__ = "plan_visits"
    # An order's place in one plan (the published-plan lookup of every order read) and all
    # of a plan's rows (publishing) both use this index.
    __table_args__ = (sa.Index("ix_plan_visits_job_id_order_id", "job_id", "order_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("plan_jobs.id"))
    order_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    engineer_id: Mapped[str | None] = mapped_column(sa.String(200))
    arrival: Mapped[datetime | None]
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]
    on_time: Mapped[bool]
    slack_minutes: Mapped[float | None] = mapped_column(sa.Float)
    reason: Mapped[str | None] = mapped_column(sa.String(64))


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AuditEventRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[str] = mapped_column(sa.String(200))
    detail: Mapped[dict[str, Any]]


class SimulationJobRow(Base):
    """A what-if simulation job: its request, lifecycle, progress and ``results.json``."""

    __tablename__ = "simulation_jobs"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    request: Mapped[dict[str, Any]]
    scenario_name: Mapped[str] = mapped_column(sa.String(200))
    variants: Mapped[list[Any]]
    progress: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The ``dispatch worker`` running it and the lease it renews (migration 0007).
    worker_id: Mapped[str | None] = mapped_column(sa.String(80))
    heartbeat_at: Mapped[datetime | None]


# --------------------------------------------------------- events and webhooks (migration 0004)


class EventCounterRow(Base):
    """The last event id handed out (a single row, id 1); see :mod:`api.services.events`."""

    __tablename__ = "event_counter"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(sa.BigInteger)


class EventRow(Base):
    """One change of an order for the ticketing system, in the order they were committed."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(sa.String(40))
    order_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    data: Mapped[dict[str, Any]]


class WebhookRow(Base):
    """An endpoint of an API key receiving every event after ``cursor``, in order."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    url: Mapped[str] = mapped_column(sa.Text)
    secret: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    cursor: Mapped[int] = mapped_column(sa.BigInteger)  # the last event id done with
    attempts: Mapped[int]  # failed attempts at the event after ``cursor``
    retry_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[datetime | None]


class WebhookDeliveryRow(Base):
    """One attempt to deliver an event to a webhook: delivered, retry or failed."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    event_id: Mapped[int] = mapped_column(sa.BigInteger)
    attempt: Mapped[int]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime]
