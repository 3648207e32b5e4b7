"""Restore rows: a restore moves Queued -> In Progress -> an ending only through here, and
finished restores are this deployment's measured restore throughput (policy.estimates)."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policy.estimates import Throughput
from policy.identifiers import IdKind
from policy.products import Product
from policy.statuses import RestoreStatus
from storage.catalog import site_row
from storage.ids import new_id
from storage.models import Restore, Site

MEASURED = (RestoreStatus.COMPLETED, RestoreStatus.INCOMPLETE)
ACTIVE = [status.value for status in RestoreStatus if status.is_active]
INTERRUPTED = "interrupted: the process running this restore stopped before it finished"


class RestoreAlreadyActive(Exception):
    """The target site already has a restore queued or running."""

    def __init__(self, site: str) -> None:
        self.site = site
        super().__init__(f"a restore into {site} is already queued or in progress")


def queue_restore(
    session: Session,
    backup_id: str,
    target_site: str,
    now: datetime,
    *,
    scope: str | None,
    requested_by: str | None,
    approved_by: str | None = None,
    restore_id: str | None = None,
) -> Restore:
    """A `Queued` restore; RestoreAlreadyActive if one into that site is queued or running.

    `restore_id` is the approved restore request's id, so the request and its run share it.
    """
    restore = Restore(
        id=restore_id or new_id(IdKind.RESTORE_REQUEST),
        backup_id=backup_id,
        target_site_id=site_row(session, target_site).id,
        scope=scope,
        status=RestoreStatus.QUEUED,
        requested_by=requested_by,
        approved_by=approved_by,
        created_at=now,
        heartbeat_at=now,
    )
    try:
        with session.begin_nested():
            session.add(restore)
    except IntegrityError:
        raise RestoreAlreadyActive(target_site) from None
    return restore


def start_restore(restore: Restore, now: datetime) -> None:
    restore.status = RestoreStatus.IN_PROGRESS
    restore.started_at = restore.heartbeat_at = now


def finish_restore(
    restore: Restore,
    now: datetime,
    *,
    status: RestoreStatus,
    items_restored: int = 0,
    bytes_restored: int = 0,
    item_counts: dict[str, int] | None = None,
    id_map_path: str | None = None,
    error: str | None = None,
) -> None:
    if status.is_active:
        raise ValueError(f"{status} is not an ending")
    restore.status = status
    restore.finished_at = now
    restore.items_restored = items_restored
    restore.bytes_restored = bytes_restored
    restore.item_counts = item_counts
    restore.id_map_path = id_map_path
    restore.error = error


def beat(session: Session, restore_ids: Sequence[str], now: datetime) -> None:
    """Say that the process holding these queued or running restores is alive."""
    if restore_ids:
        session.execute(
            update(Restore)
            .where(Restore.id.in_(list(restore_ids)), Restore.status.in_(ACTIVE))
            .values(heartbeat_at=now)
        )


def active_restore_into(session: Session, site_name: str) -> Restore | None:
    """The restore queued or running into `site_name`, if any: its backups wait for it."""
    query = (
        select(Restore)
        .join(Site, Restore.target_site_id == Site.id)
        .where(Site.name == site_name, Restore.status.in_(ACTIVE))
    )
    return session.scalars(query.limit(1)).first()


def mark_interrupted(session: Session, now: datetime, stale_after: timedelta) -> list[Restore]:
    """Fail the restores whose process died (a stale heartbeat), as for backups."""
    stranded = list(
        session.scalars(
            select(Restore).where(
                Restore.status.in_(ACTIVE),
                func.coalesce(Restore.heartbeat_at, Restore.created_at) < now - stale_after,
            )
        )
    )
    for restore in stranded:
        finish_restore(restore, now, status=RestoreStatus.FAILED, error=INTERRUPTED)
    return stranded


def restore_throughput(session: Session, product: Product) -> Throughput | None:
    """Items, bytes and seconds of every finished restore into sites of this app; None if none.

    Summed rather than averaged per restore, so a long restore weighs as much as it taught.
    """
    rows = session.execute(
        select(
            Restore.items_restored, Restore.bytes_restored, Restore.started_at, Restore.finished_at
        )
        .join(Site, Restore.target_site_id == Site.id)
        .where(
            Site.product == product,
            Restore.status.in_([status.value for status in MEASURED]),
            Restore.started_at.is_not(None),
            Restore.finished_at.is_not(None),
        )
    ).all()
    if not rows:
        return None
    return Throughput(
        items=sum(items or 0 for items, _, _, _ in rows),
        bytes=sum(size or 0 for _, size, _, _ in rows),
        seconds=sum((end - start).total_seconds() for _, _, start, end in rows if start and end),
    )
