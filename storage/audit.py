"""The audit log (docs/data-model.md): every command, decision and outcome as an append-only row.

The migrations refuse UPDATE and DELETE on the table; this module only adds and reads.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import SYSTEM_ACTOR, AuditEntry

__all__ = ["SYSTEM_ACTOR", "recent", "record"]

MAX_TARGET_LENGTH = 255


def record(
    session: Session,
    now: datetime,
    *,
    actor: str,
    action: str,
    outcome: str,
    target: str | None = None,
    slack_user: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one row; `actor` is the person's email (or SYSTEM_ACTOR), `outcome` a short word
    such as `ok`, `refused`, `approved` or a status word."""
    entry = AuditEntry(
        at=now,
        actor=actor,
        slack_user=slack_user,
        action=action,
        target=target[:MAX_TARGET_LENGTH] if target else None,
        outcome=outcome,
        detail=dict(detail) if detail else None,
    )
    session.add(entry)
    return entry


def recent(session: Session, limit: int) -> Sequence[AuditEntry]:
    """The newest `limit` rows, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return session.scalars(query).all()
