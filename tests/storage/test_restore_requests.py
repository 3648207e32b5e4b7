"""Restore requests: stored with their preview, and never approved by their own requester."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from policy.identifiers import IdKind
from policy.statuses import BackupStatus, RestoreRequestStatus
from storage.ids import new_id
from storage.models import Backup, RestoreRequest, Site

ASKED_AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PREVIEW = {"projects": {"PROJ": {"issues": 120}}, "attachments": {"relinkable": 3, "missing": 1}}


@pytest.fixture
def completed_backup(
    sessions: sessionmaker[Session],
    new_backup: Callable[[BackupStatus, Site], Backup],
    jira_site: Site,
) -> Backup:
    backup = new_backup(BackupStatus.COMPLETED, jira_site)
    with sessions.begin() as session:
        session.add(backup)
    return backup


def request(backup: Backup, target: Site) -> RestoreRequest:
    return RestoreRequest(
        id=new_id(IdKind.RESTORE_REQUEST),
        backup_id=backup.id,
        target_site_id=target.id,
        scope="project PROJ",
        preview=PREVIEW,
        status=RestoreRequestStatus.PENDING,
        requested_by="alice@example.com",
        requested_by_slack="U0ALICE",
        created_at=ASKED_AT,
        expires_at=ASKED_AT + timedelta(hours=24),
    )


def test_restore_request_is_read_back_with_its_preview(
    sessions: sessionmaker[Session], completed_backup: Backup, jira_site: Site
) -> None:
    pending = request(completed_backup, jira_site)
    with sessions.begin() as session:
        session.add(pending)

    with sessions() as session:
        stored = session.get_one(RestoreRequest, pending.id)
        assert stored.status is RestoreRequestStatus.PENDING
        assert stored.preview == PREVIEW
        assert stored.backup.id == completed_backup.id
        assert stored.target_site.name == jira_site.name


@pytest.mark.parametrize("approver", ["alice@example.com", "Alice@Example.COM"])
def test_requester_cannot_be_recorded_as_the_approver(
    sessions: sessionmaker[Session], completed_backup: Backup, jira_site: Site, approver: str
) -> None:
    approved = request(completed_backup, jira_site)
    approved.status = RestoreRequestStatus.APPROVED
    approved.approver = approver
    approved.decided_at = ASKED_AT + timedelta(minutes=5)

    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(approved)


def test_another_admin_can_be_recorded_as_the_approver(
    sessions: sessionmaker[Session], completed_backup: Backup, jira_site: Site
) -> None:
    approved = request(completed_backup, jira_site)
    approved.status = RestoreRequestStatus.APPROVED
    approved.approver = "bob@example.com"
    approved.decided_at = ASKED_AT + timedelta(minutes=5)
    with sessions.begin() as session:
        session.add(approved)

    with sessions() as session:
        assert session.get_one(RestoreRequest, approved.id).approver == "bob@example.com"


@pytest.mark.parametrize("status", list(RestoreRequestStatus))
def test_every_decision_is_stored_as_the_word_people_see(
    sessions: sessionmaker[Session],
    completed_backup: Backup,
    jira_site: Site,
    status: RestoreRequestStatus,
) -> None:
    decided = request(completed_backup, jira_site)
    decided.status = status
    with sessions.begin() as session:
        session.add(decided)

    with sessions() as session:
        word = session.scalars(
            text("SELECT status FROM restore_requests WHERE id = :id"), {"id": decided.id}
        ).one()
        assert word == status.value
        assert session.get_one(RestoreRequest, decided.id).status is status
