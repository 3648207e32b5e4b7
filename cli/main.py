"""The `backupbot` command line (docs/contract.md).

Each subcommand is one small function. A problem an operator can fix (a bad config file, an
unreachable database) is printed as plain sentences on stderr with exit status 2, never as a
traceback; secrets are never printed.
"""

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from atlassian_cloud.restore_plan import RestoreScope, ScopeNotFound
from cli.progress import (
    TaskProgress,
    describe_differences,
    describe_plan,
    describe_report,
    describe_restore,
    describe_result,
)
from commands.grammar import CommandError, parse_scope
from jobs import backup, restore, restore_job
from jobs.catalog_sync import sync_catalog
from jobs.context import JobContext, open_deployment
from jobs.verify import UnknownBackup, verify_backup
from policy.restore import RestoreRefused
from policy.statuses import BackupStatus, RestoreStatus
from settings.environment import Environment
from settings.errors import ConfigError
from settings.loading import load_config
from storage import catalog, restores
from storage.artifacts import StorageError
from storage.catalog import BackupAlreadyActive
from storage.database import (
    BackupRefused,
    MigrationError,
    UnsupportedDatabaseUrl,
    backup_sqlite,
    create_engine,
    current_revision,
    upgrade,
)
from storage.restores import RestoreAlreadyActive
from storage.snapshot import SnapshotError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # as shells report a process ended by Ctrl-C
EXIT_BY_STATUS = {BackupStatus.COMPLETED: 0, BackupStatus.INCOMPLETE: 3}


class CommandLineError(Exception):
    """A mistake on the command line, said in one sentence."""


def _shown_url(url: str) -> str:
    """A database URL fit to print: the password, if any, masked."""
    return make_url(url).render_as_string(hide_password=True)


def db_upgrade(_: argparse.Namespace) -> int:
    environment = Environment.from_environ()
    url = environment.database_url.reveal()
    engine = create_engine(url)
    try:
        upgrade(engine)
        revision = current_revision(engine)
    finally:
        engine.dispose()
    print(f"database {_shown_url(url)} is at revision {revision}")
    return 0


def db_backup(arguments: argparse.Namespace) -> int:
    url = Environment.from_environ().database_url.reveal()
    try:
        size = backup_sqlite(url, arguments.file)
    except BackupRefused as error:
        raise CommandLineError(str(error)) from None
    print(f"copied {_shown_url(url)} to {arguments.file} ({size:,} bytes)")
    return 0


def config_check(arguments: argparse.Namespace) -> int:
    environment = Environment.from_environ()
    config = load_config(arguments.file or environment.config_path)
    print(
        f"configuration is valid: {len(config.sites)} site(s), "
        f"{len(config.storage)} storage location(s), roles from {config.roles.source}"
    )
    return 0


def _site_named(context: JobContext, name: str) -> str:
    if name not in context.config.sites:
        known = ", ".join(sorted(context.config.sites)) or "none configured"
        raise CommandLineError(f"there is no site {name!r} in the configuration (sites: {known})")
    return name


def _storage_named(context: JobContext, name: str) -> str:
    if name not in context.config.storage:
        known = ", ".join(sorted(context.config.storage))
        raise CommandLineError(f"there is no storage location {name!r} (locations: {known})")
    return name


def backup_site(arguments: argparse.Namespace) -> int:
    context = open_deployment()
    site = _site_named(context, arguments.site)
    storage = _storage_named(context, arguments.to) if arguments.to else None
    with context.sessions.begin() as session:
        for stranded in catalog.mark_interrupted(
            session, context.clock(), context.config.jobs.stale_after
        ):
            print(f"{stranded.id}: marked Failed ({catalog.INTERRUPTED})", file=sys.stderr)
    try:
        queued = backup.queue(context, site, storage, requested_by=None)
    except BackupAlreadyActive as error:
        raise CommandLineError(str(error)) from None
    print(queued.id, flush=True)
    with TaskProgress(f"{queued.id} of {site}") as progress:
        result = backup.run(context, queued.id, progress=progress.update)
    print(describe_result(site, result), file=sys.stderr)
    return EXIT_BY_STATUS.get(result.status, 1)


