"""The maintenance pass (every 5 minutes and at start-up): expiry, requests that lapsed, and
work a dead process left In Progress.

- Backups with `now ≥ expires_at` become `Expired` (docs/rules.md). Managed storage deletes
  their data; an organization's bucket keeps it unless its location says `delete_expired`.
  The manifest goes first, so a half-deleted backup is never taken for one.
- Pending restore requests past their expiry become `Expired` (their messages are then
  updated by the caller).
- Backups and restores whose heartbeat stopped become `Failed` ("interrupted").
Database work is set-based and done first; deleting data follows, outside the transaction.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, Subquery, func, select, update
from sqlalchemy.orm import Session

from jobs.context import JobContext
from policy.statuses import RESTORABLE_BACKUP_STATUSES, BackupStatus
from policy.warnings import due_lead
from storage import audit, catalog, restore_requests, restores
from storage.artifacts import StorageError
from storage.models import SYSTEM_ACTOR, AuditEntry, Backup, Site, StorageLocation
from storage.snapshot import backup_folder, manifest_key_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpiryWarning:
    site: str
    backup_id: str
    expires_at: datetime
    lead_hours: int
    last_run_failed: bool  # the site's newest backup failed: soon nothing will be restorable


@dataclass
class SweepReport:
    expired: list[str] = field(default_factory=list)  # backup ids
    deleted: list[str] = field(default_factory=list)  # backup ids whose data was deleted
    kept: list[str] = field(default_factory=list)  # expired, data kept (organization bucket)
    requests_expired: list[str] = field(default_factory=list)  # restore request ids
    interrupted: list[str] = field(default_factory=list)  # backup and restore ids
    problems: list[str] = field(default_factory=list)  # deletions that failed (retried next pass)
    warnings: list[ExpiryWarning] = field(default_factory=list)


def sweep(context: JobContext) -> SweepReport:
    now = context.clock()
    report = SweepReport()
    deleting = sorted(name for name, kept in context.config.storage.items() if kept.deletes_expired)
    with context.sessions.begin() as session:
        stale = context.config.jobs.stale_after
        report.interrupted = [b.id for b in catalog.mark_interrupted(session, now, stale)]
        report.interrupted += [r.id for r in restores.mark_interrupted(session, now, stale)]
        due = session.execute(
            select(Backup.id, Site.name, StorageLocation.name)
            .join(Site, Backup.site_id == Site.id)
            .join(StorageLocation, Backup.storage_location_id == StorageLocation.id)
            .where(Backup.status.in_(sorted(RESTORABLE_BACKUP_STATUSES)), Backup.expires_at <= now)
        ).all()
        if due:
            session.execute(
                update(Backup)
                .where(Backup.id.in_([row[0] for row in due]))
                .values(status=BackupStatus.EXPIRED)
                .execution_options(synchronize_session=False)
            )
        for backup_id, site, location in due:
            report.expired.append(backup_id)
            if location not in deleting:
                report.kept.append(backup_id)
            audit.record(
                session, now, actor=SYSTEM_ACTOR, action="expire", target=backup_id,
                outcome="Expired", detail={"site": site, "storage": location},
            )  # fmt: skip
        report.requests_expired = [r.id for r in restore_requests.expire_overdue(session, now)]
        report.warnings = _warnings(session, context, now)
        # Those just expired, and any whose deletion failed before: tried until it succeeds.
        to_delete = session.execute(
            select(Backup.id, Site.name, StorageLocation.name)
            .join(Site, Backup.site_id == Site.id)
            .join(StorageLocation, Backup.storage_location_id == StorageLocation.id)
            .where(
                Backup.status == BackupStatus.EXPIRED,
                Backup.data_deleted_at.is_(None),
                StorageLocation.name.in_(deleting),
            )
        ).all()
    for backup_id, site, location in to_delete:
        try:
            delete_backup_data(context, site, location, backup_id)
            report.deleted.append(backup_id)
        except StorageError as error:
            logger.warning("deleting expired %s failed: %s", backup_id, error)
            report.problems.append(f"{backup_id}: {error}")
    if report.deleted:
        with context.sessions.begin() as session:
            session.execute(
                update(Backup)
                .where(Backup.id.in_(report.deleted))
                .values(data_deleted_at=context.clock())
                .execution_options(synchronize_session=False)
            )
    return report


WARNING_ACTION = "expiry warning"


def _warnings(session: Session, context: JobContext, now: datetime) -> list[ExpiryWarning]:
    """Warnings due now (`policy.warnings`), each recorded in the audit log, which is also
    how a lead time already announced is known.

    Only backups expiring within the longest lead time can be due, so the candidates come
    from the `(status, expires_at)` index (and, by default, only each site's newest
    restorable backup), however many backups the catalog holds."""
    settings = context.config.warnings
    restorable = Backup.status.in_(sorted(RESTORABLE_BACKUP_STATUSES)) & (Backup.expires_at > now)
    query = (
        select(Backup.id, Site.name, Backup.expires_at, Backup.site_id)
        .join(Site, Backup.site_id == Site.id)
        .where(restorable, Backup.expires_at <= now + timedelta(hours=max(settings.lead_hours)))
    )
    if not settings.every_backup:
        newest = _newest(select(Backup.site_id).where(restorable))
        query = query.join(
            newest, (Backup.site_id == newest.c.site_id) & (Backup.created_at == newest.c.created)
        )
    candidates = session.execute(query.order_by(Site.name)).all()
    if not candidates:
        return []
    said = {
        target
        for target in session.scalars(
            select(AuditEntry.target).where(
                AuditEntry.action == WARNING_ACTION,
                AuditEntry.target.in_(
                    [f"{row.id} {h}h" for row in candidates for h in settings.lead_hours]
                ),
            )
        )
    }
    latest = _newest(
        select(Backup.site_id).where(Backup.site_id.in_({r.site_id for r in candidates}))
    )
    newest_status = dict(
        session.execute(
            select(Backup.site_id, Backup.status).join(
                latest,
                (Backup.site_id == latest.c.site_id) & (Backup.created_at == latest.c.created),
            )
        ).all()
    )  # each candidate site's newest backup, whatever its status
    warnings = []
    for backup_id, site, expires, site_id in candidates:
        announced = [h for h in settings.lead_hours if f"{backup_id} {h}h" in said]
        lead, record = due_lead(expires, now, settings.lead_hours, announced)
        for hours in record:
            audit.record(
                session, now, actor=SYSTEM_ACTOR, action=WARNING_ACTION,
                target=f"{backup_id} {hours}h", outcome="sent" if hours == lead else "skipped",
            )  # fmt: skip
        if lead is not None:
            failed = newest_status.get(site_id) is BackupStatus.FAILED
            warnings.append(ExpiryWarning(site, backup_id, expires, lead, failed))
    return warnings


def _newest(sites: Select[int]) -> Subquery:
    """(site_id, created) of the newest backup of each site `sites` selects, with its filter."""
    return (
        sites.add_columns(func.max(Backup.created_at).label("created"))
        .group_by(Backup.site_id)
        .subquery()
    )


def delete_backup_data(context: JobContext, site: str, location: str, backup_id: str) -> None:
    """Every object of the backup, the manifest first. Attachment content shared by other
    backups (content-addressed) is not the backup's own and stays."""
    store = context.open_store(context.config.storage[location], context.environment)
    store.delete(manifest_key_of(site, backup_id))
    for info in list(store.list(backup_folder(site, backup_id))):
        store.delete(info.key)
