"""Running one backup: read the site through Atlassian's APIs, write a signed snapshot to the
storage location, and record how it went.

`queue` creates the `Queued` row (the database refuses a second active backup of a site);
`run` takes it through `In Progress` to `Completed`, `Incomplete` (some items failed after
retries: the manifest lists them), `Failed` or `Cancelled`. A failed or cancelled run leaves no
manifest, so nothing half-written is ever taken for a backup.
"""

import asyncio
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.errors import AtlassianError
from atlassian_cloud.export import ExportSummary, export_confluence, export_jira, fetch_attachment
from atlassian_cloud.jira import JiraClient
from atlassian_cloud.records import JSONObject
from atlassian_cloud.transport import SiteClient
from jobs.context import JobContext, site_client
from jobs.heartbeat import Heartbeat
from policy.statuses import BackupStatus
from settings.errors import ConfigError
from settings.schema import AttachmentPolicy
from settings.schema import Site as SiteConfig
from storage import catalog, restores
from storage.artifacts import ArtifactStore, StorageError
from storage.models import Backup
from storage.snapshot import (
    SnapshotError,
    SnapshotMetadata,
    SnapshotReader,
    SnapshotWriter,
    has_attachment_content,
    put_attachment_content,
)

logger = logging.getLogger(__name__)

RECORDS_PER_WRITE = 256  # records handed to the writer thread at once
ATTACHMENT_DOWNLOADS = 4  # attachment contents fetched at once in `attachments: copy` mode
CANCEL_POLL_SECONDS = 0.2
PROGRESS_INTERVAL = 0.2  # seconds between progress reports within one phase
SPOOL_IN_MEMORY = 8 << 20  # an attachment larger than this is spooled to disk while stored


@dataclass(frozen=True)
class Progress:
    backup_id: str
    phase: str  # the entity being read, e.g. "issues", "pages"
    items_done: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class BackupResult:
    backup_id: str
    status: BackupStatus
    item_counts: dict[str, int] = field(default_factory=dict)
    failed_items: int = 0
    data_bytes: int = 0
    attachment_bytes: int = 0
    error: str | None = None
    first_failures: tuple[str, ...] = ()  # "entity id: reason" of the first items that failed


FAILURES_SHOWN = 5


class BackupCancelled(Exception):
    """The run was asked to stop."""


def queue(context: JobContext, site: str, storage: str | None, requested_by: str | None) -> Backup:
    """A `Queued` backup of `site` into `storage` (default: the site's configured storage).

    Raises catalog.BackupAlreadyActive when the site already has one queued or running, and
    catalog.SiteBeingRestored while a restore into it is under way (a backup taken then would
    hold a half-restored site).
    """
    site_config = context.config.sites[site]
    location = storage or site_config.storage
    now = context.clock()
    with context.sessions.begin() as session:
        restoring = restores.active_restore_into(session, site)
        if restoring is not None:
            raise catalog.SiteBeingRestored(site, restoring.id)
        catalog.sync_configuration(session, context.config, now)
        return catalog.queue_backup(session, site, location, now, requested_by)


