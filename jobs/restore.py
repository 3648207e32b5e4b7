"""Restoring a backup into a configured site: preview (the plan), run (the plan executed) and
verify (the restored items read back and compared with the snapshot).

`preview` refuses what docs/rules.md forbids before reading anything (an expired backup, one whose
status holds no data, a target that is not a configured site of the same product), then re-reads
every chunk of the snapshot against its verified manifest, so a damaged backup stops the
restore before any write, and plans through the target's API. `run` executes exactly that plan
on an event loop of its own, polling the cancel event as backups do. The database row of a
restore (Queued, In Progress, ...) is the caller's: these functions only report.
"""

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.confluence_import import execute_confluence
from atlassian_cloud.errors import AtlassianError
from atlassian_cloud.importer import RestoreResult, RestoreStopped
from atlassian_cloud.jira import JiraClient
from atlassian_cloud.jira_import import execute_jira
from atlassian_cloud.records import JSONObject
from atlassian_cloud.restore_plan import RestorePlan, RestoreScope, plan_confluence, plan_jira
from atlassian_cloud.restore_verify import Difference, verify_confluence, verify_jira
from jobs.context import JobContext, site_client
from policy.products import Product
from policy.restore import RestoreRefused, check_backup, check_target
from policy.statuses import RestoreStatus
from storage.artifacts import ArtifactStore, IntegrityError, StorageError
from storage.models import Backup
from storage.snapshot import (
    SnapshotError,
    SnapshotReader,
    has_attachment_content,
    open_attachment_content,
)

logger = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Progress:
    """How far a restore is: the phase (projects, issues, statuses, comments, links,
    attachments; spaces, pages, ...) and items done so far, all phases together."""

    backup_id: str
    phase: str
    items_done: int


ProgressCallback = Callable[[Progress], None]


class DamagedBackup(RestoreRefused):
    """A chunk or the manifest failed verification: nothing is restored from this backup."""


@dataclass(frozen=True)
class _Source:
    """A backup opened for restoring: its site, product, store and verified reader."""

    site: str
    product: Product
    store: ArtifactStore
    reader: SnapshotReader

    def records(self, entity: str) -> Iterable[JSONObject]:
        if entity not in self.reader.entities:
            return ()
        return self.reader.records(entity)

    def stored(self, sha256: str) -> bool:
        return has_attachment_content(self.store, self.site, sha256)

    def content(self, sha256: str) -> bytes:
        with open_attachment_content(self.store, self.site, sha256) as stream:
            return stream.read()


def _open(context: JobContext, backup_id: str, now: datetime) -> _Source:
    with context.sessions() as session:
        backup = session.get(Backup, backup_id)
        if backup is None:
            raise RestoreRefused(f"there is no backup {backup_id}")
        check_backup(backup_id, backup.status, backup.expires_at, now)
        site, location = backup.site.name, backup.storage_location.name
        product = backup.site.product
    store = context.open_store(context.config.storage[location], context.environment)
    try:
        reader = SnapshotReader(store, site, backup_id, context.manifest_key)
        report = reader.verify()
    except (SnapshotError, IntegrityError) as error:
        raise DamagedBackup(f"{backup_id} cannot be trusted: {error}") from error
    if not report.ok:
        raise DamagedBackup(
            f"{backup_id} cannot be trusted, nothing was restored: " + "; ".join(report.problems)
        )
    return _Source(site, product, store, reader)


def _target_name(context: JobContext, source: _Source, target: str | None) -> str:
    name = target or source.site
    site = context.config.sites.get(name)
    check_target(source.product, name, site.product if site else None)
    return name


def preview(
    context: JobContext,
    backup_id: str,
    *,
    target: str | None = None,
    scope: RestoreScope | None = None,
) -> RestorePlan:
    """The plan for restoring `backup_id` (or the part `scope` names) into `target` (default:
    the backup's own site). Raises RestoreRefused (DamagedBackup, ...) with the reason, or
    ScopeNotFound, or an AtlassianError when the target cannot be read."""
    source = _open(context, backup_id, context.clock())
    target_name = _target_name(context, source, target)
    return asyncio.run(_plan(context, source, backup_id, target_name, scope or RestoreScope()))


