"""`backupbot demo`: what exists so far, run end to end on embedded defaults.

It serves a sandbox Atlassian site and an empty one on loopback ports, parses /backup commands
as the bot will, applies the rules to three simulated people, backs the Jira and Confluence
sites up for real into local managed storage (the database refusing a second backup of a busy
site) and verifies each backup, then restores each into the empty site: the plan with its
estimates, the restore, and the verification of what was restored. It exits 0 only if every
step did what it shows, and leaves nothing behind.
"""

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atlassian.sandbox.control import SANDBOX_TOKEN
from atlassian.sandbox.data import SiteData
from atlassian.sandbox.server import running_sandbox
from bot.progress import (
    describe_differences,
    describe_plan,
    describe_report,
    describe_restore,
    describe_result,
)
from commands.grammar import CommandError, Vocabulary, parse
from jobs import backup, restore, restore_job
from jobs.context import JobContext
from jobs.verify import verify_backup
from policy.objectives import reference_objectives
from policy.products import Product
from policy.retention import StorageOwner, expires_at
from policy.roles import Activity, NotAuthorized, Roles, authorize
from policy.sizes import format_size, parse_size
from policy.statuses import BackupStatus, RestoreStatus
from storage.catalog import BackupAlreadyActive
from storage.config import Environment, parse_config
from storage.database import create_engine, default_database_url, session_factory, upgrade
from storage.manifest_key import load_or_create_key

DEMO_SEED = 7
RESTORE_INTO = {"acme-jira": "acme-jira-test", "acme-wiki": "acme-wiki-test"}
DEMO_CONFIG: dict[str, Any] = {
    "channels": {"notifications": "C0NOTIFY1", "approvals": "C0APPROVE"},
    "roles": {
        "org_admins": ["alice@example.com", "bob@example.com"],
        "app_admins": {"jira": ["alice@example.com", "bob@example.com", "carol@example.com"]},
    },
    "sites": {
        "acme-jira": {
            "product": "jira",
            "url": "set at start",
            "email": "svc@example.com",
            "token_env": "DEMO_TOKEN",
        },
        "acme-wiki": {
            "product": "confluence",
            "url": "set at start",
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


def _backups(context: JobContext) -> dict[str, str]:
    """Each source site's verified backup id; empty if any step did not do what it shows."""
    _section("backing up the sandbox sites for real, then verifying each backup")
    ok = True
    made: dict[str, str] = {}
    for site in RESTORE_INTO:
        queued = backup.queue(context, site, None, "alice@example.com")
        try:
            backup.queue(context, site, None, "bob@example.com")
            print(f"{site}: a second backup while {queued.id} is queued was accepted (wrong)")
            ok = False
        except BackupAlreadyActive as refusal:
            print(f"{site}: a second backup now is refused: {refusal}")
        result = backup.run(context, queued.id)
        print(describe_result(site, result))
        product = context.config.sites[site].product
        objectives = reference_objectives(product, result.data_bytes, result.attachment_bytes)
        print(f"   {objectives.describe()}")
        report = verify_backup(context, queued.id)
        print(f"   {describe_report(report)}")
        ok = ok and result.status is BackupStatus.COMPLETED and report.ok
        made[site] = queued.id
    return made if ok else {}


def _restores(context: JobContext, backups: dict[str, str]) -> bool:
    _section("restoring each backup into an empty sandbox site: the plan, then the restore")
    ok = True
    for source, backup_id in backups.items():
        plan = restore.preview(context, backup_id, target=RESTORE_INTO[source])
        print(describe_plan(plan, restore_job.estimates(context, plan)))
        queued = restore_job.queue(context, plan, requested_by="alice@example.com")
        result = restore_job.execute(context, queued.id, plan)
        print(describe_restore(queued.id, result))
        differences = restore.verify(context, plan, result)
        print(describe_differences(differences))
        ok = ok and result.status is RestoreStatus.COMPLETED and not differences
    return ok


def _context(data_dir: Path, site_url: str, empty_url: str) -> JobContext:
    sites = {name: {**site, "url": site_url} for name, site in DEMO_CONFIG["sites"].items()}
    sites |= {
        target: {**DEMO_CONFIG["sites"][source], "url": empty_url}
        for source, target in RESTORE_INTO.items()
    }
    environ = {"DEMO_TOKEN": SANDBOX_TOKEN}
    config = parse_config({**DEMO_CONFIG, "sites": sites}, environ, data_dir)
    engine = create_engine(default_database_url(data_dir))
    upgrade(engine)
    return JobContext(
        config,
        Environment.from_environ({**environ, "BACKUPBOT_DATA_DIR": str(data_dir)}),
        session_factory(engine),
        load_or_create_key(data_dir),
    )


def run() -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    site = SiteData.generate(DEMO_SEED, projects=3, issues=300, spaces=2, pages=60)
    with (
        tempfile.TemporaryDirectory(prefix="backupbot-demo-") as directory,
        running_sandbox(site) as site_url,
        running_sandbox(SiteData.empty(DEMO_SEED)) as empty_url,
    ):
        context = _context(Path(directory), site_url, empty_url)
        config = context.config
        vocabulary = Vocabulary(
            {name: site.product for name, site in config.sites.items()}, tuple(config.storage)
        )
        print(
            f"backupbot demo: a sandbox Atlassian site on {site_url}, an empty one on "
            f"{empty_url}; "
            f"sites {', '.join(config.sites)}; storage {', '.join(config.storage)}"
        )
        refused = _commands(vocabulary)
        _roles()
        _rules(now)
        backups = _backups(context)
        restored = bool(backups) and _restores(context, backups)
    ok = refused == 2 and restored
    print(
        "\nThe same backups and restores run from Slack with `backupbot serve` (see the README); "
        "this demo drives them directly."
    )
    print("demo: OK" if ok else "demo: FAILED")
    return 0 if ok else 1
