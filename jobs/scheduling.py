"""Schedules at work: planning their runs as APScheduler jobs, claiming each run's fence, and
keeping one active scheduler per database.

Our tables are the source of truth (docs/data-model.md); every job planned here is derived from
them and can be derived again at any time:
- the next run of each active schedule (`policy.schedules.next_run`);
- what a schedule is owed besides (`policy.schedules.owed_run`): a catch-up of a slot missed
  while no scheduler ran, or the retry of a failed or interrupted attempt.

**One active scheduler.** Any number of processes may serve Slack and run backups against one
database, but only the holder of the `scheduler` lease (`storage.leases`) plans and fires
schedules and runs maintenance. It renews the lease every heartbeat; the others try to take it
on the same beat, and do once it has gone unrenewed for the stale window (a dead holder), or
at once when the holder shut down cleanly and released it. A holder that cannot renew steps
down. Should two processes ever both believe they lead (a stalled holder waking up), the
fence row `(schedule, slot, attempt)` still lets only one of them run each attempt.
"""

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.exc import SQLAlchemyError

from jobs.context import JobContext
from policy.schedules import (
    AttemptOutcome,
    LastAttempt,
    OwedRun,
    RunReason,
    last_due,
    next_run,
    owed_run,
    slot_of,
)
from storage import audit, catalog, leases, restores, schedules
from storage.models import SYSTEM_ACTOR, Backup, Schedule

logger = logging.getLogger(__name__)

LEASE = "scheduler"
DAY = timedelta(days=1)
MAINTENANCE_EVERY = timedelta(minutes=5)
CATCH_UP_HORIZON = 9 * DAY  # the oldest slot a weekly schedule can still be owed, with margin
RETRY_HORIZON = 2 * DAY  # retries come within hours of their slot; older ones are the catch-up's
PLANNED = ("schedule:", "catch-up:", "retry:", "maintenance")  # the jobs only the leader keeps


def _job_id(schedule_id: str) -> str:
    return f"schedule:{schedule_id}"