def restore_backup(arguments: argparse.Namespace) -> int:
    context = open_deployment()
    target = _site_named(context, arguments.to) if arguments.to else None
    try:
        scope = parse_scope(arguments.only) if arguments.only else None
    except CommandError as error:
        raise CommandLineError(f"--only: {error.message}") from None
    restore_scope = RestoreScope(scope.kind.value, scope.key) if scope else None
    backup_id = arguments.backup_id.lower()
    try:
        plan = restore.preview(context, backup_id, target=target, scope=restore_scope)
    except (RestoreRefused, ScopeNotFound) as error:
        raise CommandLineError(str(error)) from None
    print(describe_plan(plan, restore_job.estimates(context, plan)))
    if arguments.preview:
        return 0
    with context.sessions.begin() as session:
        for stranded in restores.mark_interrupted(
            session, context.clock(), context.config.jobs.stale_after
        ):
            print(f"{stranded.id}: marked Failed ({restores.INTERRUPTED})", file=sys.stderr)
    try:
        queued = restore_job.queue(context, plan, requested_by=None)
    except RestoreAlreadyActive as error:
        raise CommandLineError(str(error)) from None
    with TaskProgress(f"{queued.id} into {plan.target_site}") as progress:
        result = restore_job.execute(context, queued.id, plan, progress=progress.update)
    print(describe_restore(queued.id, result))
    restored = result.status in (RestoreStatus.COMPLETED, RestoreStatus.INCOMPLETE)
    if restored:
        differences = restore.verify(context, plan, result)
        print(describe_differences(differences))
    else:
        differences = []
    map_path = context.environment.data_dir / "restores" / queued.id / "id-map.json"
    print(f"old -> new ids: {map_path}")
    if result.status is RestoreStatus.COMPLETED and not differences:
        return 0
    return 3 if restored else 1


def verify(arguments: argparse.Namespace) -> int:
    context = open_deployment()
    try:
        report = verify_backup(context, arguments.backup_id.lower())
    except UnknownBackup as error:
        raise CommandLineError(str(error)) from None
    except (StorageError, SnapshotError) as error:
        print(f"{arguments.backup_id}: NOT VERIFIED: {error}")
        return 1
    print(describe_report(report))
    return 0 if report.ok else 1


def catalog_sync(arguments: argparse.Namespace) -> int:
    context = open_deployment()
    report = sync_catalog(context, _storage_named(context, arguments.storage))
    print(
        f"{arguments.storage}: {len(report.added)} backup(s) added to the catalog, "
        f"{report.already_known} already known, {len(report.skipped)} skipped, "
        f"{len(report.rejected)} rejected"
    )
    for line in (*report.skipped, *report.rejected):
        print(f"  {line}")
    return 1 if report.rejected else 0


def demo(_: argparse.Namespace) -> int:
    # Slack's libraries load only for the demo and the console: other commands start faster.
    from offline.demo import run as run_demo  # noqa: PLC0415

    return run_demo()


def console(arguments: argparse.Namespace) -> int:
    from offline.console import run as run_console  # noqa: PLC0415
    from offline.playground import SiteSize, person  # noqa: PLC0415

    try:
        speaker = person(arguments.speaker).name
    except KeyError as unknown:
        raise CommandLineError(f"--as: {unknown.args[0]}") from None
    for option in ("issues", "pages"):
        if getattr(arguments, option) < 1:
            raise CommandLineError(f"--{option} must be at least 1")
    data_dir = arguments.data_dir or Environment.from_environ().data_dir / "console"
    try:  # before any server starts: a folder the console cannot write is one clear line
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".writable"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise CommandLineError(
            f"cannot use {data_dir} for the console's data: {error.strerror}"
        ) from None
    return run_console(data_dir, speaker, SiteSize(issues=arguments.issues, pages=arguments.pages))


