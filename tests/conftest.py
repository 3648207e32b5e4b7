"""Database fixtures: every database test runs on SQLite and, when configured, on PostgreSQL.

SQLite is a real file in the test's tmp_path. PostgreSQL joins when BACKUPBOT_TEST_POSTGRES_URL
names a server database the tests may connect to (e.g. postgresql://postgres@127.0.0.1:5432/test):
each test then gets a freshly created database of its own, dropped afterwards. Without the
variable the PostgreSQL cases are not generated at all, rather than skipped.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage.database import create_engine, upgrade

POSTGRES_URL = os.environ.get("BACKUPBOT_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the configured server database, to create and drop test databases."""
    engine = create_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a new, empty database (no tables, no migrations) of each backend."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'backupbot.db'}")
        yield engine
        engine.dispose()
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    name = f"backupbot_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database(empty_database: Engine) -> Engine:
    """An engine on a new database migrated to the newest schema, on each backend."""
    upgrade(empty_database)
    return empty_database
