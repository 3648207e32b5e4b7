"""The catalog: the rows that say which sites, storage locations and backups exist.

Sites and storage locations are declared in the config and mirrored here so backups can point
at them; backups move through their statuses only through these functions, so the same words
reach the database, the log and Slack. Callers own the session and its transaction.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policy.identifiers import IdKind
from policy.retention import expires_at
from policy.statuses import ACTIVE_BACKUP_STATUSES, RESTORABLE_BACKUP_STATUSES, BackupStatus
from settings.schema import Config, LocalStorage
from storage.ids import new_id
from storage.models import Backup, Site, StorageKind, StorageLocation
from storage.snapshot import Manifest

INTERRUPTED = "interrupted: the process running this backup stopped before it finished"
# A live process refreshes its backups' heartbeats far more often than this (jobs.heartbeat).


class SiteBeingRestored(Exception):
    """A restore into the site is queued or running; its backups wait until it ends."""

    def __init__(self, site: str, restore_id: str) -> None:
        self.site, self.restore_id = site, restore_id
        super().__init__(
            f"the restore {restore_id} into {site} is under way; backups of {site} wait until "
            "it ends"
        )


class BackupAlreadyActive(Exception):
    """The site already has a queued or running backup (the database refused a second)."""

    def __init__(self, site: str, active: Backup | None) -> None:
        self.site = site
        self.active = active
        which = f" ({active.id}, {active.status})" if active else ""
        super().__init__(f"{site} already has a backup queued or in progress{which}")


def sync_configuration(session: Session, config: Config, now: datetime) -> None:
    """Make the sites and storage locations rows match the config, by name.

    Rows of names no longer configured stay: old backups still point at them.
    """
    sites = {row.name: row for row in session.scalars(select(Site))}
    for name, site in config.sites.items():
        row = sites.get(name)
        if row is None:
            session.add(Site(name=name, product=site.product, url=site.url, created_at=now))
        else:
            row.product, row.url = site.product, site.url
    locations = {row.name: row for row in session.scalars(select(StorageLocation))}
    for name, location in config.storage.items():
        kind = StorageKind.LOCAL if isinstance(location, LocalStorage) else StorageKind.S3
        row_location = locations.get(name)
        if row_location is None:
            session.add(StorageLocation(name=name, kind=kind, owner=location.owner, created_at=now))
        else:
            row_location.kind, row_location.owner = kind, location.owner
    session.flush()


def site_row(session: Session, name: str) -> Site:
    return session.execute(select(Site).where(Site.name == name)).scalar_one()


def location_row(session: Session, name: str) -> StorageLocation:
    return session.execute(select(StorageLocation).where(StorageLocation.name == name)).scalar_one()


def active_backup(session: Session, site: Site) -> Backup | None:
    return session.scalars(
        select(Backup).where(
            Backup.site_id == site.id, Backup.status.in_(sorted(ACTIVE_BACKUP_STATUSES))
        )
    ).first()


def queue_backup(
    session: Session,
    site_name: str,
    location_name: str,
    now: datetime,
    requested_by: str | None,
    *,
    schedule: tuple[str, str, int] | None = None,  # (schedule id, slot, attempt)
) -> Backup:
    """A new `Queued` backup row; BackupAlreadyActive if the site has one queued or running.

    The database's partial unique index is the arbiter, so two processes racing for the same
    site cannot both win; the savepoint keeps the caller's transaction usable after a refusal.
    """
    site = site_row(session, site_name)
    location = location_row(session, location_name)
    backup = Backup(
        id=new_id(IdKind.BACKUP),
        site_id=site.id,
        storage_location_id=location.id,
        status=BackupStatus.QUEUED,
        created_at=now,
        expires_at=expires_at(now, location.owner),
        requested_by=requested_by,
        heartbeat_at=now,
    )
    if schedule is not None:
        backup.schedule_id, backup.slot, backup.attempt = schedule
    try:
        with session.begin_nested():
            session.add(backup)
    except IntegrityError:
        raise BackupAlreadyActive(site_name, active_backup(session, site)) from None
    return backup


def start_backup(session: Session, backup: Backup, now: datetime) -> None:
    backup.status = BackupStatus.IN_PROGRESS
    backup.started_at = now
    backup.heartbeat_at = now


def beat(session: Session, backup_ids: Sequence[str], now: datetime) -> None:
    """Say that the process holding these queued or running backups is alive."""
    if backup_ids:
        session.execute(
            update(Backup)
            .where(Backup.id.in_(list(backup_ids)))
            .where(Backup.status.in_(sorted(ACTIVE_BACKUP_STATUSES)))
            .values(heartbeat_at=now)
        )


def finish_backup(
    session: Session,
    backup: Backup,
    now: datetime,
    *,
    status: BackupStatus,
    data_bytes: int | None = None,
    attachment_bytes: int | None = None,
    item_counts: dict[str, int] | None = None,
    error: str | None = None,
) -> None:
    """Record how a backup ended: Completed, Incomplete, Failed or Cancelled."""
    if status.is_active:
        raise ValueError(f"{status} is not an ending")
    backup.status = status
    backup.finished_at = now
    backup.data_bytes = data_bytes
    backup.attachment_bytes = attachment_bytes
    backup.item_counts = item_counts
    backup.error = error


def mark_interrupted(session: Session, now: datetime, stale_after: timedelta) -> Sequence[Backup]:
    """Fail every backup left queued or running by a process that died; returns them.

    A backup whose heartbeat is older than `stale_after` has no live process behind it, so
    this is safe to call from any process at any time: a backup another live process runs
    keeps beating and is left alone.
    """
    last_sign_of_life = func.coalesce(Backup.heartbeat_at, Backup.started_at, Backup.created_at)
    stranded = list(
        session.scalars(
            select(Backup).where(
                Backup.status.in_(sorted(ACTIVE_BACKUP_STATUSES)),
                last_sign_of_life < now - stale_after,
            )
        )
    )
    for backup in stranded:
        finish_backup(session, backup, now, status=BackupStatus.FAILED, error=INTERRUPTED)
    return stranded


def backups_with_data(session: Session, site_name: str) -> Sequence[Backup]:
    """The site's Completed and Incomplete backups, newest first (expired or not)."""
    query = (
        select(Backup)
        .join(Site, Backup.site_id == Site.id)
        .where(Site.name == site_name, Backup.status.in_(sorted(RESTORABLE_BACKUP_STATUSES)))
        .order_by(Backup.created_at.desc())
    )
    return session.scalars(query).all()


