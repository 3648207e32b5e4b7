"""Restores: one row per restore run, with what it achieved, for status and the RTO estimate.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The words of policy.statuses.RestoreStatus as of this revision.
RESTORE_STATUSES = ("Queued", "In Progress", "Completed", "Incomplete", "Failed", "Cancelled")
ACTIVE_RESTORE = "status IN ('In Progress', 'Queued')"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    listed = ", ".join(f"'{word}'" for word in RESTORE_STATUSES)
    op.create_table(
        "restores",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("backup_id", sa.String(length=16), nullable=False),
        sa.Column("target_site_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=True),
        sa.Column("approved_by", sa.String(length=320), nullable=True),
        _timestamp("created_at"),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        _timestamp("heartbeat_at", nullable=True),
        sa.Column("items_restored", sa.Integer(), nullable=True),
        sa.Column("bytes_restored", sa.BigInteger(), nullable=True),
        sa.Column("item_counts", sa.JSON(), nullable=True),
        sa.Column("id_map_path", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restores")),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["backups.id"], name=op.f("fk_restores_backup_id_backups")
        ),
        sa.ForeignKeyConstraint(
            ["target_site_id"], ["sites.id"], name=op.f("fk_restores_target_site_id_sites")
        ),
        sa.CheckConstraint(f"status IN ({listed})", name=op.f("ck_restores_restore_status")),
        sa.CheckConstraint("items_restored >= 0", name=op.f("ck_restores_items_not_negative")),
        sa.CheckConstraint("bytes_restored >= 0", name=op.f("ck_restores_bytes_not_negative")),
    )
    # One restore at a time into a site: two writing into the same projects would collide.
    op.create_index(
        "ix_restores_one_active_per_target",
        "restores",
        ["target_site_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_RESTORE),
        postgresql_where=sa.text(ACTIVE_RESTORE),
    )
    op.create_index(op.f("ix_restores_backup_id"), "restores", ["backup_id"])


def downgrade() -> None:
    op.drop_table("restores")
