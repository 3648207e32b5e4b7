"""Schedules and their run fence: one run per (schedule, slot, attempt), ever
(docs/data-model.md)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from policy.frequency import Frequency
from policy.identifiers import IdKind
from storage import leases
from storage.ids import new_id
from storage.models import Lease, Schedule, ScheduleRun, Site, StorageLocation
from storage.schedules import claim_run

CREATED_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def schedule(
    site: Site,
    storage: StorageLocation,
    frequency: Frequency,
    *,
    on_date: date | None = None,
    weekday: int | None = None,
) -> Schedule:
    return Schedule(
        id=new_id(IdKind.SCHEDULE),
        site_id=site.id,
        frequency=frequency,
        at_time="02:30",
        on_date=on_date,
        weekday=weekday,
        timezone="Europe/Berlin",
        storage_location_id=storage.id,
        created_by="alice@example.com",
        created_at=CREATED_AT,
    )


@pytest.fixture
def daily(
    sessions: sessionmaker[Session], jira_site: Site, managed_storage: StorageLocation
) -> Schedule:
    row = schedule(jira_site, managed_storage, Frequency.DAILY)
    with sessions.begin() as session:
        session.add(row)
    return row


def start_run(sessions: sessionmaker[Session], schedule: Schedule, slot: str, attempt: int) -> None:
    with sessions.begin() as session:
        session.add(
            ScheduleRun(schedule_id=schedule.id, slot=slot, attempt=attempt, created_at=CREATED_AT)
        )


def runs(sessions: sessionmaker[Session]) -> list[tuple[str, int]]:
    with sessions() as session:
        rows = session.execute(select(ScheduleRun.slot, ScheduleRun.attempt)).all()
    return sorted((slot, attempt) for slot, attempt in rows)


def test_second_run_of_the_same_slot_and_attempt_is_refused(
    sessions: sessionmaker[Session], daily: Schedule
) -> None:
    start_run(sessions, daily, "2026-03-29", 1)

    with pytest.raises(IntegrityError):
        start_run(sessions, daily, "2026-03-29", 1)

    assert runs(sessions) == [("2026-03-29", 1)]


def test_retry_of_the_same_slot_is_allowed_as_the_next_attempt(
    sessions: sessionmaker[Session], daily: Schedule
) -> None:
    start_run(sessions, daily, "2026-03-29", 1)
    start_run(sessions, daily, "2026-03-29", 2)

    assert runs(sessions) == [("2026-03-29", 1), ("2026-03-29", 2)]


def test_the_next_slot_starts_again_at_attempt_one(
    sessions: sessionmaker[Session], daily: Schedule
) -> None:
    start_run(sessions, daily, "2026-03-29", 1)
    start_run(sessions, daily, "2026-03-30", 1)

    assert runs(sessions) == [("2026-03-29", 1), ("2026-03-30", 1)]


def test_attempt_zero_is_refused(sessions: sessionmaker[Session], daily: Schedule) -> None:
    with pytest.raises(IntegrityError):
        start_run(sessions, daily, "2026-03-29", 0)


@pytest.mark.parametrize(
    ("frequency", "on_date", "weekday"),
    [
        (Frequency.ONCE, None, None),  # once, but when?
        (Frequency.WEEKLY, None, None),  # weekly, but which day?
        (Frequency.DAILY, date(2026, 3, 29), None),
        (Frequency.DAILY, None, 6),
        (Frequency.WEEKLY, None, 7),  # 0 is Monday, 6 Sunday
    ],
)
def test_schedule_without_its_day_or_with_a_day_it_cannot_use_is_refused(
    sessions: sessionmaker[Session],
    jira_site: Site,
    managed_storage: StorageLocation,
    frequency: Frequency,
    on_date: date | None,
    weekday: int | None,
) -> None:
    row = schedule(jira_site, managed_storage, frequency, on_date=on_date, weekday=weekday)

    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(row)


@pytest.mark.parametrize(
    ("frequency", "on_date", "weekday"),
    [
        (Frequency.ONCE, date(2026, 3, 29), None),
        (Frequency.DAILY, None, None),
        (Frequency.WEEKLY, None, 0),
        (Frequency.WEEKLY, None, 6),
    ],
)
def test_schedule_with_the_day_its_frequency_needs_is_stored(
    sessions: sessionmaker[Session],
    jira_site: Site,
    managed_storage: StorageLocation,
    frequency: Frequency,
    on_date: date | None,
    weekday: int | None,
) -> None:
    row = schedule(jira_site, managed_storage, frequency, on_date=on_date, weekday=weekday)
    with sessions.begin() as session:
        session.add(row)

    with sessions() as session:
        stored = session.get_one(Schedule, row.id)
        assert (stored.frequency, stored.on_date, stored.weekday) == (frequency, on_date, weekday)


def test_of_eight_concurrent_claims_of_one_attempt_exactly_one_wins(
    sessions: sessionmaker[Session], daily: Schedule
) -> None:
    """Eight connections claim the same fence at once (as racing processes would)."""
    gate = threading.Barrier(8)

    def claim(_: int) -> bool:
        with sessions.begin() as session:
            gate.wait()
            return claim_run(session, daily.id, "2026-03-29", 1, CREATED_AT) is not None

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(claim, range(8)))
    assert won.count(True) == 1
    assert runs(sessions) == [("2026-03-29", 1)]


def test_a_lease_has_one_holder_until_it_lapses_or_is_released(
    sessions: sessionmaker[Session],
) -> None:
    ttl = timedelta(minutes=3)
    with sessions.begin() as session:
        assert leases.hold(session, "scheduler", "a", CREATED_AT, ttl)
        assert not leases.hold(session, "scheduler", "b", CREATED_AT + ttl / 2, ttl)
        assert leases.hold(session, "scheduler", "a", CREATED_AT + ttl / 2, ttl)  # renewed
        assert not leases.hold(session, "scheduler", "b", CREATED_AT + ttl, ttl)
        assert leases.hold(session, "scheduler", "b", CREATED_AT + ttl * 3 / 2, ttl)  # lapsed
        assert session.get(Lease, "scheduler").holder == "b"
        leases.release(session, "scheduler", "a")  # not a's any more: nothing happens
        assert session.get(Lease, "scheduler").holder == "b"
        leases.release(session, "scheduler", "b")
        assert leases.hold(session, "scheduler", "a", CREATED_AT + ttl * 3 / 2, ttl)
