"""What an admin asked for, as typed, immutable values.

The grammar turns `/backup` text into one of these; handlers act on them. Each action renders
back to the canonical text that parses to it (`to_text`), which the tests use to prove the
grammar loses nothing, and which messages and the audit log use to show what was asked.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, time
from enum import IntEnum, StrEnum
from typing import ClassVar

from policy.frequency import Frequency
from policy.products import Product
from policy.roles import Activity
from policy.sizes import exact_size_text

DEFAULT_AUDIT_ROWS = 20
MAX_AUDIT_ROWS = 100


class Weekday(IntEnum):
    """Monday is 0, as in `datetime.date.weekday()` and APScheduler's cron fields."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6

    @property
    def token(self) -> str:
        return self.name.lower()


class ScopeKind(StrEnum):
    PROJECT = "project"
    SPACE = "space"
    ISSUE = "issue"
    PAGE = "page"

    @property
    def product(self) -> Product:
        """The app whose backups hold this kind of item."""
        if self in (ScopeKind.PROJECT, ScopeKind.ISSUE):
            return Product.JIRA
        return Product.CONFLUENCE


@dataclass(frozen=True)
class Scope:
    """One part of a backup to restore: a Jira project or issue, a Confluence space or page."""

    kind: ScopeKind
    key: str

    def to_text(self) -> str:
        return f"{self.kind.value}:{self.key}"


def _clause(keyword: str, value: str | None) -> str:
    return f" {keyword} {value}" if value is not None else ""


@dataclass(frozen=True)
class Action(ABC):
    activity: ClassVar[Activity]

    @abstractmethod
    def to_text(self) -> str:
        """The canonical `/backup` text (without `/backup`) that parses back to this action."""


@dataclass(frozen=True)
class Help(Action):
    activity = Activity.HELP
    topic: str | None = None

    def to_text(self) -> str:
        return "help" + (f" {self.topic}" if self.topic else "")


@dataclass(frozen=True)
class ListSites(Action):
    activity = Activity.SITES

    def to_text(self) -> str:
        return "sites"


@dataclass(frozen=True)
class BackupNow(Action):
    activity = Activity.NOW
    site: str
    storage: str | None = None

    def to_text(self) -> str:
        return f"now {self.site}" + _clause("to", self.storage)


@dataclass(frozen=True)
class ListBackups(Action):
    activity = Activity.LIST
    site: str | None = None
    include_all: bool = False  # also expired, failed and cancelled backups

    def to_text(self) -> str:
        return (
            "list" + (f" {self.site}" if self.site else "") + (" all" if self.include_all else "")
        )


@dataclass(frozen=True)
class ShowStatus(Action):
    activity = Activity.STATUS
    backup_id: str

    def to_text(self) -> str:
        return f"status {self.backup_id}"


@dataclass(frozen=True)
class Cancel(Action):
    """Stop a queued or running backup or restore, or withdraw a pending restore request."""

    activity = Activity.CANCEL
    target_id: str  # a backup id (bk-) or a restore request id (rr-)

    def to_text(self) -> str:
        return f"cancel {self.target_id}"


@dataclass(frozen=True)
class Verify(Action):
    activity = Activity.VERIFY
    backup_id: str

    def to_text(self) -> str:
        return f"verify {self.backup_id}"


@dataclass(frozen=True)
class Once:
    on: date

    frequency = Frequency.ONCE

    def to_text(self) -> str:
        return f"once on {self.on.isoformat()}"


@dataclass(frozen=True)
class Daily:
    frequency = Frequency.DAILY

    def to_text(self) -> str:
        return "daily"


@dataclass(frozen=True)
class Weekly:
    weekday: Weekday

    frequency = Frequency.WEEKLY

    def to_text(self) -> str:
        return f"weekly on {self.weekday.token}"


Recurrence = Once | Daily | Weekly


@dataclass(frozen=True)
class CreateSchedule(Action):
    activity = Activity.SCHEDULE
    site: str
    recurrence: Recurrence
    at: time
    timezone: str | None = None  # None: the configured default zone
    storage: str | None = None  # None: the site's configured storage

    @property
    def frequency(self) -> Frequency:
        return self.recurrence.frequency

    def to_text(self) -> str:
        return (
            f"schedule {self.site} {self.recurrence.to_text()} at {self.at.strftime('%H:%M')}"
            + _clause("tz", self.timezone)
            + _clause("to", self.storage)
        )


@dataclass(frozen=True)
class ListSchedules(Action):
    activity = Activity.SCHEDULES
    site: str | None = None

    def to_text(self) -> str:
        return "schedules" + (f" {self.site}" if self.site else "")


@dataclass(frozen=True)
class Unschedule(Action):
    activity = Activity.UNSCHEDULE
    schedule_id: str

    def to_text(self) -> str:
        return f"unschedule {self.schedule_id}"


@dataclass(frozen=True)
class Restore(Action):
    activity = Activity.RESTORE
    backup_id: str
    target_site: str | None = None  # None: back into the backup's own site
    scope: Scope | None = None  # None: the whole backup
    preview: bool = False  # show what would happen, change nothing

    def to_text(self) -> str:
        return (
            f"restore {self.backup_id}"
            + _clause("to", self.target_site)
            + _clause("only", self.scope.to_text() if self.scope else None)
            + (" preview" if self.preview else "")
        )


@dataclass(frozen=True)
class ListApprovals(Action):
    activity = Activity.APPROVALS

    def to_text(self) -> str:
        return "approvals"


@dataclass(frozen=True)
class EstimateSite(Action):
    """Recovery objectives for a configured site, from its last known sizes."""

    activity = Activity.ESTIMATE
    site: str

    def to_text(self) -> str:
        return f"estimate {self.site}"


@dataclass(frozen=True)
class EstimateSize(Action):
    """Recovery objectives for a hypothetical site of this app and size."""

    activity = Activity.ESTIMATE
    product: Product
    data_bytes: int
    attachment_bytes: int = 0

    def to_text(self) -> str:
        data = exact_size_text(self.data_bytes)
        attachments = exact_size_text(self.attachment_bytes)
        return f"estimate {self.product.value} {data} {attachments}"


@dataclass(frozen=True)
class ShowAudit(Action):
    activity = Activity.AUDIT
    limit: int = DEFAULT_AUDIT_ROWS

    def to_text(self) -> str:
        return f"audit {self.limit}"
