"""At most one backup per site is Queued or In Progress, and the database enforces it
(docs/data-model.md)."""

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from policy.statuses import ACTIVE_BACKUP_STATUSES, BackupStatus
from storage.database import create_engine, session_factory
from storage.models import Backup, Site

NewBackup = Callable[[BackupStatus, Site], Backup]
ACTIVE = sorted(ACTIVE_BACKUP_STATUSES)
FINISHED = sorted(set(BackupStatus) - ACTIVE_BACKUP_STATUSES)


def add(sessions: sessionmaker[Session], backup: Backup) -> None:
    with sessions.begin() as session:
        session.add(backup)


def statuses(sessions: sessionmaker[Session]) -> list[BackupStatus]:
    with sessions() as session:
        return sorted(session.scalars(select(Backup.status)))


@pytest.mark.parametrize("first", ACTIVE)
@pytest.mark.parametrize("second", ACTIVE)
def test_second_active_backup_of_a_site_is_refused(
    sessions: sessionmaker[Session],
    new_backup: NewBackup,
    jira_site: Site,
    first: BackupStatus,
    second: BackupStatus,
) -> None:
    add(sessions, new_backup(first, jira_site))

    with pytest.raises(IntegrityError):
        add(sessions, new_backup(second, jira_site))

    assert statuses(sessions) == [first]


def test_active_backups_of_different_sites_are_allowed(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site, confluence_site: Site
) -> None:
    add(sessions, new_backup(BackupStatus.IN_PROGRESS, jira_site))
    add(sessions, new_backup(BackupStatus.IN_PROGRESS, confluence_site))

    assert statuses(sessions) == [BackupStatus.IN_PROGRESS] * 2


@pytest.mark.parametrize("finished", FINISHED)
def test_new_backup_is_allowed_once_the_active_one_has_finished(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site, finished: BackupStatus
) -> None:
    earlier = new_backup(BackupStatus.IN_PROGRESS, jira_site)
    add(sessions, earlier)
    with sessions.begin() as session:
        session.get_one(Backup, earlier.id).status = finished

    add(sessions, new_backup(BackupStatus.QUEUED, jira_site))

    assert statuses(sessions) == sorted([finished, BackupStatus.QUEUED])


def test_finished_backups_of_a_site_do_not_limit_each_other(
    sessions: sessionmaker[Session], new_backup: NewBackup, jira_site: Site
) -> None:
    for status in FINISHED * 2:
        add(sessions, new_backup(status, jira_site))

    assert statuses(sessions) == sorted(FINISHED * 2)


def test_two_processes_racing_for_one_site_get_one_active_backup(
    database: Engine, new_backup: NewBackup, jira_site: Site
) -> None:
    # Two engines with their own connections stand for two bot processes starting a backup of
    # the same site at the same moment; the database lets exactly one of them in.
    url = database.url.render_as_string(hide_password=False)
    engines = [create_engine(url), create_engine(url)]
    start = threading.Barrier(len(engines))
    outcomes: list[str] = []

    def try_to_start(engine: Engine) -> None:
        backup = new_backup(BackupStatus.QUEUED, jira_site)
        start.wait()
        try:
            add(session_factory(engine), backup)
        except IntegrityError:
            outcomes.append("refused")
        else:
            outcomes.append("queued")

    racers = [threading.Thread(target=try_to_start, args=(engine,)) for engine in engines]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    for engine in engines:
        engine.dispose()

    assert sorted(outcomes) == ["queued", "refused"]