def serve(arguments: argparse.Namespace) -> int:
    # Slack's libraries and waitress load only when serving: other commands start faster.
    from bot.serve import serve as run_server  # noqa: PLC0415

    return run_server(arguments.host, arguments.port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backupbot",
        description="Back up and restore Atlassian Cloud sites from Slack.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="<db-command>")
    db_commands.add_parser("upgrade", help="apply the database migrations").set_defaults(
        run=db_upgrade
    )
    db_backup_parser = db_commands.add_parser(
        "backup",
        help="copy the SQLite database to a new file while the bot runs",
        description="A consistent copy of the bot's SQLite database (schedules, requests, the "
        "catalog, the audit log), made while the bot runs. For PostgreSQL use pg_dump.",
    )
    db_backup_parser.add_argument("file", type=Path, help="the new file (must not exist)")
    db_backup_parser.set_defaults(run=db_backup)

    config = commands.add_parser("config", help="configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="<cmd>")
    check = config_commands.add_parser("check", help="validate the configuration file")
    check.add_argument("--file", type=Path, help="the YAML file (default: $BACKUPBOT_CONFIG)")
    check.set_defaults(run=config_check)

    commands.add_parser(
        "demo", help="run the demo: the Slack app on embedded defaults, as a transcript"
    ).set_defaults(run=demo)

    console_parser = commands.add_parser(
        "console",
        help="chat with the bot in a terminal as simulated admins (no Slack needed)",
        description="Chat with the real Slack app in a terminal, as one of four simulated "
        "people, against sandbox sites; `help` inside lists the console's own commands.",
    )
    console_parser.add_argument(
        "--as", dest="speaker", default="alice", help="who you are at first (default: alice)"
    )
    console_parser.add_argument(
        "--data-dir",
        type=Path,
        help="the console's database and backups (default: $BACKUPBOT_DATA_DIR/console)",
    )
    console_parser.add_argument(
        "--issues", type=int, default=200, help="issues in the seeded Jira site (default: 200)"
    )
    console_parser.add_argument(
        "--pages", type=int, default=40, help="pages in the seeded Confluence site (default: 40)"
    )
    console_parser.set_defaults(run=console)

    serve_parser = commands.add_parser(
        "serve", help="run the Slack app (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)"
    )
    serve_parser.add_argument("--port", type=int, default=3000)
    serve_parser.add_argument("--host", default="0.0.0.0", help="address to listen on")  # noqa: S104
    serve_parser.set_defaults(run=serve)

    # Listed for --help only: main() hands `sandbox ...` to the sandbox's own parser.
    commands.add_parser(
        "sandbox", help="serve a simulated Atlassian Cloud site (--help for its options)"
    )

    backup_parser = commands.add_parser(
        "backup",
        help="back a site up now, with a progress bar",
        description="Back a site up now. Prints the backup id; exits 0 when Completed, "
        "3 when Incomplete (some items could not be read; the manifest lists them), "
        "1 when Failed or Cancelled.",
    )
    backup_parser.add_argument("site")
    backup_parser.add_argument(
        "--to", metavar="STORAGE", help="storage location (default: the site's)"
    )
    backup_parser.set_defaults(run=backup_site)

    restore_parser = commands.add_parser(
        "restore",
        help="restore a backup (or one project, space, issue or page) into a site",
        description="Show the plan, then restore it and verify the result. Exits 0 when the "
        "restore is Completed and verification finds no difference, 3 when it is Incomplete "
        "or differs, 1 when it Failed or was Cancelled. --preview shows the plan only.",
    )
    restore_parser.add_argument("backup_id")
    restore_parser.add_argument("--to", metavar="SITE", help="target site (default: the backup's)")
    restore_parser.add_argument(
        "--only", metavar="SCOPE", help="project:KEY, space:KEY, issue:KEY-123 or page:ID"
    )
    restore_parser.add_argument("--preview", action="store_true", help="change nothing")
    restore_parser.set_defaults(run=restore_backup)

    verify_parser = commands.add_parser(
        "verify", help="re-read a backup and check every checksum and its signature"
    )
    verify_parser.add_argument("backup_id")
    verify_parser.set_defaults(run=verify)

    catalog = commands.add_parser("catalog", help="the backup catalog")
    catalog_commands = catalog.add_subparsers(
        dest="catalog_command", required=True, metavar="<cmd>"
    )
    sync = catalog_commands.add_parser(
        "sync", help="rebuild the catalog from the manifests in a storage location"
    )
    sync.add_argument("storage")
    sync.set_defaults(run=catalog_sync)
    return parser


# Packages of the `sandbox` extra (pyproject.toml): `sandbox`, `demo` and `console` need them.
SANDBOX_EXTRA = frozenset({"starlette", "uvicorn"})


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # Operators read problems from our own sentences; library chatter stays below errors.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    try:
        if words[:1] == ["sandbox"]:
            return _serve_sandbox(words[1:])
        arguments = _parser().parse_args(words)
        run: Callable[[argparse.Namespace], int] = arguments.run
        return run(arguments)
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        if missing not in SANDBOX_EXTRA:
            raise
        print(
            f"backupbot: {words[0]} runs the sandbox site, which needs the sandbox extra "
            f"({missing} is not installed): pip install 'backupbot[sandbox]'",
            file=sys.stderr,
        )
    except CommandLineError as error:
        print(f"backupbot: {error}", file=sys.stderr)
    except ConfigError as error:
        print(error, file=sys.stderr)
    except UnsupportedDatabaseUrl as error:
        print(f"BACKUPBOT_DATABASE_URL: {error}", file=sys.stderr)
    except (SQLAlchemyError, MigrationError) as error:
        print(f"database error: {_first_line(error)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("backupbot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE


def _serve_sandbox(words: list[str]) -> int:
    # Imported here: the sandbox's web server is an optional extra, not needed to run the bot.
    from sandbox.server import main as sandbox_main  # noqa: PLC0415

    return sandbox_main(words)


def _first_line(error: BaseException) -> str:
    """The driver's own sentence, without SQLAlchemy's wrapping and the SQL it ran."""
    original = error.orig if isinstance(error, DBAPIError) else error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


if __name__ == "__main__":
    sys.exit(main())