async def _plan(
    context: JobContext, source: _Source, backup_id: str, target_name: str, scope: RestoreScope
) -> RestorePlan:
    async with site_client(context, target_name) as target:
        origin = site_client(context, source.site) if source.site in context.config.sites else None
        try:
            arguments: dict[str, Any] = {
                "backup_id": backup_id,
                "source_site": source.site,
                "scope": scope,
                "stored": source.stored,
                "source": origin,
            }
            if isinstance(target, JiraClient):
                plan = await plan_jira(source.records, target, **arguments)
            else:
                assert isinstance(target, ConfluenceClient)
                plan = await plan_confluence(source.records, target, **arguments)
            plan.rate_limit = target.control.advertised_limit
            return plan
        finally:
            if origin is not None:
                await origin.aclose()


def run(
    context: JobContext,
    plan: RestorePlan,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RestoreResult:
    """Execute `plan`; never raises for a failure of the site or the storage (the result is
    then Failed, with what was done until then), and stops within a poll when `cancel` is set.
    The backup is checked again first: it may have expired since the preview."""
    try:
        source = _open(context, plan.backup_id, context.clock())
    except RestoreRefused as error:
        return RestoreResult(RestoreStatus.FAILED, error=str(error))
    report: Callable[[str, int], None] | None = None
    if progress is not None:
        callback = progress

        def report(phase: str, done: int) -> None:
            callback(Progress(plan.backup_id, phase, done))

    try:
        return asyncio.run(_execute(context, source, plan, report, cancel or threading.Event()))
    except (AtlassianError, RestoreStopped, StorageError, OSError) as error:
        logger.warning("restore of %s into %s failed: %s", plan.backup_id, plan.target_site, error)
        return RestoreResult(RestoreStatus.FAILED, error=str(error))


async def _execute(
    context: JobContext,
    source: _Source,
    plan: RestorePlan,
    report: Callable[[str, int], None] | None,
    cancel: threading.Event,
) -> RestoreResult:
    async with site_client(context, plan.target_site) as target:
        origin = site_client(context, source.site) if source.site in context.config.sites else None
        try:
            if isinstance(target, JiraClient):
                work = execute_jira(
                    plan,
                    source.records,
                    target,
                    source=origin,
                    stored=source.content,
                    progress=report,
                )
            else:
                assert isinstance(target, ConfluenceClient)
                work = execute_confluence(
                    plan,
                    source.records,
                    target,
                    source=origin,
                    stored=source.content,
                    progress=report,
                )
            task = asyncio.create_task(work)
            while not task.done():
                await asyncio.wait({task}, timeout=CANCEL_POLL_SECONDS)
                if cancel.is_set() and not task.done():
                    task.cancel()  # stops within a poll even while waiting on a slow site
            if task.cancelled():
                return RestoreResult(RestoreStatus.CANCELLED, error="cancelled")
            return task.result()
        finally:
            if origin is not None:
                await origin.aclose()


def verify(context: JobContext, plan: RestorePlan, result: RestoreResult) -> list[Difference]:
    """Every difference between the restored items, read back from the target, and the
    snapshot, on what a REST restore reproduces (docs/rules.md)."""
    source = _open_for_verify(context, plan.backup_id)
    return asyncio.run(_verify(context, source, plan, result))


def _open_for_verify(context: JobContext, backup_id: str) -> _Source:
    # Verification may run after the backup expired; the snapshot is still read verified.
    with context.sessions() as session:
        backup = session.get(Backup, backup_id)
        if backup is None:
            raise RestoreRefused(f"there is no backup {backup_id}")
        site, location = backup.site.name, backup.storage_location.name
        product = backup.site.product
    store = context.open_store(context.config.storage[location], context.environment)
    return _Source(
        site, product, store, SnapshotReader(store, site, backup_id, context.manifest_key)
    )


async def _verify(
    context: JobContext, source: _Source, plan: RestorePlan, result: RestoreResult
) -> list[Difference]:
    async with site_client(context, plan.target_site) as target:
        if isinstance(target, JiraClient):
            return await verify_jira(plan, result, source.records, target)
        assert isinstance(target, ConfluenceClient)
        return await verify_confluence(plan, result, source.records, target)