def latest_backup_with_data(
    session: Session, site_name: str, location_name: str, *, exclude: str | None = None
) -> str | None:
    """The id of the site's newest Completed or Incomplete backup in that location, if any."""
    query = (
        select(Backup.id)
        .join(Site, Backup.site_id == Site.id)
        .join(StorageLocation, Backup.storage_location_id == StorageLocation.id)
        .where(
            Site.name == site_name,
            StorageLocation.name == location_name,
            Backup.status.in_(sorted(RESTORABLE_BACKUP_STATUSES)),
        )
        .order_by(Backup.created_at.desc())
    )
    if exclude is not None:
        query = query.where(Backup.id != exclude)
    return session.scalars(query).first()


def import_manifest(
    session: Session, manifest: Manifest, location_name: str, now: datetime
) -> bool:
    """Record a backup found in a storage location; False if the catalog already had it.

    The status comes from the manifest (Completed, or Incomplete when items failed), or is
    Expired once the expiry has passed; the manifest's HMAC was verified by whoever read it.
    """
    if session.get(Backup, manifest.backup_id) is not None:
        return False
    site = site_row(session, manifest.site)
    location = location_row(session, location_name)
    status = BackupStatus.EXPIRED if now >= manifest.expires_at else manifest.status
    session.add(
        Backup(
            id=manifest.backup_id,
            site_id=site.id,
            storage_location_id=location.id,
            status=status,
            created_at=manifest.created_at,
            finished_at=manifest.created_at,
            expires_at=manifest.expires_at,
            data_bytes=manifest.data_bytes,
            attachment_bytes=manifest.attachment_bytes,
            item_counts=dict(manifest.item_counts),
        )
    )
    session.flush()
    return True
