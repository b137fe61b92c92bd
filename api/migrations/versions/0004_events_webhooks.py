"""Events for the ticketing system: the ordered event log, its id counter, webhooks and
their delivery log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # One row: the last event id handed out. Ids come from it under its row lock, so they
    # become visible in id order (api/services/events.py explains why not a sequence).
    counter = op.create_table(
        "event_counter",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "last_id": 0}])
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        _ts("at"),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=True),
        sa.Column("data", _json(), nullable=False),
    )
    op.create_index("ix_events_order_id", "events", ["order_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        _ts("created_at"),
        _ts("deleted_at", nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("retry_at", nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        _ts("lease_until", nullable=True),
    )
    op.create_index("ix_webhooks_key_id", "webhooks", ["key_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        _ts("at"),
    )
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_webhook_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhooks_key_id", table_name="webhooks")
    op.drop_table("webhooks")
    op.drop_index("ix_events_order_id", table_name="events")
    op.drop_table("events")
    op.drop_table("event_counter")
