"""The catalog: config mirrored into rows, and backups moved through their statuses."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from policy.statuses import BackupStatus
from settings.loading import parse_config
from storage.catalog import (
    INTERRUPTED,
    BackupAlreadyActive,
    beat,
    finish_backup,
    mark_interrupted,
    queue_backup,
    start_backup,
    sync_configuration,
)
from storage.database import session_factory
from storage.models import Backup, Site, StorageLocation

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
STALE_AFTER = timedelta(minutes=3)  # the default: six beats of 30 s
ENV = {"TOKEN": "t", "EXT": "e"}


def config(url: str = "https://acme.atlassian.net"):
    return parse_config(
        {
            "storage": {
                "managed": {"kind": "local", "path": "/tmp/unused"},
                "org-s3": {
                    "kind": "s3",
                    "bucket": "acme-backups",
                    "role_arn": "arn:aws:iam::123456789012:role/backupbot",
                    "external_id_env": "EXT",
                },
            },
            "sites": {
                "acme-jira": {"product": "jira", "url": url, "email": "svc@acme.com",
                              "token_env": "TOKEN"},
            },
        },
        ENV,
    )  # fmt: skip


@pytest.fixture
def sessions(database: Engine) -> sessionmaker[Session]:
    factory = session_factory(database)
    with factory.begin() as session:
        sync_configuration(session, config(), NOW)
    return factory


def test_configured_sites_and_locations_become_rows(sessions):
    with sessions() as session:
        assert [s.name for s in session.scalars(select(Site))] == ["acme-jira"]
        owners = {loc.name: loc.owner.value for loc in session.scalars(select(StorageLocation))}
    assert owners == {"managed": "managed", "org-s3": "organization"}


def test_syncing_again_updates_a_changed_url_and_adds_nothing(sessions):
    with sessions.begin() as session:
        sync_configuration(session, config("https://acme-new.atlassian.net"), NOW)
    with sessions() as session:
        sites = list(session.scalars(select(Site)))
    assert [(s.name, s.url) for s in sites] == [("acme-jira", "https://acme-new.atlassian.net")]


@pytest.mark.parametrize(("location", "days"), [("managed", 14), ("org-s3", 30)])
def test_a_queued_backup_expires_by_its_locations_retention(sessions, location, days):
    with sessions.begin() as session:
        backup = queue_backup(session, "acme-jira", location, NOW, "alice@example.com")
    assert backup.status is BackupStatus.QUEUED
    assert backup.expires_at == NOW + timedelta(days=days)
    assert backup.id.startswith("bk-")


def test_a_second_backup_of_a_busy_site_is_refused_naming_the_first(sessions):
    with sessions.begin() as session:
        first = queue_backup(session, "acme-jira", "managed", NOW, None)
    with sessions.begin() as session:
        with pytest.raises(BackupAlreadyActive, match=first.id):
            queue_backup(session, "acme-jira", "managed", NOW, None)
        # The refusal leaves the caller's transaction usable.
        assert session.scalars(select(Backup)).one().id == first.id


def test_a_site_can_be_backed_up_again_once_the_last_backup_ended(sessions):
    with sessions.begin() as session:
        first = queue_backup(session, "acme-jira", "managed", NOW, None)
        start_backup(session, first, NOW)
        finish_backup(session, first, NOW, status=BackupStatus.COMPLETED, data_bytes=10)
    with sessions.begin() as session:
        second = queue_backup(session, "acme-jira", "managed", NOW, None)
    assert second.id != first.id


def test_an_active_status_is_not_an_ending(sessions):
    with sessions.begin() as session:
        backup = queue_backup(session, "acme-jira", "managed", NOW, None)
        with pytest.raises(ValueError, match="not an ending"):
            finish_backup(session, backup, NOW, status=BackupStatus.IN_PROGRESS)


def test_backups_left_running_by_a_dead_process_are_marked_failed_interrupted(sessions):
    with sessions.begin() as session:
        running = queue_backup(session, "acme-jira", "managed", NOW, None)
        start_backup(session, running, NOW)
    later = NOW + timedelta(hours=1)
    with sessions.begin() as session:
        stranded = mark_interrupted(session, later, STALE_AFTER)
    assert [b.id for b in stranded] == [running.id]
    with sessions() as session:
        row = session.get(Backup, running.id)
        assert row is not None
        assert (row.status, row.error, row.finished_at) == (BackupStatus.FAILED, INTERRUPTED, later)


def test_a_backup_whose_process_still_beats_is_not_marked_interrupted(sessions):
    with sessions.begin() as session:
        running = queue_backup(session, "acme-jira", "managed", NOW, None)
        start_backup(session, running, NOW)
    with sessions.begin() as session:
        beat(session, [running.id], NOW + STALE_AFTER)
    with sessions.begin() as session:
        assert (
            mark_interrupted(session, NOW + STALE_AFTER + timedelta(seconds=30), STALE_AFTER) == []
        )
    with sessions.begin() as session:
        assert [
            b.id for b in mark_interrupted(session, NOW + 2 * STALE_AFTER + SECOND, STALE_AFTER)
        ] == [running.id]
