"""Long work off the Slack listener threads: backups, verifies, restore previews and restores
run on APScheduler's thread pool, and tell `RunnerEvents` how they ended.

The bot acknowledges a command, asks the runner, and returns; the runner calls back when the
work ends (the bot then posts). A running backup or restore can be asked to stop (`cancel`).
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from atlassian.errors import AtlassianError
from atlassian.importer import RestoreResult
from atlassian.restore_plan import RestorePlan, RestoreScope, ScopeNotFound
from atlassian.restore_verify import Difference
from jobs import backup, maintenance, restore, restore_job
from jobs.context import JobContext
from jobs.verify import UnknownBackup, verify_backup
from policy.restore import RestoreRefused
from policy.schedules import last_due, next_run, slot_of
from policy.statuses import BackupStatus, RestoreStatus
from storage import audit, catalog, restore_requests, restores, schedules
from storage.artifacts import StorageError
from storage.models import SYSTEM_ACTOR, Backup, RestoreRequest, Schedule
from storage.restores import RestoreAlreadyActive
from storage.snapshot import SnapshotError, VerifyReport

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
RETRY_AFTER = timedelta(minutes=30)  # a failed scheduled backup is retried [Atlassian]
MAX_ATTEMPTS = 4  # the slot's first run and three retries
MAINTENANCE_EVERY = timedelta(minutes=5)
DAY = timedelta(days=1)
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


def _job_id(schedule_id: str) -> str:
    return f"schedule:{schedule_id}"


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

    @property
    def scheduler(self) -> BackgroundScheduler:
        return self._scheduler

    def start(self) -> None:
        """Start the pool, plan every active schedule's next run and any missed slot's
        catch-up from our tables (two queries, however many schedules), and the maintenance."""
        if not self._scheduler.running:
            self._scheduler.start()
        now = self.context.clock()
        with self.context.sessions() as session:
            rows = schedules.active_schedules(session)
            plans = [(r.id, r.timezone, r.created_at, schedules.recurrence_of(r)) for r in rows]
            ran = schedules.slots_run_since(session, (now - 9 * DAY).date().isoformat())
        for schedule_id, zone, created_at, recurrence in plans:
            self._plan_run(schedule_id, next_run(recurrence, now))
            due = last_due(recurrence, created_at, now)
            if due is not None and (schedule_id, slot_of(due, zone)) not in ran:
                self._scheduler.add_job(
                    self._catch_up, args=[schedule_id, slot_of(due, zone)],
                    name=f"catch-up {schedule_id}",
                )  # fmt: skip
        self._scheduler.add_job(
            self._maintain, trigger="interval", seconds=MAINTENANCE_EVERY.total_seconds(),
            id="maintenance", name="maintenance", replace_existing=True, next_run_time=now,
        )  # fmt: skip

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            with self._lock:
                for event in self._cancels.values():
                    event.set()
            self._scheduler.shutdown(wait=wait)

    def _submit(self, name: str, work: Callable[..., None], *args: Any) -> None:
        self._scheduler.add_job(work, args=list(args), name=name)

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

    # --- schedules ----------------------------------------------------------------------------

    def arm(self, schedule_id: str, after: datetime | None = None) -> datetime | None:
        """Plan the schedule's next run after `after` (default now) as a job of its own;
        returns that instant, None when it will not run again (removed, or once and done).

        The instant comes from `policy.schedules.next_run`, the rule the replies show, so
        what people read and what runs cannot differ (daylight-saving changes included).
        """
        with self.context.sessions() as session:
            row = session.get(Schedule, schedule_id)
            at = None
            if row is not None and row.removed_at is None:
                at = next_run(schedules.recurrence_of(row), after or self.context.clock())
        return self._plan_run(schedule_id, at)

    def _plan_run(self, schedule_id: str, at: datetime | None) -> datetime | None:
        if at is None:
            self.disarm(schedule_id)
            return None
        self._scheduler.add_job(
            self._fire, trigger="date", run_date=at, args=[schedule_id, at.isoformat()],
            id=_job_id(schedule_id), name=f"schedule {schedule_id}", replace_existing=True,
        )  # fmt: skip
        return at

    def disarm(self, schedule_id: str) -> None:
        with contextlib.suppress(JobLookupError):  # not planned: nothing to remove
            self._scheduler.remove_job(_job_id(schedule_id))

    def next_run_of(self, schedule_id: str) -> datetime | None:
        job = self._scheduler.get_job(_job_id(schedule_id))
        return job.next_run_time if job is not None else None

    def _fire(self, schedule_id: str, planned_at: str) -> None:
        """A planned run: its slot's first attempt, then the next run is planned."""
        planned = datetime.fromisoformat(planned_at)
        with self.context.sessions() as session:
            row = session.get(Schedule, schedule_id)
            zone = row.timezone if row is not None else "UTC"
        backup_id = self._claim(schedule_id, slot_of(planned, zone), 1, "scheduled run")
        self.arm(schedule_id, after=max(planned, self.context.clock()))
        if backup_id is not None:
            self._backup(backup_id)

    def _retry(self, schedule_id: str, slot: str, attempt: int) -> None:
        backup_id = self._claim(schedule_id, slot, attempt, "retry")
        if backup_id is not None:
            self._backup(backup_id)

    def _catch_up(self, schedule_id: str, slot: str) -> None:
        backup_id = self._claim(schedule_id, slot, 1, "catch-up")
        if backup_id is not None:
            self._backup(backup_id)

    def _claim(self, schedule_id: str, slot: str, attempt: int, what: str) -> str | None:
        """Claim the fence of (schedule, slot, attempt) and queue its backup; None when that
        attempt already ran (a second firing does nothing) or the schedule is gone. A site
        busy with another backup counts as a failed attempt, so it is retried."""
        now = self.context.clock()
        with self.context.sessions.begin() as session:
            row = session.get(Schedule, schedule_id)
            if row is None or row.removed_at is not None:
                return None
            run = schedules.claim_run(session, schedule_id, slot, attempt, now)
            if run is None:
                return None
            site, location = row.site.name, row.storage_location.name
            backup_id = None
            restoring = restores.active_restore_into(session, site)
            try:
                if restoring is not None:
                    raise catalog.SiteBeingRestored(site, restoring.id)
                queued = catalog.queue_backup(
                    session, site, location, now, None, schedule=(schedule_id, slot, attempt)
                )
                run.backup_id = backup_id = queued.id
                outcome = "queued"
            except (catalog.BackupAlreadyActive, catalog.SiteBeingRestored) as busy:
                outcome = f"skipped: {busy}"
            audit.record(
                session, now, actor=SYSTEM_ACTOR, action=what,
                target=f"{schedule_id} {slot} attempt {attempt}", outcome=outcome[:64],
            )  # fmt: skip
        if backup_id is None and attempt < MAX_ATTEMPTS:
            self._plan_retry(schedule_id, slot, attempt + 1)
        return backup_id

    def _maintain(self) -> None:
        """The maintenance pass; a scheduled backup a dead process left behind gets its retry."""
        report = maintenance.sweep(self.context)
        with self.context.sessions() as session:
            stranded = [
                (b.schedule_id, b.slot, b.attempt or 1)
                for b in session.scalars(select(Backup).where(Backup.id.in_(report.interrupted)))
                if b.schedule_id and b.slot
            ]
        for schedule_id, slot, attempt in stranded:
            if attempt < MAX_ATTEMPTS:
                self._plan_retry(schedule_id, slot, attempt + 1)
        self.events.swept(report)

    def _plan_retry(self, schedule_id: str, slot: str, attempt: int) -> datetime:
        at = self.context.clock() + RETRY_AFTER
        self._scheduler.add_job(
            self._retry, trigger="date", run_date=at, args=[schedule_id, slot, attempt],
            id=f"retry:{schedule_id}:{slot}", name=f"retry {schedule_id} {slot} #{attempt}",
            replace_existing=True,
        )  # fmt: skip
        return at

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
            with self.context.sessions() as session:
                row = session.get_one(Backup, backup_id)
                fence = (row.schedule_id, row.slot, row.attempt or 1)
            if fence[0] and fence[1] and fence[2] < MAX_ATTEMPTS:
                retry_at = self._plan_retry(fence[0], fence[1], fence[2] + 1)
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
