"""Restore rows: one active restore per target site, and measured throughput per app."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from policy.products import Product
from policy.statuses import RestoreStatus
from settings.loading import parse_config
from storage.catalog import queue_backup, sync_configuration
from storage.database import session_factory
from storage.restores import (
    RestoreAlreadyActive,
    finish_restore,
    queue_restore,
    restore_throughput,
    start_restore,
)

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def sessions(database: Engine) -> sessionmaker[Session]:
    site = {"url": "https://acme.atlassian.net", "email": "svc@acme.com", "token_env": "T"}
    config = parse_config(
        {"sites": {"acme-jira": {"product": "jira", **site},
                   "acme-wiki": {"product": "confluence", **site, "url": "https://w.atlassian.net"}}},
        {"T": "t"},
    )  # fmt: skip
    factory = session_factory(database)
    with factory.begin() as session:
        sync_configuration(session, config, NOW)
    return factory


@pytest.fixture
def backup_id(sessions) -> str:
    with sessions.begin() as session:
        return queue_backup(session, "acme-jira", "managed", NOW, None).id


def finished(
    sessions, backup_id, target, *, items, bytes_, seconds, status=RestoreStatus.COMPLETED
):
    with sessions.begin() as session:
        restore = queue_restore(session, backup_id, target, NOW, scope=None, requested_by="a@x.io")
        start_restore(restore, NOW)
        finish_restore(
            restore, NOW + timedelta(seconds=seconds), status=status,
            items_restored=items, bytes_restored=bytes_,
        )  # fmt: skip
    return restore


def test_a_second_restore_into_a_busy_site_is_refused(sessions, backup_id):
    with sessions.begin() as session:
        first = queue_restore(session, backup_id, "acme-jira", NOW, scope=None, requested_by=None)
    assert first.id.startswith("rr-")
    with sessions.begin() as session, pytest.raises(RestoreAlreadyActive, match="acme-jira"):
        queue_restore(session, backup_id, "acme-jira", NOW, scope="project:OPS", requested_by=None)
    with sessions.begin() as session:  # another target is free
        queue_restore(session, backup_id, "acme-wiki", NOW, scope=None, requested_by=None)


def test_a_restore_request_and_its_run_share_the_id(sessions, backup_id):
    with sessions.begin() as session:
        restore = queue_restore(
            session, backup_id, "acme-jira", NOW, scope=None, requested_by="a@x.io",
            approved_by="b@x.io", restore_id="rr-abc12345",
        )  # fmt: skip
    assert restore.id == "rr-abc12345"


def test_throughput_sums_finished_restores_of_the_same_app_only(sessions, backup_id):
    assert restore_throughput(sessions(), Product.JIRA) is None
    finished(sessions, backup_id, "acme-jira", items=2_000, bytes_=10**6, seconds=40)
    finished(sessions, backup_id, "acme-jira", items=1_000, bytes_=10**6, seconds=20,
             status=RestoreStatus.INCOMPLETE)  # fmt: skip
    finished(sessions, backup_id, "acme-jira", items=9, bytes_=9, seconds=1,
             status=RestoreStatus.FAILED)  # fmt: skip
    finished(sessions, backup_id, "acme-wiki", items=10, bytes_=10, seconds=100)
    with sessions() as session:
        jira = restore_throughput(session, Product.JIRA)
    assert jira is not None
    assert (jira.items, jira.bytes, jira.seconds) == (3_000, 2 * 10**6, 60.0)
    assert jira.items_per_second == 50


def test_an_active_status_is_not_an_ending(sessions, backup_id):
    with sessions.begin() as session:
        restore = queue_restore(session, backup_id, "acme-jira", NOW, scope=None, requested_by=None)
        with pytest.raises(ValueError, match="not an ending"):
            finish_restore(restore, NOW, status=RestoreStatus.IN_PROGRESS)
