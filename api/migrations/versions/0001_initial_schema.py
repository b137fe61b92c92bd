"""Initial schema: policy, engineers, orders and their status history, plan jobs, plans,
plan visits, API keys, audit events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document", _json(), nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "engineers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("document", _json(), nullable=False),
        sa.Column("absences", _json(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "orders",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(200), nullable=False, unique=True),
        sa.Column("document", _json(), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("commitment_class", sa.String(16), nullable=False),
        _ts("deadline"),
        _ts("received_at"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_deadline", "orders", ["deadline"])
    op.create_table(
        "order_status_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_order_status_history_order_id", "order_status_history", ["order_id"])
    op.create_table(
        "plan_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("options", _json(), nullable=False),
        _ts("planning_start"),
        sa.Column("horizon_hours", sa.Integer(), nullable=False),
        sa.Column("problem", _json(), nullable=False),
        sa.Column("input_hash", sa.String(80), nullable=False),
        sa.Column("progress", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
    )
    op.create_index("ix_plan_jobs_state", "plan_jobs", ["state"])
    op.create_index("ix_plan_jobs_created_at", "plan_jobs", ["created_at"])
    op.create_table(
        "plans",
        sa.Column("job_id", sa.String(40), sa.ForeignKey("plan_jobs.id"), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("document", _json(), nullable=False),
        _ts("created_at"),
        _ts("published_at", nullable=True),
        sa.Column("published_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_plans_published_at", "plans", ["published_at"])
    op.create_table(
        "plan_visits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey("plan_jobs.id"), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("engineer_id", sa.String(200), nullable=True),
        _ts("arrival", nullable=True),
        _ts("start", nullable=True),
        _ts("end", nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("slack_minutes", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
    )
    op.create_index("ix_plan_visits_job_id", "plan_visits", ["job_id"])
    op.create_index("ix_plan_visits_order_id", "plan_visits", ["order_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _ts("at"),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("detail", _json(), nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "api_keys",
        "plan_visits",
        "plans",
        "plan_jobs",
        "order_status_history",
        "orders",
        "engineers",
        "policies",
    ):
        op.drop_table(table)
