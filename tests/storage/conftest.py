"""Fixtures of the storage tests: sessions on the migrated database and the configured rows.

The rows are what a small config declares: a Jira site, a Confluence site and managed storage.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from policy.identifiers import IdKind
from policy.products import Product
from policy.retention import StorageOwner, expires_at
from policy.statuses import BackupStatus
from storage.database import session_factory
from storage.ids import new_id
from storage.models import Backup, Site, StorageKind, StorageLocation

CREATED_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

BackupFactory = Callable[[BackupStatus, Site], Backup]
Row = TypeVar("Row", Site, StorageLocation)


@pytest.fixture
def sessions(database: Engine) -> sessionmaker[Session]:
    return session_factory(database)


def _store(sessions: sessionmaker[Session], row: Row) -> Row:
    with sessions.begin() as session:
        session.add(row)
    return row


@pytest.fixture
def jira_site(sessions: sessionmaker[Session]) -> Site:
    return _store(
        sessions,
        Site(
            name="acme-jira",
            product=Product.JIRA,
            url="https://acme.atlassian.net",
            created_at=CREATED_AT,
        ),
    )


@pytest.fixture
def confluence_site(sessions: sessionmaker[Session]) -> Site:
    return _store(
        sessions,
        Site(
            name="acme-wiki",
            product=Product.CONFLUENCE,
            url="https://acme-wiki.atlassian.net",
            created_at=CREATED_AT,
        ),
    )


@pytest.fixture
def managed_storage(sessions: sessionmaker[Session]) -> StorageLocation:
    return _store(
        sessions,
        StorageLocation(
            name="managed",
            kind=StorageKind.LOCAL,
            owner=StorageOwner.MANAGED,
            created_at=CREATED_AT,
        ),
    )


@pytest.fixture
def new_backup(managed_storage: StorageLocation) -> BackupFactory:
    """Builds an unsaved manual backup of a site into managed storage, created at CREATED_AT."""

    def build(status: BackupStatus, site: Site) -> Backup:
        return Backup(
            id=new_id(IdKind.BACKUP),
            site_id=site.id,
            storage_location_id=managed_storage.id,
            status=status,
            created_at=CREATED_AT,
            expires_at=expires_at(CREATED_AT, StorageOwner.MANAGED),
            requested_by="alice@example.com",
        )

    return build
