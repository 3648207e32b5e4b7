"""The initial schema: sites, storage locations, schedules, backups, runs, restores, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Status columns hold the words of policy.statuses verbatim, frozen here as of this revision:
# a later change of words is a later migration.
BACKUP_STATUSES = (
    "Queued",
    "In Progress",
    "Completed",
    "Incomplete",
    "Failed",
    "Expired",
    "Cancelled",
)
ACTIVE_BACKUP = "status IN ('In Progress', 'Queued')"
RESTORE_REQUEST_STATUSES = ("Pending", "Approved", "Rejected", "Withdrawn", "Expired")
WORD = sa.String(length=32)
EMAIL = sa.String(length=320)
SLACK_ID = sa.String(length=32)
ID = sa.String(length=16)
NAME = sa.String(length=64)


def _one_of(column: str, words: Sequence[str], name: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{word}'" for word in words)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(name))


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("product", WORD, nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_sites_name")),
        _one_of("product", ("jira", "confluence"), "ck_sites_product"),
    )
    op.create_table(
        "storage_locations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("kind", WORD, nullable=False),
        sa.Column("owner", WORD, nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_locations")),
        sa.UniqueConstraint("name", name=op.f("uq_storage_locations_name")),
        _one_of("kind", ("local", "s3"), "ck_storage_locations_storage_kind"),
        _one_of("owner", ("managed", "organization"), "ck_storage_locations_storage_owner"),
        sa.CheckConstraint(
            "owner <> 'organization' OR kind = 's3'",
            name=op.f("ck_storage_locations_organization_is_s3"),
        ),
    )
    op.create_table(
        "schedules",
        sa.Column("id", ID, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("frequency", WORD, nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("weekday", sa.SmallInteger(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("storage_location_id", sa.Integer(), nullable=False),
        sa.Column("created_by", EMAIL, nullable=False),
        _timestamp("created_at"),
        _timestamp("removed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_schedules_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["storage_location_id"],
            ["storage_locations.id"],
            name=op.f("fk_schedules_storage_location_id_storage_locations"),
        ),
        _one_of("frequency", ("once", "daily", "weekly"), "ck_schedules_frequency"),
        sa.CheckConstraint(
            "(frequency = 'once') = (on_date IS NOT NULL)",
            name=op.f("ck_schedules_on_date_only_when_once"),
        ),
        sa.CheckConstraint(
            "(frequency = 'weekly') = (weekday IS NOT NULL)",
            name=op.f("ck_schedules_weekday_only_when_weekly"),
        ),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_schedules_weekday_monday_to_sunday")
        ),
    )
    op.create_index(op.f("ix_schedules_site_id"), "schedules", ["site_id"])
    op.create_table(
        "backups",
        sa.Column("id", ID, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("storage_location_id", sa.Integer(), nullable=False),
        sa.Column("status", WORD, nullable=False),
        _timestamp("created_at"),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        _timestamp("expires_at"),
        sa.Column("data_bytes", sa.BigInteger(), nullable=True),
        sa.Column("attachment_bytes", sa.BigInteger(), nullable=True),
        sa.Column("item_counts", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", EMAIL, nullable=True),
        sa.Column("schedule_id", ID, nullable=True),
        sa.Column("slot", sa.String(length=10), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backups")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_backups_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["storage_location_id"],
            ["storage_locations.id"],
            name=op.f("fk_backups_storage_location_id_storage_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_backups_schedule_id_schedules")
        ),
        _one_of("status", BACKUP_STATUSES, "ck_backups_backup_status"),
        sa.CheckConstraint("data_bytes >= 0", name=op.f("ck_backups_data_bytes_not_negative")),
        sa.CheckConstraint(
            "attachment_bytes >= 0", name=op.f("ck_backups_attachment_bytes_not_negative")
        ),
        sa.CheckConstraint(
            "(schedule_id IS NULL AND slot IS NULL AND attempt IS NULL)"
            " OR (schedule_id IS NOT NULL AND slot IS NOT NULL AND attempt >= 1)",
            name=op.f("ck_backups_scheduled_run_is_complete"),
        ),
    )
    # At most one Queued or In Progress backup per site, across processes (docs/data-model.md).
    op.create_index(
        "ix_backups_one_active_per_site",
        "backups",
        ["site_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_BACKUP),
        postgresql_where=sa.text(ACTIVE_BACKUP),
    )
    op.create_index(op.f("ix_backups_site_id_created_at"), "backups", ["site_id", "created_at"])
    op.create_index(op.f("ix_backups_status_expires_at"), "backups", ["status", "expires_at"])
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule_id", ID, nullable=False),
        sa.Column("slot", sa.String(length=10), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("backup_id", ID, nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_runs")),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_schedule_runs_schedule_id_schedules")
        ),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["backups.id"], name=op.f("fk_schedule_runs_backup_id_backups")
        ),
        sa.UniqueConstraint(
            "schedule_id",
            "slot",
            "attempt",
            name=op.f("uq_schedule_runs_schedule_id_slot_attempt"),
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_schedule_runs_attempt_from_one")),
    )
    op.create_index(op.f("ix_schedule_runs_backup_id"), "schedule_runs", ["backup_id"])
    op.create_table(
        "restore_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("backup_id", ID, nullable=False),
        sa.Column("target_site_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.Column("status", WORD, nullable=False),
        sa.Column("requested_by", EMAIL, nullable=False),
        sa.Column("requested_by_slack", SLACK_ID, nullable=False),
        sa.Column("approver", EMAIL, nullable=True),
        _timestamp("decided_at", nullable=True),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        sa.Column("slack_channel", SLACK_ID, nullable=True),
        sa.Column("slack_ts", SLACK_ID, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restore_requests")),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["backups.id"], name=op.f("fk_restore_requests_backup_id_backups")
        ),
        sa.ForeignKeyConstraint(
            ["target_site_id"], ["sites.id"], name=op.f("fk_restore_requests_target_site_id_sites")
        ),
        _one_of("status", RESTORE_REQUEST_STATUSES, "ck_restore_requests_restore_request_status"),
        sa.CheckConstraint(
            "approver IS NULL OR lower(approver) <> lower(requested_by)",
            name=op.f("ck_restore_requests_approver_is_not_requester"),
        ),
    )
    op.create_index(op.f("ix_restore_requests_backup_id"), "restore_requests", ["backup_id"])
    op.create_index(
        op.f("ix_restore_requests_status_expires_at"), "restore_requests", ["status", "expires_at"]
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _timestamp("at"),
        sa.Column("actor", EMAIL, nullable=False),
        sa.Column("slack_user", SLACK_ID, nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    _create_audit_log_guard()


def downgrade() -> None:
    _drop_audit_log_guard()
    op.drop_table("audit_log")
    op.drop_table("restore_requests")
    op.drop_table("schedule_runs")
    op.drop_table("backups")
    op.drop_table("schedules")
    op.drop_table("storage_locations")
    op.drop_table("sites")


# The audit log is append-only (docs/data-model.md), and the database itself says so, so that no
# code path, script or hand-typed SQL can rewrite history. On SQLite, a later batch migration
# that copies audit_log must create these triggers again: a rebuilt table has none.
GUARD_MESSAGE = "audit_log is append-only"


def _create_audit_log_guard() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        # restrict_violation is an integrity error class, as SQLite's RAISE(ABORT) is, so both
        # databases report a refused change the same way (sqlalchemy.exc.IntegrityError).
        op.execute(
            "CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN RAISE EXCEPTION '{GUARD_MESSAGE}' USING ERRCODE = 'restrict_violation'; END;\n"
            "$$"
        )
        for event, level in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"FOR EACH {level} EXECUTE FUNCTION audit_log_refuse_change()"
            )
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{GUARD_MESSAGE}'); END"
            )
    else:
        raise RuntimeError(f"no append-only guard for the audit log on {dialect}")


def _drop_audit_log_guard() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        for event in ("update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER audit_log_no_{event} ON audit_log")
        op.execute("DROP FUNCTION audit_log_refuse_change()")
    elif dialect == "sqlite":
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER audit_log_no_{event}")
