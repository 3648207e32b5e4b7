"""The migrations build exactly the schema the models declare, and can be undone and redone."""

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from policy.products import Product
from storage.database import current_revision, downgrade, head_revision, session_factory, upgrade
from storage.models import Base, Site

TABLES = {
    "sites",
    "storage_locations",
    "schedules",
    "backups",
    "schedule_runs",
    "restore_requests",
    "restores",
    "audit_log",
    "leases",
}


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def schema(engine: Engine) -> dict[str, object]:
    """What an upgrade could change: every table's columns, indexes and constraints."""
    inspector = inspect(engine)
    return {
        table: (
            [(column["name"], str(column["type"])) for column in inspector.get_columns(table)],
            sorted(index["name"] or "" for index in inspector.get_indexes(table)),
            sorted(check["name"] or "" for check in inspector.get_check_constraints(table)),
            sorted(key["name"] or "" for key in inspector.get_foreign_keys(table)),
            sorted(unique["name"] or "" for unique in inspector.get_unique_constraints(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def test_upgrade_creates_every_table_on_an_empty_database(empty_database: Engine) -> None:
    upgrade(empty_database)

    assert table_names(empty_database) == TABLES
    assert current_revision(empty_database) == head_revision()


def test_a_new_database_has_no_revision(empty_database: Engine) -> None:
    assert current_revision(empty_database) is None


def test_second_upgrade_changes_nothing_and_keeps_the_data(database: Engine) -> None:
    sessions = session_factory(database)
    with sessions.begin() as session:
        session.add(
            Site(
                name="acme-jira",
                product=Product.JIRA,
                url="https://acme.atlassian.net",
                created_at=datetime(2026, 3, 1, tzinfo=UTC),
            )
        )
    before = schema(database)

    upgrade(database)

    assert schema(database) == before
    assert current_revision(database) == head_revision()
    with sessions() as session:
        assert session.scalars(select(Site.name)).all() == ["acme-jira"]


def test_downgrade_to_base_removes_every_table(database: Engine) -> None:
    downgrade(database, "base")

    assert table_names(database) == set()
    assert current_revision(database) is None


def test_upgrade_after_downgrade_to_base_rebuilds_the_schema(database: Engine) -> None:
    migrated = schema(database)
    downgrade(database, "base")

    upgrade(database)

    assert schema(database) == migrated


def test_migrated_schema_matches_the_models(database: Engine) -> None:
    with database.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_migrated_check_constraints_match_the_models(database: Engine) -> None:
    # Alembic's comparison leaves CHECK constraints out, so compare them by name here.
    inspector = inspect(database)
    for table in Base.metadata.sorted_tables:
        declared = {
            str(constraint.name)
            for constraint in table.constraints
            if isinstance(constraint, CheckConstraint)
        }
        migrated = {check["name"] for check in inspector.get_check_constraints(table.name)}
        assert migrated == declared, table.name


def test_a_backup_written_before_the_heartbeat_migration_survives_it_and_one_active_still_holds(
    empty_database: Engine,
) -> None:
    upgrade(empty_database, "0001")
    queued = (
        "INSERT INTO backups (id, site_id, storage_location_id, status, created_at, expires_at) "
        "VALUES (:id, 1, 1, 'Queued', :now, :now)"
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with empty_database.begin() as connection:
        connection.execute(
            text("INSERT INTO sites (id, name, product, url, created_at) VALUES "
                 "(1, 'acme-jira', 'jira', 'https://acme.atlassian.net', :now)"),
            {"now": now},
        )  # fmt: skip
        connection.execute(
            text("INSERT INTO storage_locations (id, name, kind, owner, created_at) VALUES "
                 "(1, 'managed', 'local', 'managed', :now)"),
            {"now": now},
        )  # fmt: skip
        connection.execute(text(queued), {"id": "bk-before1", "now": now})

    upgrade(empty_database)

    with empty_database.connect() as connection:
        row = connection.execute(text("SELECT id, heartbeat_at FROM backups")).one()
    assert tuple(row) == ("bk-before1", None)
    with pytest.raises(IntegrityError), empty_database.begin() as connection:
        connection.execute(text(queued), {"id": "bk-second1", "now": now})
    downgrade(empty_database, "0001")
    assert "heartbeat_at" not in {c["name"] for c in inspect(empty_database).get_columns("backups")}
