"""How `storage.database` opens the two databases: SQLite settings, URLs, sessions."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from policy.retention import StorageOwner
from settings.environment import default_database_url
from storage.database import (
    BUSY_TIMEOUT_MS,
    MigrationError,
    UnsupportedDatabaseUrl,
    create_engine,
    session_factory,
    upgrade,
)
from storage.models import StorageKind, StorageLocation


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'backupbot.db'}")
    # Two connections at once: the settings hold on every connection, not just the first.
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
    engine.dispose()


def test_missing_folders_of_a_sqlite_file_are_created(tmp_path: Path) -> None:
    database_file = tmp_path / "data" / "nested" / "backupbot.db"
    engine = create_engine(f"sqlite:///{database_file}")

    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()

    assert database_file.is_file()


def test_default_database_is_a_file_in_the_data_directory(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)

    assert url == f"sqlite:///{tmp_path}/backupbot.db"
    assert create_engine(url).url.database == str(tmp_path / "backupbot.db")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://backupbot@db.example.com:5432/backupbot",
        "postgres://backupbot@db.example.com:5432/backupbot",
        "postgresql+psycopg://backupbot@db.example.com:5432/backupbot",
    ],
)
def test_postgresql_urls_use_the_psycopg_driver(url: str) -> None:
    engine = create_engine(url)

    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.host == "db.example.com"
    assert engine.url.database == "backupbot"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://backupbot@db.example.com/backupbot",
        "postgresql+psycopg2://backupbot@db.example.com/backupbot",
        "not a url",
    ],
)
def test_other_databases_are_refused_with_what_is_accepted(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseUrl, match=r"sqlite|postgresql"):
        create_engine(url)


def test_sessions_keep_objects_readable_after_commit(database: Engine) -> None:
    sessions = session_factory(database)
    with sessions.begin() as session:
        location = StorageLocation(
            name="managed",
            kind=StorageKind.LOCAL,
            owner=StorageOwner.MANAGED,
            created_at=datetime(2026, 3, 1, tzinfo=UTC),
        )
        session.add(location)

    # Read after the session closed, as a Slack reply is rendered: no reload, no error.
    assert (location.name, location.owner) == ("managed", StorageOwner.MANAGED)


def test_sqlite_enforces_foreign_keys_again_after_migrating(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'backupbot.db'}")
    upgrade(engine)  # runs with foreign keys off, so SQLite can copy tables

    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_sqlite_migration_reports_rows_pointing_nowhere(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'backupbot.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        connection.execute(
            text(
                "INSERT INTO schedule_runs (schedule_id, slot, attempt, created_at)"
                " VALUES ('sc-gone0000', '2026-03-29', 1, '2026-03-29 00:30:00.000000')"
            )
        )
        connection.commit()
        connection.execute(text("PRAGMA foreign_keys=ON"))

    with pytest.raises(MigrationError, match="schedule_runs"):
        upgrade(engine)
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bot:s3cr3t-pw@db.example:notaport/backupbot",
        "mysql://bot:s3cr3t-pw@db.example/backupbot",
        "s3cr3t-pw",
    ],
)
def test_a_refused_database_url_never_shows_its_password(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseUrl) as refusal:
        create_engine(url)
    assert "s3cr3t" not in str(refusal.value)
