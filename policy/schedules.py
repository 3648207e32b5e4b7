"""When a schedule runs, and whether a daily one is allowed (docs/rules.md and docs/data-model.md).

A run is identified by its slot: the local date in the schedule's time zone. Each local date
gives exactly one instant, so the hour repeated when clocks go back never runs twice (the first
of the two is taken) and the hour skipped when they go forward is never lost (a time inside the
gap runs at the same clock reading after the change, an hour later in real time).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from policy.frequency import Frequency
from policy.objectives import reference_objectives
from policy.products import Product
from policy.retention import require_aware

DAY = timedelta(days=1)


class RunReason(StrEnum):
    """Why a slot's attempt ran; notices and `status` say it."""

    SCHEDULED = "scheduled"  # at the slot's own time
    CATCH_UP = "catch-up"  # at start-up, for a slot missed while no scheduler ran
    RETRY = "retry"  # a later attempt after a failed or interrupted one


@dataclass(frozen=True)
class Recurrence:
    frequency: Frequency
    at: time
    zone: str  # IANA name
    on: date | None = None  # once: the day
    weekday: int | None = None  # weekly: 0 Monday .. 6 Sunday


def local_instant(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of `at` on `day` in `zone` (the earlier one when the hour repeats)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).replace(fold=0).astimezone(UTC)


def slot_of(instant: datetime, zone: str) -> str:
    """The slot (local date, `YYYY-MM-DD`) a run at `instant` belongs to."""
    return require_aware(instant, "instant").astimezone(ZoneInfo(zone)).date().isoformat()


def next_run(recurrence: Recurrence, after: datetime) -> datetime | None:
    """The first run strictly after `after`, as a UTC instant; None when a once schedule has
    already run."""
    after = require_aware(after, "after")
    if recurrence.frequency is Frequency.ONCE:
        if recurrence.on is None:
            raise ValueError("a once schedule needs its day")
        instant = local_instant(recurrence.on, recurrence.at, recurrence.zone)
        return instant if instant > after else None
    day = after.astimezone(ZoneInfo(recurrence.zone)).date() - DAY
    for _ in range(9):
        weekly = recurrence.frequency is Frequency.WEEKLY
        if not weekly or day.weekday() == recurrence.weekday:
            instant = local_instant(day, recurrence.at, recurrence.zone)
            if instant > after:
                return instant
        day += DAY
    raise AssertionError("a daily or weekly schedule always runs within eight days")


def last_due(recurrence: Recurrence, since: datetime, now: datetime) -> datetime | None:
    """The newest run due at or before `now` and after `since` (the schedule's creation);
    None when none is."""
    due, moment = None, max(require_aware(since, "since"), now - 8 * DAY)
    while (upcoming := next_run(recurrence, moment)) is not None and upcoming <= now:
        due = moment = upcoming
    return due


RETRY_AFTER = timedelta(minutes=30)  # a failed scheduled backup is retried [Atlassian]
MAX_ATTEMPTS = 4  # a slot's first run and three retries


class AttemptOutcome(StrEnum):
    RUNNING = "running"  # queued or in progress
    DONE = "done"  # completed, incomplete, or cancelled by a person: nothing more is owed
    FAILED = "failed"  # failed, or skipped because the site was busy
    INTERRUPTED = "interrupted"  # the process running it died


@dataclass(frozen=True)
class LastAttempt:
    """A schedule's newest claimed attempt, as the tables record it."""

    slot: str
    attempt: int
    outcome: AttemptOutcome
    ended_at: datetime  # when it ended; when it was claimed if it never started


@dataclass(frozen=True)
class OwedRun:
    slot: str
    attempt: int
    at: datetime
    reason: RunReason


def owed_run(last: LastAttempt | None, due_slot: str | None, now: datetime) -> OwedRun | None:
    """What a schedule is owed besides its next planned run, from our tables alone.

    - `due_slot` (its newest slot due by now) never claimed: one catch-up, at once, however
      many slots were missed (older missed slots are not run: a backup now covers them).
    - Else its newest attempt failed with attempts left: the next attempt, 30 minutes after
      the failure; at once after an interruption, which was our process's fault, not the
      site's.
    """
    if due_slot is not None and (last is None or last.slot < due_slot):
        return OwedRun(due_slot, 1, now, RunReason.CATCH_UP)
    if last is None or last.attempt >= MAX_ATTEMPTS:
        return None
    if last.outcome is AttemptOutcome.INTERRUPTED:
        return OwedRun(last.slot, last.attempt + 1, now, RunReason.RETRY)
    if last.outcome is AttemptOutcome.FAILED:
        return OwedRun(last.slot, last.attempt + 1, max(now, last.ended_at + RETRY_AFTER),
                       RunReason.RETRY)  # fmt: skip
    return None


@dataclass(frozen=True)
class DailyVerdict:
    allowed: bool
    message: str | None = None  # the refusal, or a warning when allowed


LONGEST_DAILY_RUN = timedelta(hours=24)


def check_daily(
    product: Product,
    data_bytes: int | None,
    attachment_bytes: int | None,
    last_duration: timedelta | None,
) -> DailyVerdict:
    """Whether a daily schedule fits the site, from its last known size and backup time.

    Jira past Atlassian's RPO row: "daily backup isn't available" (Atlassian; docs/rules.md); any
    site whose last backup took more than 24 hours cannot run daily either [ours]; Confluence past
    its row may run daily, with a warning that Atlassian's RPO reference is then more than 24 hours.
    """
    if last_duration is not None and last_duration > LONGEST_DAILY_RUN:
        hours = last_duration.total_seconds() / 3600
        return DailyVerdict(
            False,
            f"the last backup of this site took {hours:.0f} hours, longer than a day: "
            "schedule it weekly instead",
        )
    if data_bytes is None:
        return DailyVerdict(True)
    reference = reference_objectives(product, data_bytes, attachment_bytes or 0)
    if not reference.daily_backup_available:
        return DailyVerdict(
            False,
            "daily backup isn't available for this size (Atlassian's RPO reference for Jira): "
            "schedule it weekly instead",
        )
    if not reference.rpo.within:
        return DailyVerdict(
            True,
            "for a site of this size Atlassian's RPO reference is more than 24 hours; daily "
            "backups may not finish before the next one is due",
        )
    return DailyVerdict(True)
