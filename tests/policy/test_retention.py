"""Retention (docs/rules.md): 14 days managed, 30 days organization S3, on UTC instants."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from policy.retention import (
    NaiveDatetimeError,
    StorageOwner,
    expires_at,
    is_restorable,
    time_left,
)
from policy.statuses import BackupStatus

SECOND = timedelta(seconds=1)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def test_a_managed_backup_is_restorable_one_second_before_day_14_ends_and_not_at_it():
    created = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    expiry = expires_at(created, StorageOwner.MANAGED)
    assert expiry == datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
    assert is_restorable(BackupStatus.COMPLETED, expiry, expiry - SECOND)
    assert not is_restorable(BackupStatus.COMPLETED, expiry, expiry)
    assert not is_restorable(BackupStatus.COMPLETED, expiry, expiry + SECOND)


def test_an_organization_s3_backup_is_restorable_one_second_before_day_30_ends_and_not_at_it():
    created = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    expiry = expires_at(created, StorageOwner.ORGANIZATION)
    assert expiry == datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)
    assert is_restorable(BackupStatus.INCOMPLETE, expiry, expiry - SECOND)
    assert not is_restorable(BackupStatus.INCOMPLETE, expiry, expiry)


def test_daily_backups_from_the_1st_give_14_restorable_on_the_14th_and_the_first_expires_the_15th():
    # Atlassian's own example (Atlassian; docs/rules.md): set up on the 1st, 14 backups on the 14th,
    # the 1st's backup expires on the 15th.
    created = [datetime(2026, 7, day, 2, 0, tzinfo=UTC) for day in range(1, 15)]
    expiries = [expires_at(c, StorageOwner.MANAGED) for c in created]
    on_the_14th = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)
    assert sum(is_restorable(BackupStatus.COMPLETED, e, on_the_14th) for e in expiries) == 14
    assert expiries[0].date().day == 15
    assert not is_restorable(BackupStatus.COMPLETED, expiries[0], expiries[0])


@pytest.mark.parametrize(
    ("created_local", "expected_local"),
    [
        # Spring forward in between (CET -> CEST, 29 March 2026): the wall clock shows 11:00.
        (datetime(2026, 3, 20, 10, 0, tzinfo=BERLIN), datetime(2026, 4, 3, 11, 0, tzinfo=BERLIN)),
        # Fall back in between (CEST -> CET, 25 October 2026): the wall clock shows 09:00.
        (datetime(2026, 10, 20, 10, 0, tzinfo=BERLIN), datetime(2026, 11, 3, 9, 0, tzinfo=BERLIN)),
    ],
)
def test_expiry_does_not_move_when_shown_in_a_zone_that_changes_daylight_saving_time(
    created_local, expected_local
):
    expiry = expires_at(created_local, StorageOwner.MANAGED)
    assert expiry - created_local == timedelta(hours=14 * 24)
    assert expiry.astimezone(BERLIN) == expected_local
    assert expiry.astimezone(BERLIN).hour == expected_local.hour
    # The same instant given in other zones expires at the same instant.
    assert expires_at(created_local.astimezone(UTC), StorageOwner.MANAGED) == expiry
    assert expires_at(created_local.astimezone(NEW_YORK), StorageOwner.MANAGED) == expiry


def test_the_expiry_is_given_in_utc():
    expiry = expires_at(datetime(2026, 5, 1, 12, 0, tzinfo=NEW_YORK), StorageOwner.MANAGED)
    assert expiry.tzinfo is UTC


@pytest.mark.parametrize(
    "status",
    [
        BackupStatus.QUEUED,
        BackupStatus.IN_PROGRESS,
        BackupStatus.FAILED,
        BackupStatus.EXPIRED,
        BackupStatus.CANCELLED,
    ],
)
def test_only_completed_and_incomplete_backups_are_restorable(status):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert not is_restorable(status, now + timedelta(days=1), now)


@pytest.mark.parametrize("status", [BackupStatus.COMPLETED, BackupStatus.INCOMPLETE])
def test_completed_and_incomplete_backups_are_restorable_before_expiry(status):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert is_restorable(status, now + timedelta(days=1), now)


def test_naive_datetimes_are_refused_loudly():
    naive = datetime(2026, 6, 1, 12, 0)  # naive on purpose
    aware = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(NaiveDatetimeError, match="created_at must be timezone-aware"):
        expires_at(naive, StorageOwner.MANAGED)
    with pytest.raises(NaiveDatetimeError, match="now must be timezone-aware"):
        is_restorable(BackupStatus.COMPLETED, aware, naive)
    with pytest.raises(NaiveDatetimeError, match="expires_at must be timezone-aware"):
        is_restorable(BackupStatus.COMPLETED, naive, aware)


def test_time_left_counts_down_to_zero_and_stays_there():
    expiry = datetime(2026, 6, 15, tzinfo=UTC)
    assert time_left(expiry, expiry - timedelta(hours=3)) == timedelta(hours=3)
    assert time_left(expiry, expiry) == timedelta(0)
    assert time_left(expiry, expiry + timedelta(days=2)) == timedelta(0)
