"""The scheduler's lease (one active scheduler per database), why each scheduled run ran, and
when an expired backup's data was deleted (a deletion that failed is tried again until then).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The words of policy.schedules.RunReason as of this revision.
RUN_REASONS = ("scheduled", "catch-up", "retry")


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    listed = ", ".join(f"'{word}'" for word in RUN_REASONS)
    with op.batch_alter_table("schedule_runs") as batch:
        # Runs claimed before this revision were all first attempts at their slot's time or
        # retries; "scheduled" is the honest default for the rows already there.
        batch.add_column(
            sa.Column("reason", sa.String(length=32), nullable=False, server_default="scheduled")
        )
        batch.create_check_constraint("reason", f"reason IN ({listed})")
    with op.batch_alter_table("backups") as batch:
        batch.add_column(sa.Column("data_deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        batch.drop_column("data_deleted_at")
    with op.batch_alter_table("schedule_runs") as batch:
        batch.drop_constraint("reason", type_="check")
        batch.drop_column("reason")
    op.drop_table("leases")
