"""Backup rows: their sites must exist, statuses are the words people see, sizes are sane."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from policy.statuses import BackupStatus
from storage.models import Backup, Site, StorageLocation, UTCDateTime

NewBackup = Callable[[BackupStatus, Site], Backup]


def add(sessions: sessionmaker[Session], backup: Backup) -> None:
    with sessions.begin() as session:
        session.add(backup)


def statuses(sessions: sessionmaker[Session]) -> list[BackupStatus]:
    with sessions() as session:
        return sorted(session.scalars(select(Backup.status)))


def test_backup_of_an_unknown_site_is_refused(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site
) -> None:
    backup = new_backup(BackupStatus.QUEUED, jira_site)
    backup.site_id = jira_site.id + 1000

    with pytest.raises(IntegrityError):
        add(sessions, backup)

    assert statuses(sessions) == []


@pytest.mark.parametrize("status", list(BackupStatus))
def test_every_status_is_stored_as_the_word_people_see(
    database: Engine,
    sessions: sessionmaker[Session],
    new_backup: NewBackup,
    jira_site: Site,
    status: BackupStatus,
) -> None:
    backup = new_backup(status, jira_site)
    add(sessions, backup)

    with database.connect() as connection:
        stored = connection.execute(
            text("SELECT status FROM backups WHERE id = :id"), {"id": backup.id}
        ).scalar()
    with sessions() as session:
        loaded = session.get_one(Backup, backup.id).status

    assert stored == status.value
    assert loaded is status


def test_a_status_outside_the_known_words_is_refused_by_the_database(
    database: Engine,
    sessions: sessionmaker[Session],
    jira_site: Site,
    managed_storage: StorageLocation,
) -> None:
    # Raw SQL, past the model's own validation: the CHECK constraint is what refuses it.
    insert = text(
        "INSERT INTO backups (id, site_id, storage_location_id, status, created_at, expires_at)"
        " VALUES ('bk-bogus01', :site, :storage, 'Bogus', :created_at, :expires_at)"
    ).bindparams(
        bindparam("created_at", type_=UTCDateTime()), bindparam("expires_at", type_=UTCDateTime())
    )
    moment = datetime(2026, 3, 1, tzinfo=UTC)

    with pytest.raises(IntegrityError), database.begin() as connection:
        connection.execute(
            insert,
            {
                "site": jira_site.id,
                "storage": managed_storage.id,
                "created_at": moment,
                "expires_at": moment,
            },
        )

    assert statuses(sessions) == []


def test_duration_is_known_once_the_backup_has_finished(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site
) -> None:
    backup = new_backup(BackupStatus.IN_PROGRESS, jira_site)
    backup.started_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    add(sessions, backup)
    running = backup.duration

    with sessions.begin() as session:
        stored = session.get_one(Backup, backup.id)
        stored.status = BackupStatus.COMPLETED
        stored.finished_at = datetime(2026, 3, 1, 9, 42, 30, tzinfo=UTC)
    with sessions() as session:
        finished = session.get_one(Backup, backup.id).duration

    assert running is None
    assert finished == timedelta(minutes=42, seconds=30)


def test_sizes_and_item_counts_are_read_back_as_written(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site
) -> None:
    backup = new_backup(BackupStatus.COMPLETED, jira_site)
    backup.data_bytes = 240 * 10**9  # past 32 bits: Atlassian's table goes to 240 GB
    backup.attachment_bytes = 12 * 10**12
    backup.item_counts = {"projects": 3, "issues": 1250, "attachments": 87}
    add(sessions, backup)

    with sessions() as session:
        stored = session.get_one(Backup, backup.id)
        assert (stored.data_bytes, stored.attachment_bytes) == (240 * 10**9, 12 * 10**12)
        assert stored.item_counts == {"projects": 3, "issues": 1250, "attachments": 87}


def test_negative_size_is_refused(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site
) -> None:
    backup = new_backup(BackupStatus.COMPLETED, jira_site)
    backup.data_bytes = -1

    with pytest.raises(IntegrityError):
        add(sessions, backup)


def test_scheduled_backup_without_its_slot_and_attempt_is_refused(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site
) -> None:
    backup = new_backup(BackupStatus.QUEUED, jira_site)
    backup.schedule_id = "sc-k3v9q2mx"

    with pytest.raises(IntegrityError):
        add(sessions, backup)
