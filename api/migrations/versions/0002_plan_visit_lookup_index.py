"""Index plan visits by (job_id, order_id): an order read looks up its place in the
published plan by both; the composite index replaces the one on job_id alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_plan_visits_job_id_order_id", "plan_visits", ["job_id", "order_id"])
    op.drop_index("ix_plan_visits_job_id", table_name="plan_visits")


def downgrade() -> None:
    op.create_index("ix_plan_visits_job_id", "plan_visits", ["job_id"])
    op.drop_index("ix_plan_visits_job_id_order_id", table_name="plan_visits")
