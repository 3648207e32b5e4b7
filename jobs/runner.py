"""Long work off the Slack listener threads: backups, verifies, restore previews and restores
run on APScheduler's thread pool, and tell `RunnerEvents` how they ended.

The bot acknowledges a command, asks the runner, and returns; the runner calls back when the
work ends (the bot then posts). A running backup or restore can be asked to stop (`cancel`).
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from atlassian_cloud.errors import AtlassianError
from atlassian_cloud.importer import RestoreResult
from atlassian_cloud.restore_plan import RestorePlan, RestoreScope, ScopeNotFound
from atlassian_cloud.restore_verify import Difference
from jobs import backup, maintenance, restore, restore_job
from jobs.context import JobContext
from jobs.scheduling import ScheduleKeeper
from jobs.verify import UnknownBackup, verify_backup
from policy.restore import RestoreRefused
from policy.statuses import BackupStatus, RestoreStatus
from storage import audit, restore_requests
from storage.artifacts import StorageError
from storage.models import SYSTEM_ACTOR, RestoreRequest
from storage.restores import RestoreAlreadyActive
from storage.snapshot import SnapshotError, VerifyReport

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
PROGRESS_EVERY = 10.0  # seconds between restore progress reports


@dataclass(frozen=True)
class Preview:
    """A restore plan as shown to people: the plan's own summary plus the RTO estimates."""

    plan: RestorePlan
    estimates: restore_job.Estimates

    def summary(self) -> dict[str, Any]:
        return {
            **self.plan.summary(),
            "reference": self.estimates.reference.describe(),
            "estimate": self.estimates.own.describe(),
        }


@dataclass(frozen=True)
class RestoreOutcome:
    request_id: str
    plan: RestorePlan | None
    result: RestoreResult | None
    differences: list[Difference] = field(default_factory=list)
    error: str | None = None  # the restore could not start: why

    @property
    def status(self) -> RestoreStatus:
        if self.result is not None:
            return self.result.status
        return RestoreStatus.FAILED


class RunnerEvents(Protocol):
    """What the runner reports; the bot renders and posts it. Called on worker threads."""

    def backup_finished(self, result: backup.BackupResult, retry_at: datetime | None) -> None: ...

    def verify_finished(
        self, backup_id: str, report: VerifyReport | None, error: str | None, reply: Any
    ) -> None: ...

    def preview_ready(
        self, request_id: str | None, preview: Preview | None, error: str | None, reply: Any
    ) -> None: ...

    def restore_progress(self, request_id: str, progress: restore.Progress) -> None: ...

    def restore_finished(self, outcome: RestoreOutcome) -> None: ...

    def swept(self, report: maintenance.SweepReport) -> None: ...


def scope_of(text: str | None) -> RestoreScope:
    """A request's stored scope (`project:KEY`, ... or None) as the planner's RestoreScope."""
    if not text:
        return RestoreScope()
    kind, _, key = text.partition(":")
    return RestoreScope(kind, key)