def run(
    context: JobContext,
    backup_id: str,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> BackupResult:
    """Take a queued backup to its end; never raises for a failure of the site or the storage."""
    with context.sessions.begin() as session:
        backup = session.get(Backup, backup_id)
        if backup is None or backup.status is not BackupStatus.QUEUED:
            raise ValueError(f"{backup_id} is not a queued backup")
        catalog.start_backup(session, backup, context.clock())
        site_name, location_name = backup.site.name, backup.storage_location.name
        created_at, expires_at = backup.created_at, backup.expires_at
    site = context.config.sites[site_name]
    location = context.config.storage[location_name]
    metadata = SnapshotMetadata(
        product=site.product,
        created_at=created_at,
        expires_at=expires_at,
        attachments=location.attachments,
    )
    try:
        with Heartbeat(context, backup_id):
            result = _Run(
                context,
                backup_id,
                site_name=site_name,
                location_name=location_name,
                progress=progress,
                cancel=cancel or threading.Event(),
            ).execute(metadata)
    except BackupCancelled:
        result = BackupResult(backup_id, BackupStatus.CANCELLED, error="cancelled")
    except (AtlassianError, StorageError, SnapshotError, ConfigError, OSError) as error:
        logger.warning("backup %s of %s failed: %s", backup_id, site_name, error)
        result = BackupResult(backup_id, BackupStatus.FAILED, error=str(error))
    except Exception as error:
        # A bug, not the site or the storage: the row must still end, and the log has the rest.
        logger.exception("backup %s of %s failed unexpectedly", backup_id, site_name)
        reason = f"unexpected error ({type(error).__name__}); the bot's log has the details"
        result = BackupResult(backup_id, BackupStatus.FAILED, error=reason)
    with context.sessions.begin() as session:
        backup = session.get_one(Backup, backup_id)
        catalog.finish_backup(
            session,
            backup,
            context.clock(),
            status=result.status,
            data_bytes=result.data_bytes if result.status.holds_data else None,
            attachment_bytes=result.attachment_bytes if result.status.holds_data else None,
            item_counts=result.item_counts or None,
            error=result.error,
        )
    return result


class _Run:
    """One backup's moving parts; `execute` runs the export on an event loop of its own."""

    def __init__(
        self,
        context: JobContext,
        backup_id: str,
        *,
        site_name: str,
        location_name: str,
        progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> None:
        self.context = context
        self.backup_id = backup_id
        self.site_name = site_name
        self.site: SiteConfig = context.config.sites[site_name]
        self.location_name = location_name
        location = context.config.storage[location_name]
        self.store: ArtifactStore = context.open_store(location, context.environment)
        self.attachments = location.attachments
        self.progress = progress
        self.cancel = cancel

    def execute(self, metadata: SnapshotMetadata) -> BackupResult:
        writer = SnapshotWriter(
            self.store, self.site_name, self.backup_id, self.context.manifest_key
        )
        with writer:  # any exception aborts the snapshot: no manifest, no backup
            known = (
                self._previous_attachment_content()
                if self.attachments is AttachmentPolicy.COPY
                else None
            )
            sink = _Sink(self, writer, known)
            summary = asyncio.run(self._export(sink))
            manifest = writer.finish(
                SnapshotMetadata(
                    product=metadata.product,
                    created_at=metadata.created_at,
                    expires_at=metadata.expires_at,
                    attachments=metadata.attachments,
                    attachment_bytes=sink.attachment_bytes,
                )
            )
        return BackupResult(
            self.backup_id,
            manifest.status,
            item_counts=dict(manifest.item_counts),
            failed_items=summary.failures,
            data_bytes=manifest.data_bytes,
            attachment_bytes=manifest.attachment_bytes,
            first_failures=tuple(
                f"{f.entity} {f.id}: {f.reason}" for f in manifest.failed_items[:FAILURES_SHOWN]
            ),
        )

    def client(self) -> SiteClient:
        return site_client(self.context, self.site_name)

    async def _export(self, sink: "_Sink") -> ExportSummary:
        try:
            return await self._export_into(sink)
        finally:
            sink.close()

    async def _export_into(self, sink: "_Sink") -> ExportSummary:
        async with sink.client:
            client = sink.client
            if isinstance(client, JiraClient):
                work = export_jira(client, sink.put, sink.on_progress, sink.on_failed)
            else:
                assert isinstance(client, ConfluenceClient)
                work = export_confluence(client, sink.put, sink.on_progress, sink.on_failed)
            task = asyncio.create_task(work)
            while not task.done():
                await asyncio.wait({task}, timeout=CANCEL_POLL_SECONDS)
                if self.cancel.is_set() and not task.done():
                    task.cancel()  # stops within a poll even while waiting on a slow site
            if task.cancelled():
                raise BackupCancelled
            summary = task.result()
            await sink.drain()
        return summary

    def _previous_attachment_content(self) -> dict[tuple[str, Any], str]:
        """Attachment id and size -> SHA-256 from the newest earlier backup in this location.

        Attachments do not change under an id, so content an earlier backup stored is not
        downloaded again; the map holds one short entry per attachment, never any content.
        """
        with self.context.sessions() as session:
            previous = catalog.latest_backup_with_data(
                session, self.site_name, self.location_name, exclude=self.backup_id
            )
        if previous is None:
            return {}
        try:
            reader = SnapshotReader(self.store, self.site_name, previous, self.context.manifest_key)
            if "attachments" not in reader.entities:
                return {}
            return {
                (str(r.get("id")), r.get("size")): r["sha256"]
                for r in reader.records("attachments")
                if isinstance(r.get("sha256"), str)
            }
        except (StorageError, SnapshotError) as error:
            logger.warning("not reusing attachments of %s: %s", previous, error)
            return {}


class _Sink:
    """Receives the export's records (never concurrently) and feeds the snapshot writer.

    Records are handed to the writer in batches on a worker thread, so compressing and
    uploading chunks never stalls the requests in flight. In `attachments: copy` mode each
    attachment's content is stored first and its reference then carries the content's SHA-256.
    """

    def __init__(
        self, run: _Run, writer: SnapshotWriter, known_content: dict[tuple[str, Any], str] | None
    ) -> None:
        self.run = run
        self.writer = writer
        self.client = run.client()
        self.known_content = known_content  # None: attachments are kept by reference only
        self.attachment_bytes = 0
        self.items_done = 0
        self._buffers: dict[str, list[JSONObject]] = {}
        self._write_lock = asyncio.Lock()
        # One thread of its own for the writer, not asyncio's shared pool: each pool thread
        # gets a malloc arena, and the writer's buffers spread over several fragment memory
        # (peak RSS of a 100,000-issue backup, bench/backup_throughput.py --rss).
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="snapshot-writer")
        self._downloads = asyncio.Semaphore(ATTACHMENT_DOWNLOADS)
        self._pending: set[asyncio.Task[None]] = set()
        self._last_phase = ""
        self._next_progress = 0.0

    async def put(self, entity: str, record: JSONObject) -> None:
        if self.run.cancel.is_set():
            raise BackupCancelled
        if entity == "attachments":
            size = record.get("size")
            self.attachment_bytes += size if isinstance(size, int) else 0
            if self.known_content is not None and record.get("contentUrl"):
                task = asyncio.create_task(self._copy_then_add(record))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
                return
        await self._add(entity, record)

    def on_progress(self, phase: str, _: int) -> None:
        # The export reports every record; people and Slack need a few updates a second.
        now = time.monotonic()
        if self.run.progress and (phase != self._last_phase or now >= self._next_progress):
            self._last_phase, self._next_progress = phase, now + PROGRESS_INTERVAL
            self.run.progress(Progress(self.run.backup_id, phase, self.items_done))

    def on_failed(self, entity: str, item_id: str, reason: str) -> None:
        self.writer.add_failure(entity, item_id, reason)

    def close(self) -> None:
        """Stop the writer's thread (after any write in hand)."""
        self._writer_thread.shutdown(wait=True)

    async def drain(self) -> None:
        """Wait for attachment copies still running, then hand every buffered record over."""
        if self._pending:
            await asyncio.gather(*self._pending)
        for entity in list(self._buffers):
            await self._flush(entity)

    async def _add(self, entity: str, record: JSONObject) -> None:
        buffer = self._buffers.setdefault(entity, [])
        buffer.append(record)
        self.items_done += 1
        if len(buffer) >= RECORDS_PER_WRITE:
            await self._flush(entity)

    async def _flush(self, entity: str) -> None:
        batch = self._buffers.pop(entity, [])
        if batch:
            async with self._write_lock:  # the writer is fed from one thread at a time
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(
                    self._writer_thread, self.writer.write_many, entity, batch
                )

    async def _copy_then_add(self, reference: JSONObject) -> None:
        async with self._downloads:
            try:
                sha256: str | None = await self._store_content(reference)
            except AtlassianError as error:
                self.writer.add_failure("attachments", str(reference.get("id")), str(error))
                sha256 = None
        await self._add("attachments", {**reference, "sha256": sha256} if sha256 else reference)

    async def _store_content(self, reference: JSONObject) -> str:
        """Store an attachment's bytes content-addressed; an earlier backup's copy is reused."""
        store, site = self.run.store, self.run.site_name
        known = (self.known_content or {}).get((str(reference.get("id")), reference.get("size")))
        if known is not None and await asyncio.to_thread(
            has_attachment_content, store, site, known
        ):
            return known
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            async for block in fetch_attachment(self.client, reference):
                spool.write(block)
            spool.seek(0)
            stored = await asyncio.to_thread(
                put_attachment_content, store, site, cast(BinaryIO, spool)
            )
        return stored.sha256
