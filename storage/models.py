"""The database tables, as typed SQLAlchemy models: the source of truth (docs/data-model.md).

The schema is created and changed only by the Alembic migrations (`storage.database.upgrade`),
never by `metadata.create_all`: the audit log's append-only triggers live in the migrations.
"""

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from policy.frequency import Frequency
from policy.products import Product
from policy.retention import StorageOwner, require_aware
from policy.schedules import RunReason
from policy.statuses import (
    ACTIVE_BACKUP_STATUSES,
    BackupStatus,
    RestoreRequestStatus,
    RestoreStatus,
)

# Every constraint and index gets a predictable name, which Alembic needs to alter or drop it,
# and which SQLite's batch mode (copy the table, swap it in) needs to find it again.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EMAIL_LENGTH = 320  # RFC 5321's longest address
SLACK_ID_LENGTH = 32
ID_LENGTH = 16  # `bk-` and 6-10 characters, with room
NAME_LENGTH = 64  # site and storage location names from the config
STATUS_LENGTH = 32
SYSTEM_ACTOR = "system"  # the audit actor for what the bot does on its own (expiry, schedules)

JSONObject = dict[str, Any]


class StorageKind(StrEnum):
    """Where a storage location keeps its artifacts."""

    LOCAL = "local"
    S3 = "s3"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC instant in Python, on every database.

    A naive datetime is refused on write (it would be guessed at, and expiry depends on it).
    SQLite stores the UTC wall clock without an offset, so values compare and sort as instants;
    whatever the database returns is handed back as an aware datetime in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant = require_aware(value, "a stored timestamp")
        if dialect.name == "sqlite":
            return instant.replace(tzinfo=None)
        return instant

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def word_enum(enum: type[StrEnum], name: str) -> SqlEnum:
    """A column type storing the enum's exact words (`In Progress`) as VARCHAR with a CHECK.

    Not a native PostgreSQL enum, so both databases hold the same text and adding a word is a
    CHECK change rather than an `ALTER TYPE`.
    """
    return SqlEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=STATUS_LENGTH,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    """The models' common base; its metadata names constraints by NAMING_CONVENTION."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Site(Base):
    """A Jira or Confluence Cloud site named in the config, so backups can point at it."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    product: Mapped[Product] = mapped_column(word_enum(Product, "product"))
    url: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StorageLocation(Base):
    """A storage location named in the config; its owner decides the retention of its backups."""

    __tablename__ = "storage_locations"
    __table_args__ = (
        # The organization's own storage is always its S3 bucket (docs/rules.md).
        CheckConstraint("owner <> 'organization' OR kind = 's3'", name="organization_is_s3"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    kind: Mapped[StorageKind] = mapped_column(word_enum(StorageKind, "storage_kind"))
    owner: Mapped[StorageOwner] = mapped_column(word_enum(StorageOwner, "storage_owner"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Schedule(Base):
    """A recurring or one-off backup an admin asked for; removing one keeps its row."""

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint(
            "(frequency = 'once') = (on_date IS NOT NULL)", name="on_date_only_when_once"
        ),
        CheckConstraint(
            "(frequency = 'weekly') = (weekday IS NOT NULL)", name="weekday_only_when_weekly"
        ),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_monday_to_sunday"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    frequency: Mapped[Frequency] = mapped_column(word_enum(Frequency, "frequency"))
    at_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", local to `timezone`
    on_date: Mapped[date | None] = mapped_column()  # the day of a once schedule
    weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 0 Monday .. 6 Sunday
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name, such as Europe/Berlin
    storage_location_id: Mapped[int] = mapped_column(ForeignKey("storage_locations.id"))
    created_by: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    storage_location: Mapped[StorageLocation] = relationship()


class Backup(Base):
    """One backup of one site into one storage location, from queued to expired.

    `expires_at` is known from the start: policy computes it from `created_at` and the storage
    location's owner. Sizes and item counts stay NULL until the backup has measured them.
    """

    __tablename__ = "backups"
    __table_args__ = (
        CheckConstraint("data_bytes >= 0", name="data_bytes_not_negative"),
        CheckConstraint("attachment_bytes >= 0", name="attachment_bytes_not_negative"),
        # A scheduled run names its schedule, slot and attempt together; a manual one none.
        CheckConstraint(
            "(schedule_id IS NULL AND slot IS NULL AND attempt IS NULL)"
            " OR (schedule_id IS NOT NULL AND slot IS NOT NULL AND attempt >= 1)",
            name="scheduled_run_is_complete",
        ),
        Index(None, "site_id", "created_at"),
        Index(None, "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    storage_location_id: Mapped[int] = mapped_column(ForeignKey("storage_locations.id"))
    status: Mapped[BackupStatus] = mapped_column(word_enum(BackupStatus, "backup_status"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Refreshed while the process that queued or runs the backup lives; a stale one means
    # that process died and the row can be marked interrupted (storage.catalog).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an expired backup's data was deleted from its storage; None while it is still there.
    data_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data_bytes: Mapped[int | None] = mapped_column(BigInteger)
    attachment_bytes: Mapped[int | None] = mapped_column(BigInteger)
    item_counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))  # None: scheduled
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("schedules.id"))
    slot: Mapped[str | None] = mapped_column(String(10))
    attempt: Mapped[int | None] = mapped_column(Integer)

    site: Mapped[Site] = relationship()
    storage_location: Mapped[StorageLocation] = relationship()
    schedule: Mapped[Schedule | None] = relationship()

    @property
    def duration(self) -> timedelta | None:
        """How long the backup ran, once it has finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


_ACTIVE = sorted(status.value for status in ACTIVE_BACKUP_STATUSES)

# At most one backup per site is Queued or In Progress, enforced across processes
# (docs/data-model.md): a partial unique index, which both databases support with the same
# predicate.
Index(
    "ix_backups_one_active_per_site",
    Backup.site_id,
    unique=True,
    sqlite_where=Backup.status.in_(_ACTIVE),
    postgresql_where=Backup.status.in_(_ACTIVE),
)


class ScheduleRun(Base):
    """The fence of a scheduled run (docs/data-model.md): one row per schedule, slot and attempt,
    ever.

    A slot is the run's local date (`YYYY-MM-DD`) in the schedule's time zone, so the hour
    repeated when clocks go back cannot start a second run; retries are attempts 2 and 3.
    """

    __tablename__ = "schedule_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "slot", "attempt"),
        CheckConstraint("attempt >= 1", name="attempt_from_one"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id"))
    slot: Mapped[str] = mapped_column(String(10))
    attempt: Mapped[int] = mapped_column(Integer)
    backup_id: Mapped[str | None] = mapped_column(ForeignKey("backups.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[RunReason] = mapped_column(
        word_enum(RunReason, "reason"), server_default=RunReason.SCHEDULED.value
    )

    schedule: Mapped[Schedule] = relationship()
    backup: Mapped[Backup | None] = relationship()


class Lease(Base):
    """A named lease one process holds until `expires_at` unless it renews it: the scheduler's
    (`jobs.leadership`) keeps one active scheduler per database however many processes run."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RestoreRequest(Base):
    """A request to restore a backup, waiting for a second admin's decision.

    The row exists before its approval message is posted (the buttons carry its id), so the
    Slack channel and message timestamp are filled in afterwards.
    """

    __tablename__ = "restore_requests"
    __table_args__ = (
        # Nobody approves or rejects their own request (docs/rules.md), whatever the letter case.
        CheckConstraint(
            "approver IS NULL OR lower(approver) <> lower(requested_by)",
            name="approver_is_not_requester",
        ),
        Index(None, "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    backup_id: Mapped[str] = mapped_column(ForeignKey("backups.id"), index=True)
    target_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    scope: Mapped[str | None] = mapped_column(Text)  # None: the whole backup
    preview: Mapped[JSONObject | None] = mapped_column(JSON)
    status: Mapped[RestoreRequestStatus] = mapped_column(
        word_enum(RestoreRequestStatus, "restore_request_status")
    )
    requested_by: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    requested_by_slack: Mapped[str] = mapped_column(String(SLACK_ID_LENGTH))
    approver: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    slack_channel: Mapped[str | None] = mapped_column(String(SLACK_ID_LENGTH))
    slack_ts: Mapped[str | None] = mapped_column(String(SLACK_ID_LENGTH))
    reason: Mapped[str | None] = mapped_column(Text)

    backup: Mapped[Backup] = relationship()
    target_site: Mapped[Site] = relationship()


class AuditEntry(Base):
    """One line of the audit log: who did what, when, to what, and how it ended
    (docs/data-model.md).

    The table is append-only: the migrations install triggers that refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"),)

    # BIGINT on PostgreSQL; SQLite autoincrements only a column declared exactly INTEGER.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(EMAIL_LENGTH))  # an email, or SYSTEM_ACTOR
    slack_user: Mapped[str | None] = mapped_column(String(SLACK_ID_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(64))
    detail: Mapped[JSONObject | None] = mapped_column(JSON)


class Restore(Base):
    """One restore run of a backup into a site: its status, and what it restored how fast.

    The id is the restore request's (`rr-...`) when a Slack approval started it. Finished
    runs' items, bytes and durations are this deployment's measured restore throughput, from
    which its own RTO estimate is made. The old -> new id map is a file (`id_map_path`): it can
    hold millions of entries.
    """

    __tablename__ = "restores"
    __table_args__ = (
        CheckConstraint("items_restored >= 0", name="items_not_negative"),
        CheckConstraint("bytes_restored >= 0", name="bytes_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    backup_id: Mapped[str] = mapped_column(ForeignKey("backups.id"), index=True)
    target_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    scope: Mapped[str | None] = mapped_column(Text)  # None: the whole backup
    status: Mapped[RestoreStatus] = mapped_column(word_enum(RestoreStatus, "restore_status"))
    requested_by: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    approved_by: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items_restored: Mapped[int | None] = mapped_column(Integer)
    bytes_restored: Mapped[int | None] = mapped_column(BigInteger)
    item_counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    id_map_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    backup: Mapped[Backup] = relationship()
    target_site: Mapped[Site] = relationship()


_ACTIVE_RESTORE = sorted(status.value for status in RestoreStatus if status.is_active)

# One restore at a time into a site (two writing into the same projects would collide).
Index(
    "ix_restores_one_active_per_target",
    Restore.target_site_id,
    unique=True,
    sqlite_where=Restore.status.in_(_ACTIVE_RESTORE),
    postgresql_where=Restore.status.in_(_ACTIVE_RESTORE),
)
