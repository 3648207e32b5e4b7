"""Expiry warnings: once per lead time, the most urgent only after downtime."""

from datetime import UTC, datetime, timedelta

from policy.warnings import due_lead

EXPIRES = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
LEADS = (72, 24)


def at(hours_before: float) -> datetime:
    return EXPIRES - timedelta(hours=hours_before)


def test_nothing_is_due_before_the_first_lead_time():
    assert due_lead(EXPIRES, at(72.01), LEADS, ()) == (None, [])


def test_each_lead_time_is_announced_once():
    assert due_lead(EXPIRES, at(72), LEADS, ()) == (72, [72])
    assert due_lead(EXPIRES, at(30), LEADS, (72,)) == (None, [])
    assert due_lead(EXPIRES, at(24), LEADS, (72,)) == (24, [24])
    assert due_lead(EXPIRES, at(1), LEADS, (72, 24)) == (None, [])


def test_after_downtime_only_the_most_urgent_is_announced_and_both_count_as_said():
    assert due_lead(EXPIRES, at(10), LEADS, ()) == (24, [72, 24])


def test_an_expired_backup_gets_no_warning():
    assert due_lead(EXPIRES, EXPIRES, LEADS, ()) == (None, [])
