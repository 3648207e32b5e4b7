"""Status words, shared verbatim by the database, Slack messages and log lines.

Atlassian's words for a backup are `In Progress`, `Completed`, `Incomplete`, `Failed` and
`Expired`; `Queued` and `Cancelled` are ours.
"""

from enum import StrEnum


class BackupStatus(StrEnum):
    QUEUED = "Queued"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    INCOMPLETE = "Incomplete"  # some items could not be backed up; the manifest lists which
    FAILED = "Failed"
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"

    @property
    def is_active(self) -> bool:
        """Queued or running: at most one such backup per site (enforced by the database)."""
        return self in ACTIVE_BACKUP_STATUSES

    @property
    def holds_data(self) -> bool:
        """A finished backup whose snapshot can be read back and restored while unexpired."""
        return self in RESTORABLE_BACKUP_STATUSES


ACTIVE_BACKUP_STATUSES = frozenset({BackupStatus.QUEUED, BackupStatus.IN_PROGRESS})
RESTORABLE_BACKUP_STATUSES = frozenset({BackupStatus.COMPLETED, BackupStatus.INCOMPLETE})


class RestoreRequestStatus(StrEnum):
    """The decision on a request to restore; the restore's own progress is tracked apart."""

    PENDING = "Pending"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    WITHDRAWN = "Withdrawn"
    EXPIRED = "Expired"


class RestoreStatus(StrEnum):
    """A restore's progress once it may run (approved, or started by an operator)."""

    QUEUED = "Queued"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    INCOMPLETE = "Incomplete"  # some items could not be restored; the result lists them
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def is_active(self) -> bool:
        return self in (RestoreStatus.QUEUED, RestoreStatus.IN_PROGRESS)
