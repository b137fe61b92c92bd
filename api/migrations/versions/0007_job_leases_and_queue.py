"""Job leases and the procrastinate queue (``DISPATCH_JOB_EXECUTOR=queue``).

Each plan and simulation job row gets the worker that runs it (``worker_id``) and the
lease that worker renews (``heartbeat_at``, the database's clock); a sweep in every
``dispatch worker`` fails a running job whose lease ran out (:mod:`api.jobs.queue`).

On PostgreSQL this revision also installs procrastinate's own schema (its tables, types
and functions, as the installed procrastinate ships them, ``procrastinate schema --apply``
would do the same) unless it is there already. SQLite has no queue: nothing to install.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("plan_jobs", "simulation_jobs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("worker_id", sa.String(80), nullable=True))
            batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and not sa.inspect(bind).has_table("procrastinate_jobs"):
        from procrastinate.schema import SchemaManager

        # The driver's own execute: no parameters, so the '%' in the functions stay as they are.
        bind.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    # procrastinate's schema stays: it may hold another application's queue too.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("heartbeat_at")
            batch.drop_column("worker_id")
