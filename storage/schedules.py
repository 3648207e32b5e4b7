"""Schedule rows (the source of truth; APScheduler's jobs are derived from them) and the fence
each scheduled run claims first (docs/data-model.md)."""

from collections.abc import Sequence
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policy.frequency import Frequency
from policy.identifiers import IdKind
from policy.schedules import AttemptOutcome, LastAttempt, Recurrence, RunReason
from policy.statuses import BackupStatus
from storage.catalog import INTERRUPTED, location_row, site_row
from storage.ids import new_id
from storage.models import Backup, Schedule, ScheduleRun, Site


def recurrence_of(schedule: Schedule) -> Recurrence:
    hour, minute = map(int, schedule.at_time.split(":"))
    return Recurrence(
        schedule.frequency, time(hour, minute), schedule.timezone, schedule.on_date,
        schedule.weekday,
    )  # fmt: skip


def create_schedule(
    session: Session,
    now: datetime,
    *,
    site: str,
    storage: str,
    frequency: Frequency,
    at: time,
    zone: str,
    on: date | None,
    weekday: int | None,
    created_by: str,
) -> Schedule:
    schedule = Schedule(
        id=new_id(IdKind.SCHEDULE),
        site_id=site_row(session, site).id,
        frequency=frequency,
        at_time=at.strftime("%H:%M"),
        on_date=on,
        weekday=weekday,
        timezone=zone,
        storage_location_id=location_row(session, storage).id,
        created_by=created_by,
        created_at=now,
    )
    session.add(schedule)
    session.flush()
    return schedule


def active_schedules(session: Session, site: str | None = None) -> Sequence[Schedule]:
    query = select(Schedule).join(Site).where(Schedule.removed_at.is_(None))
    if site is not None:
        query = query.where(Site.name == site)
    return session.scalars(query.order_by(Site.name, Schedule.created_at)).all()


def last_attempts(session: Session, first_slot: str) -> dict[str, LastAttempt]:
    """Each schedule's newest attempt claimed from `first_slot` (a local date) on, by id."""
    query = (
        select(
            ScheduleRun.schedule_id, ScheduleRun.slot, ScheduleRun.attempt,
            ScheduleRun.created_at, Backup.status, Backup.error, Backup.finished_at,
        )
        .outerjoin(Backup, ScheduleRun.backup_id == Backup.id)
        .where(ScheduleRun.slot >= first_slot)
        .order_by(ScheduleRun.slot, ScheduleRun.attempt)
    )  # fmt: skip
    newest: dict[str, LastAttempt] = {}
    for schedule_id, slot, attempt, claimed, status, error, finished in session.execute(query):
        newest[schedule_id] = LastAttempt(  # later rows win
            slot, attempt, _outcome(status, error), finished or claimed
        )
    return newest


def _outcome(status: BackupStatus | None, error: str | None) -> AttemptOutcome:
    if status is None:  # claimed, but the site was busy: no backup was made
        return AttemptOutcome.FAILED
    if status in (BackupStatus.QUEUED, BackupStatus.IN_PROGRESS):
        return AttemptOutcome.RUNNING
    if status is BackupStatus.FAILED:
        return AttemptOutcome.INTERRUPTED if error == INTERRUPTED else AttemptOutcome.FAILED
    return AttemptOutcome.DONE


def claim_run(
    session: Session,
    schedule_id: str,
    slot: str,
    attempt: int,
    now: datetime,
    *,
    reason: RunReason = RunReason.SCHEDULED,
) -> ScheduleRun | None:
    """Insert the run's fence row; None when that slot and attempt already ran (a second
    firing, in this process or another, does nothing)."""
    run = ScheduleRun(
        schedule_id=schedule_id, slot=slot, attempt=attempt, created_at=now, reason=reason
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        return None
    return run
