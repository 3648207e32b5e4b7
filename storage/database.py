"""Engines, sessions and migrations for the two databases backupbot runs on: SQLite and PostgreSQL.

`create_engine` gives every SQLite connection the settings the bot relies on (WAL, a busy
timeout, foreign keys); `upgrade` applies the Alembic migrations shipped inside this package.
"""

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000
POSTGRESQL_DRIVER = "postgresql+psycopg"
ACCEPTED_URLS = "sqlite:///path/to/backupbot.db or postgresql://user@host/database"


class UnsupportedDatabaseUrl(ValueError):
    """A database URL backupbot cannot use, with what it accepts."""


class MigrationError(RuntimeError):
    """A migration left the database inconsistent; it was rolled back where the database can."""


def create_engine(url: str) -> Engine:
    """An engine for a `sqlite:///path` or `postgresql://` URL, ready for the bot's use.

    A plain `postgresql://` (or `postgres://`) URL is given the psycopg 3 driver, the one
    installed with backupbot. A SQLite file's folder is created when missing.
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _create_parent_folder(parsed)
        engine = sqlalchemy.create_engine(parsed)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    if backend in {"postgresql", "postgres"}:
        if parsed.drivername not in {"postgresql", "postgres", POSTGRESQL_DRIVER}:
            raise UnsupportedDatabaseUrl(
                f"the PostgreSQL driver in {parsed.drivername!r} is not installed with "
                f"backupbot; use {ACCEPTED_URLS} (or postgresql+psycopg://)"
            )
        # Long-lived bot processes outlive server restarts and idle timeouts.
        return sqlalchemy.create_engine(
            parsed.set(drivername=POSTGRESQL_DRIVER), pool_pre_ping=True
        )
    raise UnsupportedDatabaseUrl(
        f"backupbot stores its data in SQLite or PostgreSQL, not {backend!r}; use {ACCEPTED_URLS}"
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit, e.g. to render a Slack reply."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration for the migrations in this package, running on `connection`.

    No alembic.ini is needed: `storage/migrations/env.py` takes the connection from here.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (all of them by default); a no-op when current."""
    _migrate(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Revert the migrations down to `revision` (`base` removes every table)."""
    _migrate(engine, lambda config: command.downgrade(config, revision))


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; None for a database never upgraded."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this version of backupbot."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _migrate(engine: Engine, run: Callable[[Config], None]) -> None:
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the original, which enforced
            # foreign keys refuse while other rows point at it. The pragma only takes effect
            # outside a transaction, so it is set first and checked by hand afterwards.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                run(alembic_config(connection))
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                # The connection goes back to the pool: it must enforce foreign keys again.
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise MigrationError(
            f"after migrating, {len(broken)} rows point at rows that do not exist "
            f"(in {', '.join(tables)}); see PRAGMA foreign_key_check"
        )


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        # The parser's message may quote the URL, password and all: say only that it failed.
        raise UnsupportedDatabaseUrl(
            f"the database URL is not valid; use {ACCEPTED_URLS}"
        ) from None


def _create_parent_folder(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).resolve().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while a backup job writes; the busy timeout makes a second
    # process wait for the write lock instead of failing at once; SQLite leaves foreign keys
    # off unless asked, on every connection. These run before any transaction begins, since
    # foreign_keys is ignored inside one.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


class BackupRefused(ValueError):
    """`backup_sqlite` cannot make this copy; the message says why and what to do."""


def backup_sqlite(url: str, destination: Path) -> int:
    """A consistent copy of the SQLite database at `url` in the new file `destination`, made
    while the bot runs (SQLite's online backup copies one snapshot while readers and writers
    carry on); returns its size in bytes. PostgreSQL has its own tool for this (`pg_dump`).

    The source is opened read-only, so a wrong path creates nothing. The copy is written beside
    the destination, readable by its owner only (it holds emails and the audit log), and linked
    into place, which fails rather than overwrite a file that appeared meanwhile.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupRefused(
            f"the database is {parsed.get_backend_name()}, not SQLite: back it up with pg_dump, "
            'e.g. pg_dump --format=custom --file=backupbot.dump "$BACKUPBOT_DATABASE_URL"'
        )
    source_path = Path(parsed.database or "")
    if not parsed.database or not source_path.is_file():
        raise BackupRefused(
            f"there is no database at {source_path}: set BACKUPBOT_DATA_DIR or "
            "BACKUPBOT_DATABASE_URL as the bot has them"
        )
    if destination.exists():
        raise BackupRefused(f"{destination} already exists; name a new file")
    partial = destination.with_name(destination.name + ".partial")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        partial.touch(mode=0o600)
        with (
            closing(sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)) as db,
            closing(sqlite3.connect(partial)) as copy,
        ):
            if not db.execute(_ALEMBIC_TABLE).fetchone():
                raise BackupRefused(f"{source_path} is not a backupbot database (no migrations)")
            db.backup(copy)
        try:
            os.link(partial, destination)
        except FileExistsError:
            raise BackupRefused(f"{destination} already exists; name a new file") from None
    except (OSError, sqlite3.Error) as error:
        raise BackupRefused(f"cannot copy {source_path} to {destination}: {error}") from None
    finally:
        with suppress(OSError):  # when the folder could not be made there is nothing to remove
            partial.unlink(missing_ok=True)
    return destination.stat().st_size


_ALEMBIC_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