class JobRunner:
    def __init__(
        self, context: JobContext, events: RunnerEvents, *, workers: int = DEFAULT_WORKERS
    ) -> None:
        self.context = context
        self.events = events
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": False, "max_instances": 1, "misfire_grace_time": None},
            timezone=context.config.timezone,
        )
        self._cancels: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.schedules = ScheduleKeeper(
            context, self._scheduler, run_backup=self._backup, maintain=self._maintain
        )

    @property
    def scheduler(self) -> BackgroundScheduler:
        return self._scheduler

    def start(self) -> None:
        """Start the pool; the schedules (with maintenance) are planned here when this process
        holds the scheduler lease, else kept in reserve until it can take it (`ScheduleKeeper`)."""
        if not self._scheduler.running:
            self._scheduler.start()
        self.schedules.start()

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            with self._lock:
                for event in self._cancels.values():
                    event.set()
            self._scheduler.shutdown(wait=wait)
        self.schedules.stop()

    def _submit(self, name: str, work: Callable[..., None], *args: Any) -> None:
        # Dated by our clock, like everything the runner plans, so a test can move time.
        run_date = self.context.clock()
        self._scheduler.add_job(work, trigger="date", run_date=run_date, args=list(args), name=name)

    # --- what the bot asks for -----------------------------------------------------------------

    def backup(self, backup_id: str) -> None:
        """Run the queued backup `backup_id` now."""
        self._submit(f"backup {backup_id}", self._backup, backup_id)

    def verify(self, backup_id: str, reply: Any = None) -> None:
        self._submit(f"verify {backup_id}", self._verify, backup_id, reply)

    def prepare_request(self, request_id: str) -> None:
        """Plan the pending request's restore, keep the preview on it, and report it."""
        self._submit(f"preview {request_id}", self._prepare, request_id)

    def preview(
        self, backup_id: str, target: str | None, scope: RestoreScope, reply: Any = None
    ) -> None:
        """A preview only (`restore ... preview`): nothing is stored or changed."""
        self._submit(f"preview {backup_id}", self._preview_only, backup_id, target, scope, reply)

    def restore(self, request_id: str) -> None:
        """Run the approved request's restore (its plan is made again: the target may have
        changed since the preview)."""
        self._submit(f"restore {request_id}", self._restore, request_id)

    def _maintain(self) -> None:
        """The maintenance pass (`jobs.maintenance`); what it found is reported. Scheduled runs
        it marked interrupted are retried from the tables on the scheduler's next beat."""
        self.events.swept(maintenance.sweep(self.context))

    def cancel(self, job_id: str) -> bool:
        """Ask a running backup or restore to stop; False when none is running."""
        with self._lock:
            event = self._cancels.get(job_id)
        if event is None:
            return False
        event.set()
        return True

    def is_running(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._cancels

    # --- the work ------------------------------------------------------------------------------

    def _cancel_event(self, job_id: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._cancels[job_id] = event
        return event

    def _done(self, job_id: str) -> None:
        with self._lock:
            self._cancels.pop(job_id, None)

    def _backup(self, backup_id: str) -> None:
        cancel = self._cancel_event(backup_id)
        try:
            result = backup.run(self.context, backup_id, cancel=cancel)
        except ValueError as error:  # no longer queued: cancelled before it started
            logger.info("backup %s not run: %s", backup_id, error)
            return
        finally:
            self._done(backup_id)
        retry_at = None
        if result.status is BackupStatus.FAILED:
            retry_at = self.schedules.retry_after_failure(backup_id)
        self.events.backup_finished(result, retry_at)

    def _verify(self, backup_id: str, reply: Any) -> None:
        try:
            report = verify_backup(self.context, backup_id)
        except (UnknownBackup, StorageError, SnapshotError) as error:
            self.events.verify_finished(backup_id, None, str(error), reply)
            return
        self.events.verify_finished(backup_id, report, None, reply)

    def _plan(self, backup_id: str, target: str | None, scope: RestoreScope) -> Preview:
        plan = restore.preview(self.context, backup_id, target=target, scope=scope)
        return Preview(plan, restore_job.estimates(self.context, plan))

    def _prepare(self, request_id: str) -> None:
        with self.context.sessions() as session:
            request = session.get_one(RestoreRequest, request_id)
            backup_id, target = request.backup_id, request.target_site.name
            scope = scope_of(request.scope)
        try:
            preview = self._plan(backup_id, target, scope)
        except (RestoreRefused, ScopeNotFound, AtlassianError, StorageError) as error:
            self.events.preview_ready(request_id, None, str(error), None)
            return
        with self.context.sessions.begin() as session:
            request = session.get_one(RestoreRequest, request_id)
            restore_requests.attach_preview(request, preview.summary())
        self.events.preview_ready(request_id, preview, None, None)

    def _preview_only(
        self, backup_id: str, target: str | None, scope: RestoreScope, reply: Any
    ) -> None:
        try:
            preview = self._plan(backup_id, target, scope)
        except (RestoreRefused, ScopeNotFound, AtlassianError, StorageError) as error:
            self.events.preview_ready(None, None, str(error), reply)
            return
        self.events.preview_ready(None, preview, None, reply)

    def _restore(self, request_id: str) -> None:
        with self.context.sessions() as session:
            request = session.get_one(RestoreRequest, request_id)
            backup_id, target = request.backup_id, request.target_site.name
            scope = scope_of(request.scope)
            requested_by, approved_by = request.requested_by, request.approver
        cancel = self._cancel_event(request_id)
        try:
            outcome = self._run_restore(
                request_id, backup_id, target=target, scope=scope,
                people=(requested_by, approved_by), cancel=cancel,
            )  # fmt: skip
        finally:
            self._done(request_id)
        with self.context.sessions.begin() as session:
            audit.record(
                session,
                self.context.clock(),
                actor=SYSTEM_ACTOR,
                action="restore",
                target=request_id,
                outcome=str(outcome.status),
                detail={"error": outcome.error} if outcome.error else None,
            )
        self.events.restore_finished(outcome)

    def _run_restore(
        self,
        request_id: str,
        backup_id: str,
        *,
        target: str,
        scope: RestoreScope,
        people: tuple[str, str | None],  # requested by, approved by
        cancel: threading.Event,
    ) -> RestoreOutcome:
        requested_by, approved_by = people
        try:
            plan = restore.preview(self.context, backup_id, target=target, scope=scope)
            restore_job.queue(
                self.context,
                plan,
                requested_by=requested_by,
                approved_by=approved_by,
                restore_id=request_id,
            )
        except (RestoreRefused, ScopeNotFound, AtlassianError, StorageError) as error:
            return RestoreOutcome(request_id, None, None, error=str(error))
        except RestoreAlreadyActive as error:
            return RestoreOutcome(request_id, None, None, error=str(error))
        last = [0.0]

        def progress(step: restore.Progress) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY:
                last[0] = now
                self.events.restore_progress(request_id, step)

        result = restore_job.execute(self.context, request_id, plan, progress, cancel)
        differences: list[Difference] = []
        if result.status in (RestoreStatus.COMPLETED, RestoreStatus.INCOMPLETE):
            differences = restore.verify(self.context, plan, result)
        return RestoreOutcome(request_id, plan, result, differences)
