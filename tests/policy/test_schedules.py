"""When schedules run: slots by local date, across daylight-saving changes; the daily guard."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from policy.frequency import Frequency
from policy.products import Product
from policy.schedules import Recurrence, check_daily, last_due, next_run, slot_of

GB = 10**9
BERLIN = "Europe/Berlin"


def daily(at: str, zone: str = BERLIN) -> Recurrence:
    hour, minute = map(int, at.split(":"))
    return Recurrence(Frequency.DAILY, time(hour, minute), zone)


def test_a_daily_schedule_runs_next_at_its_local_time():
    after = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # 12:00 in Berlin (CEST)
    assert next_run(daily("02:00"), after) == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)
    assert next_run(daily("13:00"), after) == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


def test_the_hour_repeated_when_clocks_go_back_runs_once():
    # Berlin, 25 Oct 2026: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
    schedule = daily("02:30")
    first = next_run(schedule, datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    second = next_run(schedule, first)
    assert slot_of(second, BERLIN) == "2026-10-26"
    assert slot_of(first, BERLIN) == "2026-10-25"


def test_the_hour_skipped_when_clocks_go_forward_still_runs_that_day():
    # Berlin, 29 Mar 2026: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    run = next_run(daily("02:30"), datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert slot_of(run, BERLIN) == "2026-03-29"
    assert run == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_every_local_day_of_a_year_gets_exactly_one_run():
    schedule, moment, slots = daily("02:30"), datetime(2026, 1, 1, tzinfo=UTC), []
    while moment.year == 2026:
        moment = next_run(schedule, moment)
        slots.append(slot_of(moment, BERLIN))
    assert len(slots) == len(set(slots)) == 366  # 1 Jan 2026 .. 1 Jan 2027


def test_a_weekly_schedule_runs_on_its_weekday():
    schedule = Recurrence(Frequency.WEEKLY, time(23, 0), "UTC", weekday=6)
    run = next_run(schedule, datetime(2026, 11, 26, 12, 0, tzinfo=UTC))  # a Thursday
    assert run == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert next_run(schedule, run) == run + timedelta(days=7)


def test_a_once_schedule_runs_once():
    once = Recurrence(Frequency.ONCE, time(9, 0), "UTC", on=date(2026, 12, 1))
    run = next_run(once, datetime(2026, 11, 26, tzinfo=UTC))
    assert run == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert next_run(once, run) is None


@pytest.mark.parametrize(
    ("product", "data", "allowed", "says"),
    [
        (Product.JIRA, 240 * GB, True, None),
        (Product.JIRA, 240 * GB + 1, False, "daily backup isn't available"),
        (Product.CONFLUENCE, 120 * GB + 1, True, "more than 24 hours"),
        (Product.CONFLUENCE, 120 * GB, True, None),
    ],
)
def test_daily_follows_atlassians_rpo_row(product, data, allowed, says):
    verdict = check_daily(product, data, 0, None)
    assert verdict.allowed is allowed
    assert (verdict.message is None) if says is None else (says in verdict.message)


def test_a_site_whose_last_backup_took_more_than_a_day_cannot_run_daily():
    assert not check_daily(Product.CONFLUENCE, GB, 0, timedelta(hours=25)).allowed
    assert check_daily(Product.CONFLUENCE, GB, 0, timedelta(hours=24)).allowed


def test_the_last_due_run_is_the_newest_one_not_after_now():
    schedule = daily("02:00", "UTC")
    created = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert last_due(schedule, created, now) == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert last_due(schedule, now - timedelta(minutes=5), now) is None  # created just now