def _holder_name() -> str:
    """This process, recognisably in the lease table: host, pid and a nonce (pids recur)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


class ScheduleKeeper:
    def __init__(
        self,
        context: JobContext,
        scheduler: BaseScheduler,
        *,
        run_backup: Callable[[str], None],
        maintain: Callable[[], None],
        holder: str | None = None,
    ) -> None:
        self.context = context
        self._scheduler = scheduler
        self._run_backup = run_backup
        self._maintain = maintain
        self.holder = holder or _holder_name()
        self._leading = False
        self._standing_by = False

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self) -> None:
        """Take the lease if it is free and plan everything from the tables (catch-ups
        included); then keep it, or wait for it, every heartbeat."""
        self._tick(take_over=True)
        beat = self.context.config.jobs.heartbeat_seconds
        self._scheduler.add_job(
            self._tick, trigger="interval", seconds=beat, id="scheduler-lease",
            name="scheduler lease", coalesce=True, replace_existing=True,
            next_run_time=self.context.clock() + timedelta(seconds=beat),
        )  # fmt: skip

    def stop(self) -> None:
        """Release the lease (after the scheduler stopped), so a standby takes over at once."""
        if not self._leading:
            return
        self._leading = False
        try:
            with self.context.sessions.begin() as session:
                leases.release(session, LEASE, self.holder)
        except SQLAlchemyError as error:  # it lapses on its own
            logger.warning("releasing the scheduler lease failed: %s", error)

    def _tick(self, take_over: bool = False) -> None:
        now = self.context.clock()
        ttl = self.context.config.jobs.stale_after
        try:
            with self.context.sessions.begin() as session:
                held = leases.hold(session, LEASE, self.holder, now, ttl)
        except SQLAlchemyError as error:
            logger.warning("the scheduler lease could not be renewed: %s", error)
            held = False
        if not held:
            if self._leading:
                logger.warning("another process took the scheduler lease: standing by")
                self._leading = False
                self._drop_planned()
            elif not self._standing_by:
                logger.info("another process runs the scheduler: standing by")
            self._standing_by = True
            return
        self._standing_by = False
        first = take_over or not self._leading
        if first and not self._leading:
            logger.info("this process runs the scheduler (lease holder %s)", self.holder)
        self._leading = True
        self._reconcile(now, catch_up=first)
        if first:
            self._scheduler.add_job(
                self._maintain, trigger="interval", seconds=MAINTENANCE_EVERY.total_seconds(),
                id="maintenance", name="maintenance", coalesce=True, replace_existing=True,
                next_run_time=now,
            )  # fmt: skip
            # Work a process left running just before this one started is not stale yet;
            # one more pass once it would be marks it (and the next beat plans its retry).
            self._scheduler.add_job(
                self._maintain, trigger="date", id="maintenance-after-start",
                run_date=now + self.context.config.jobs.stale_after, replace_existing=True,
            )  # fmt: skip

    def _reconcile(self, now: datetime, *, catch_up: bool) -> None:
        """Plan, from the tables, every active schedule's next run and what it is owed; drop
        the runs of schedules removed elsewhere. Catch-ups only when taking over: a slot that
        has just come due is its own planned run's, not a missed one."""
        horizon = CATCH_UP_HORIZON if catch_up else RETRY_HORIZON
        with self.context.sessions() as session:
            rows = schedules.active_schedules(session)
            plans = [(r.id, r.timezone, r.created_at, schedules.recurrence_of(r)) for r in rows]
            last = schedules.last_attempts(session, (now - horizon).date().isoformat())
        planned = {job.id for job in self._scheduler.get_jobs()}
        active = set()
        for schedule_id, zone, created_at, recurrence in plans:
            active.add(_job_id(schedule_id))
            if catch_up or _job_id(schedule_id) not in planned:
                self._plan_run(schedule_id, next_run(recurrence, now))
            due = last_due(recurrence, created_at, now) if catch_up else None
            owed = owed_run(last.get(schedule_id), slot_of(due, zone) if due else None, now)
            if owed is not None:
                self._plan_owed(schedule_id, owed, replace=catch_up)
        for job_id in planned:
            if job_id.startswith("schedule:") and job_id not in active:
                self._remove(job_id)

    def _drop_planned(self) -> None:
        for job in self._scheduler.get_jobs():
            if job.id.startswith(PLANNED):
                self._remove(job.id)

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):  # already gone: nothing to remove
            self._scheduler.remove_job(job_id)

    # --- one schedule ----------------------------------------------------------------------------

    def arm(self, schedule_id: str, after: datetime | None = None) -> datetime | None:
        """The schedule's next run after `after` (default now), planned as a job when this
        process leads (else the leader plans it on its next beat); None when it will not run
        again (removed, or once and done).

        The instant comes from `policy.schedules.next_run`, the rule the replies show, so
        what people read and what runs cannot differ (daylight-saving changes included).
        """
        with self.context.sessions() as session:
            row = session.get(Schedule, schedule_id)
            at = None
            if row is not None and row.removed_at is None:
                at = next_run(schedules.recurrence_of(row), after or self.context.clock())
        if self._leading:
            self._plan_run(schedule_id, at)
        return at

    def disarm(self, schedule_id: str) -> None:
        self._remove(_job_id(schedule_id))

    def next_run_of(self, schedule_id: str) -> datetime | None:
        """When the schedule runs next: its planned job here, else the rule the leader uses."""
        job = self._scheduler.get_job(_job_id(schedule_id))
        if job is not None:
            return job.next_run_time  # type: ignore[no-any-return]
        with self.context.sessions() as session:
            row = session.get(Schedule, schedule_id)
            if row is None or row.removed_at is not None:
                return None
            return next_run(schedules.recurrence_of(row), self.context.clock())

    def _plan_run(self, schedule_id: str, at: datetime | None) -> None:
        if at is None:
            self.disarm(schedule_id)
            return
        self._scheduler.add_job(
            self._fire, trigger="date", run_date=at, args=[schedule_id, at.isoformat()],
            id=_job_id(schedule_id), name=f"schedule {schedule_id}", replace_existing=True,
        )  # fmt: skip

    def _plan_owed(self, schedule_id: str, owed: OwedRun, *, replace: bool = True) -> None:
        job_id = f"{owed.reason}:{schedule_id}:{owed.slot}"
        if not replace and self._scheduler.get_job(job_id) is not None:
            return
        self._scheduler.add_job(
            self._attempt, trigger="date", run_date=owed.at,
            args=[schedule_id, owed.slot, owed.attempt, str(owed.reason)], id=job_id,
            name=f"{owed.reason} {schedule_id} {owed.slot} #{owed.attempt}", replace_existing=True,
        )  # fmt: skip

    def _fire(self, schedule_id: str, planned_at: str) -> None:
        """A planned run: its slot's first attempt; the next run is planned before it starts."""
        planned = datetime.fromisoformat(planned_at)
        with self.context.sessions() as session:
            row = session.get(Schedule, schedule_id)
            zone = row.timezone if row is not None else "UTC"
        slot = slot_of(planned, zone)
        backup_id = self._claim(schedule_id, slot, 1, RunReason.SCHEDULED)
        self.arm(schedule_id, after=max(planned, self.context.clock()))
        if backup_id is not None:
            self._run_backup(backup_id)

    def _attempt(self, schedule_id: str, slot: str, attempt: int, reason: str) -> None:
        backup_id = self._claim(schedule_id, slot, attempt, RunReason(reason))
        if backup_id is not None:
            self._run_backup(backup_id)

    def _claim(self, schedule_id: str, slot: str, attempt: int, reason: RunReason) -> str | None:
        """Claim the fence of (schedule, slot, attempt) and queue its backup; None when that
        attempt already ran (a second firing does nothing) or the schedule is gone. A site
        busy with another backup or a restore counts as a failed attempt, so it is retried."""
        now = self.context.clock()
        with self.context.sessions.begin() as session:
            row = session.get(Schedule, schedule_id)
            if row is None or row.removed_at is not None:
                return None
            run = schedules.claim_run(session, schedule_id, slot, attempt, now, reason=reason)
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
                session, now, actor=SYSTEM_ACTOR, action=str(reason),
                target=f"{schedule_id} {slot} attempt {attempt}", outcome=outcome[:64],
            )  # fmt: skip
        if backup_id is None:
            self._retry(schedule_id, LastAttempt(slot, attempt, AttemptOutcome.FAILED, now))
        return backup_id

    def retry_after_failure(self, backup_id: str) -> datetime | None:
        """When the failed scheduled backup `backup_id` is retried (planned here if this
        process leads, else by the leader's next beat); None for an unscheduled backup or
        a slot with no attempt left."""
        with self.context.sessions() as session:
            row = session.get_one(Backup, backup_id)
            if not row.schedule_id or not row.slot:
                return None
            failed = LastAttempt(
                row.slot, row.attempt or 1, AttemptOutcome.FAILED,
                row.finished_at or self.context.clock(),
            )  # fmt: skip
            return self._retry(row.schedule_id, failed)

    def _retry(self, schedule_id: str, failed: LastAttempt) -> datetime | None:
        owed = owed_run(failed, None, self.context.clock())
        if owed is None:
            return None
        if self._leading:
            self._plan_owed(schedule_id, owed)
        return owed.at
