"""Restore requests: created Pending, then decided exactly once.

A decision is an atomic compare-and-set in the database (`UPDATE ... WHERE status = 'Pending'
AND expires_at > now`): under simultaneous clicks, in one process or several, exactly one
update matches a row, and everyone else reads who decided.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from policy.identifiers import IdKind
from policy.statuses import RestoreRequestStatus
from storage.catalog import site_row
from storage.ids import new_id
from storage.models import RestoreRequest

PENDING = RestoreRequestStatus.PENDING


def create_request(
    session: Session,
    now: datetime,
    *,
    backup_id: str,
    target_site: str,
    scope: str | None,
    requested_by: str,
    requested_by_slack: str,
    ttl: timedelta,
) -> RestoreRequest:
    request = RestoreRequest(
        id=new_id(IdKind.RESTORE_REQUEST),
        backup_id=backup_id,
        target_site_id=site_row(session, target_site).id,
        scope=scope,
        status=PENDING,
        requested_by=requested_by,
        requested_by_slack=requested_by_slack,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(request)
    session.flush()
    return request


@dataclass(frozen=True)
class Decision:
    """How a decision attempt ended: `won` is True for the one caller whose update applied;
    otherwise `request` shows the state that made it lose (decided by someone else, expired)."""

    won: bool
    request: RestoreRequest


def decide(
    session: Session,
    request_id: str,
    now: datetime,
    *,
    status: RestoreRequestStatus,
    decided_by: str,
    reason: str | None = None,
) -> Decision:
    """Approve, reject or withdraw a pending, unexpired request, atomically."""
    if status is PENDING or status is RestoreRequestStatus.EXPIRED:
        raise ValueError(f"{status} is not a decision")
    applied = session.execute(
        update(RestoreRequest)
        .where(
            RestoreRequest.id == request_id,
            RestoreRequest.status == PENDING,
            RestoreRequest.expires_at > now,
        )
        .values(
            status=status,
            approver=None if status is RestoreRequestStatus.WITHDRAWN else decided_by,
            decided_at=now,
            reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    request = session.get_one(RestoreRequest, request_id, populate_existing=True)
    return Decision(applied.rowcount == 1, request)  # type: ignore[attr-defined]


def expire_overdue(session: Session, now: datetime) -> Sequence[RestoreRequest]:
    """Pending requests past their expiry become Expired; returns them (to update messages)."""
    overdue = session.scalars(
        select(RestoreRequest).where(
            RestoreRequest.status == PENDING, RestoreRequest.expires_at <= now
        )
    ).all()
    for request in overdue:
        request.status = RestoreRequestStatus.EXPIRED
        request.decided_at = now
    return overdue


def pending(session: Session, now: datetime) -> Sequence[RestoreRequest]:
    """Requests still waiting for a decision, oldest first."""
    return session.scalars(
        select(RestoreRequest)
        .where(RestoreRequest.status == PENDING, RestoreRequest.expires_at > now)
        .order_by(RestoreRequest.created_at)
    ).all()


def attach_preview(request: RestoreRequest, preview: Mapping[str, Any]) -> None:
    request.preview = dict(preview)


def attach_message(request: RestoreRequest, channel: str, ts: str) -> None:
    request.slack_channel, request.slack_ts = channel, ts
