"""How long a backup can be restored (docs/rules.md, "Storage and retention").

Managed storage keeps a backup 14 days and it expires on the 15th day; a backup in an
organization's own S3 bucket can be restored within 30 days of its creation (Atlassian;
docs/rules.md). Both are counted in exact 24-hour days on UTC instants: a time zone only changes how
an instant is shown, never when a backup expires.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from policy.statuses import BackupStatus


class StorageOwner(StrEnum):
    MANAGED = "managed"  # the bot's own storage (a local folder or the operator's bucket)
    ORGANIZATION = "organization"  # the organization's own S3 bucket


RETENTION: dict[StorageOwner, timedelta] = {
    StorageOwner.MANAGED: timedelta(hours=14 * 24),
    StorageOwner.ORGANIZATION: timedelta(hours=30 * 24),
}


class NaiveDatetimeError(TypeError):
    """A datetime without a time zone reached the rules: a programming error, never user input."""


def require_aware(moment: datetime, name: str = "datetime") -> datetime:
    """`moment` converted to UTC; a naive datetime is refused loudly rather than guessed at."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise NaiveDatetimeError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def expires_at(created_at: datetime, owner: StorageOwner) -> datetime:
    """The first instant at which the backup is no longer restorable (UTC)."""
    return require_aware(created_at, "created_at") + RETENTION[owner]


def is_restorable(status: BackupStatus, expires: datetime, now: datetime) -> bool:
    """True iff the backup holds data and `now` is strictly before its expiry instant."""
    return status.holds_data and require_aware(now, "now") < require_aware(expires, "expires_at")


def time_left(expires: datetime, now: datetime) -> timedelta:
    """What remains before expiry; zero once expired."""
    return max(require_aware(expires, "expires_at") - require_aware(now, "now"), timedelta(0))
