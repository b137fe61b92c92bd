"""The present and the plan in force: who is on site, until when; a quote's held slot;
what a plan changes against the published plan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        # An order under way: its engineer, when the visit started, the reported end.
        batch.add_column(sa.Column("engineer_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("expected_end", sa.DateTime(timezone=True), nullable=True))
        # A quoted slot the ticket was created with (POST /v1/orders "quote").
        batch.add_column(sa.Column("hold_engineer_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("hold_start", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("changes", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("changes")
    with op.batch_alter_table("orders") as batch:
        for name in ("hold_start", "hold_engineer_id", "expected_end", "started_at", "engineer_id"):
            batch.drop_column(name)
