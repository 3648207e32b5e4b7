"""`backupbot demo`: what exists so far, run end to end on embedded defaults.

It reads an embedded configuration, parses /backup commands as the bot will, applies the rules
to three simulated people, and shows the database refusing a second running backup of a site.
It exits 0 only if every step did what it shows, and leaves nothing behind.
"""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from commands.grammar import CommandError, Vocabulary, parse
from policy.identifiers import IdKind
from policy.objectives import reference_objectives
from policy.products import Product
from policy.retention import StorageOwner, expires_at
from policy.roles import Activity, NotAuthorized, Roles, authorize
from policy.sizes import format_size, parse_size
from policy.statuses import BackupStatus
from storage.config import parse_config
from storage.database import create_engine, default_database_url, session_factory, upgrade
from storage.ids import new_id
from storage.models import Backup, Site, StorageKind, StorageLocation

DEMO_CONFIG = {
    "channels": {"notifications": "C0NOTIFY1", "approvals": "C0APPROVE"},
    "roles": {
        "org_admins": ["alice@example.com", "bob@example.com"],
        "app_admins": {"jira": ["alice@example.com", "bob@example.com", "carol@example.com"]},
    },
    "sites": {
        "acme-jira": {
            "product": "jira",
            "url": "http://127.0.0.1:8123",
            "email": "svc@example.com",
            "token_env": "DEMO_TOKEN",
        },
        "acme-wiki": {
            "product": "confluence",
            "url": "http://127.0.0.1:8124",
            "email": "svc@example.com",
            "token_env": "DEMO_TOKEN",
        },
    },
}
COMMANDS = [
    "now acme-jira",
    "schedule acme-wiki weekly on sun at 02:30 tz Europe/Berlin",
    "restore bk-a1b2c3d4 to acme-jira only project:OPS preview",
    "estimate jira 60GB 3.5 TB",
    "now acme-jria",
    "restore bk-a1b2c3d4 only page:12 to acme-jira",
]
PEOPLE = {
    "alice": Roles(org_admin=True, app_admin_of=frozenset({Product.JIRA})),
    "carol": Roles(app_admin_of=frozenset({Product.JIRA})),
    "dave": Roles(),
}


def _section(title: str) -> None:
    print(f"\n== {title}")


def _commands(vocabulary: Vocabulary) -> int:
    _section("/backup commands, parsed as the bot parses them")
    failures = 0
    for text in COMMANDS:
        try:
            action = parse(text, vocabulary)
            print(f"/backup {text}\n   -> {type(action).__name__}: {action.to_text()}")
        except CommandError as error:
            print(f"/backup {text}\n   -> refused: {error.message}")
            failures += 1
    return failures


def _roles() -> None:
    _section("who may do what (organization admin and app admin)")
    for name, roles in PEOPLE.items():
        for activity in (Activity.LIST, Activity.NOW):
            try:
                authorize(activity, roles, Product.JIRA)
                print(f"{name}: {activity.phrase} on a Jira site: allowed")
            except NotAuthorized as refusal:
                print(f"{name}: refused: {refusal.message}")


def _rules(now: datetime) -> None:
    _section("retention and Atlassian's reference objective")
    for owner in StorageOwner:
        print(
            f"a backup in {owner.value} storage made {now:%Y-%m-%d %H:%M} UTC is restorable until "
            f"{expires_at(now, owner):%Y-%m-%d %H:%M} UTC"
        )
    for product, data, attachments in (
        (Product.JIRA, "60GB", "3.5TB"),
        (Product.JIRA, "61GB", "1TB"),
        (Product.CONFLUENCE, "125GB", "0B"),
    ):
        objectives = reference_objectives(product, parse_size(data), parse_size(attachments))
        print(
            f"{product.label}, {format_size(parse_size(data))} data and "
            f"{format_size(parse_size(attachments))} attachments: {objectives.describe()}"
        )


def _database(data_dir: Path, now: datetime) -> bool:
    _section("the database keeps one running backup per site")
    engine = create_engine(default_database_url(data_dir))
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            site = Site(
                name="acme-jira", product=Product.JIRA, url="http://127.0.0.1:8123", created_at=now
            )
            location = StorageLocation(
                name="managed", kind=StorageKind.LOCAL, owner=StorageOwner.MANAGED, created_at=now
            )
            session.add_all([site, location])
        first = _queued_backup(site, location, now)
        with sessions.begin() as session:
            session.add(first)
        print(f"{first.id} for acme-jira: {first.status}")
        try:
            with sessions.begin() as session:
                session.add(_queued_backup(site, location, now))
        except IntegrityError:
            print("a second backup of acme-jira while the first is queued: refused by the database")
            return True
        print("a second backup of acme-jira was accepted: the database did not enforce the rule")
        return False
    finally:
        engine.dispose()


def _queued_backup(site: Site, location: StorageLocation, now: datetime) -> Backup:
    return Backup(
        id=new_id(IdKind.BACKUP),
        site_id=site.id,
        storage_location_id=location.id,
        status=BackupStatus.QUEUED,
        created_at=now,
        expires_at=expires_at(now, location.owner),
        requested_by="alice@example.com",
    )


def run() -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="backupbot-demo-") as directory:
        data_dir = Path(directory)
        config = parse_config(DEMO_CONFIG, {"DEMO_TOKEN": "demo"}, data_dir)
        vocabulary = Vocabulary(
            {name: site.product for name, site in config.sites.items()}, tuple(config.storage)
        )
        print(f"backupbot demo: {len(config.sites)} sites, storage: {', '.join(config.storage)}")
        refused = _commands(vocabulary)
        _roles()
        _rules(now)
        enforced = _database(data_dir, now)
    ok = refused == 2 and enforced
    print("\nBackups, restores and the Slack app come with the next issues.")
    print("demo: OK" if ok else "demo: FAILED")
    return 0 if ok else 1
