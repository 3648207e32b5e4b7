"""Sites and storage locations mirror the config: unique names, and organization storage is S3."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from policy.products import Product
from policy.retention import StorageOwner
from storage.models import Site, StorageKind, StorageLocation

CREATED_AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_two_sites_cannot_share_a_name(sessions: sessionmaker[Session], jira_site: Site) -> None:
    twin = Site(
        name=jira_site.name,
        product=Product.CONFLUENCE,
        url="https://other.atlassian.net",
        created_at=CREATED_AT,
    )

    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(twin)


@pytest.mark.parametrize(
    ("kind", "owner"),
    [
        (StorageKind.LOCAL, StorageOwner.MANAGED),
        (StorageKind.S3, StorageOwner.MANAGED),
        (StorageKind.S3, StorageOwner.ORGANIZATION),
    ],
)
def test_storage_locations_of_the_documented_kinds_are_stored(
    sessions: sessionmaker[Session], kind: StorageKind, owner: StorageOwner
) -> None:
    location = StorageLocation(name="backups", kind=kind, owner=owner, created_at=CREATED_AT)
    with sessions.begin() as session:
        session.add(location)

    with sessions() as session:
        stored = session.get_one(StorageLocation, location.id)
        assert (stored.kind, stored.owner) == (kind, owner)


def test_organization_storage_in_a_local_folder_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    # The organization's own storage is its S3 bucket; a local folder is the bot's (managed).
    location = StorageLocation(
        name="acme", kind=StorageKind.LOCAL, owner=StorageOwner.ORGANIZATION, created_at=CREATED_AT
    )

    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(location)
