"""The audit log is append-only, and the database itself refuses to change its rows
(docs/data-model.md)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import SYSTEM_ACTOR, AuditEntry

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def entry(sessions: sessionmaker[Session]) -> AuditEntry:
    row = AuditEntry(
        at=AT,
        actor="alice@example.com",
        slack_user="U0ALICE",
        action="now",
        target="acme-jira",
        outcome="queued",
        detail={"backup": "bk-k3v9q2mx"},
    )
    with sessions.begin() as session:
        session.add(row)
    return row


def stored(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.id)
        ).all()
    return [(actor, action, outcome) for actor, action, outcome in rows]


def test_entries_are_appended_in_order(sessions: sessionmaker[Session], entry: AuditEntry) -> None:
    with sessions.begin() as session:
        session.add(
            AuditEntry(at=AT, actor=SYSTEM_ACTOR, action="backup", target="acme-jira", outcome="ok")
        )

    assert stored(sessions) == [
        ("alice@example.com", "now", "queued"),
        (SYSTEM_ACTOR, "backup", "ok"),
    ]


def test_an_entry_cannot_be_updated(
    database: Engine, sessions: sessionmaker[Session], entry: AuditEntry
) -> None:
    with pytest.raises(IntegrityError, match="append-only"), database.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET outcome = 'ok' WHERE id = :id"), {"id": entry.id}
        )

    assert stored(sessions) == [("alice@example.com", "now", "queued")]


def test_an_entry_cannot_be_deleted(
    database: Engine, sessions: sessionmaker[Session], entry: AuditEntry
) -> None:
    with pytest.raises(IntegrityError, match="append-only"), database.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entry.id})

    assert stored(sessions) == [("alice@example.com", "now", "queued")]


def test_the_log_cannot_be_emptied(
    database: Engine, sessions: sessionmaker[Session], entry: AuditEntry
) -> None:
    # Each database's fastest way to empty a table: PostgreSQL's TRUNCATE skips row triggers.
    empty = (
        "TRUNCATE audit_log" if database.dialect.name == "postgresql" else "DELETE FROM audit_log"
    )

    with pytest.raises(IntegrityError, match="append-only"), database.begin() as connection:
        connection.execute(text(empty))

    assert stored(sessions) == [("alice@example.com", "now", "queued")]
