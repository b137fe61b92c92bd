"""Simulation jobs: what-if runs submitted through ``POST /v1/simulations``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "simulation_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request", _json(), nullable=False),
        sa.Column("scenario_name", sa.String(200), nullable=False),
        sa.Column("variants", _json(), nullable=False),
        sa.Column("progress", _json(), nullable=True),
        sa.Column("result", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
    )
    op.create_index("ix_simulation_jobs_state", "simulation_jobs", ["state"])
    op.create_index("ix_simulation_jobs_created_at", "simulation_jobs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_simulation_jobs_created_at", table_name="simulation_jobs")
    op.drop_index("ix_simulation_jobs_state", table_name="simulation_jobs")
    op.drop_table("simulation_jobs")
