"""What actually happened, for commitment compliance (GET /v1/kpis): the arrival
(``started_at`` renamed ``arrived_at``, one name), the finish, the ETA the plan in force at
the arrival had published, and the site's country and nearest station; orders indexed by
``received_at`` covering what the KPIs read (the window is an index-only scan).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
KPI = (
    "status",
    "deadline",
    "arrived_at",
    "published_eta",
    "commitment_class",
    "priority",
    "engineer_id",
    "country",
    "station",
)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("started_at", new_column_name="arrived_at")
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("published_eta", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("country", sa.String(2), nullable=True))
        batch.add_column(sa.Column("station", sa.String(64), nullable=True))
    # Covering index of the KPI window: received_at, then what the figures read.
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_orders_received_kpi", "orders", ["received_at"], postgresql_include=list(KPI)
        )
    else:
        op.create_index("ix_orders_received_kpi", "orders", ["received_at", *KPI])
    _backfill_places()


def _backfill_places() -> None:
    """Country and nearest station of the orders stored before this revision."""
    from api.services.kpis import site_place

    orders = sa.table(
        "orders",
        sa.column("seq", sa.Integer),
        sa.column("document", sa.JSON),
        sa.column("country", sa.String),
        sa.column("station", sa.String),
    )
    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.execute(
            sa.select(orders.c.seq, orders.c.document)
            .where(orders.c.seq > after)
            .order_by(orders.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for seq, document in rows:
            country, station = site_place(document["site"])
            conn.execute(
                orders.update().where(orders.c.seq == seq).values(country=country, station=station)
            )
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_orders_received_kpi", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        for name in ("station", "country", "published_eta", "finished_at"):
            batch.drop_column(name)
        batch.alter_column("arrived_at", new_column_name="started_at")
