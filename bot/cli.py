"""The `backupbot` command line (ARCHITECTURE §5).

Each subcommand is one small function. A problem an operator can fix (a bad config file, an
unreachable database) is printed as plain sentences on stderr with exit status 2, never as a
traceback; secrets are never printed.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.demo import run as run_demo
from storage.config import ConfigError, Environment, load_config
from storage.database import (
    MigrationError,
    UnsupportedDatabaseUrl,
    create_engine,
    current_revision,
    upgrade,
)

EXIT_USAGE = 2


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


def config_check(arguments: argparse.Namespace) -> int:
    environment = Environment.from_environ()
    config = load_config(arguments.file or environment.config_path)
    print(
        f"configuration is valid: {len(config.sites)} site(s), "
        f"{len(config.storage)} storage location(s), roles from {config.roles.source}"
    )
    return 0


def demo(_: argparse.Namespace) -> int:
    return run_demo()


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

    config = commands.add_parser("config", help="configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="<cmd>")
    check = config_commands.add_parser("check", help="validate the configuration file")
    check.add_argument("--file", type=Path, help="the YAML file (default: $BACKUPBOT_CONFIG)")
    check.set_defaults(run=config_check)

    commands.add_parser("demo", help="run the demo on embedded defaults").set_defaults(run=demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = arguments.run
    try:
        return run(arguments)
    except ConfigError as error:
        print(error, file=sys.stderr)
    except UnsupportedDatabaseUrl as error:
        print(f"BACKUPBOT_DATABASE_URL: {error}", file=sys.stderr)
    except (SQLAlchemyError, MigrationError) as error:
        print(f"database error: {_first_line(error)}", file=sys.stderr)
    return EXIT_USAGE


def _first_line(error: BaseException) -> str:
    """The driver's own sentence, without SQLAlchemy's wrapping and the SQL it ran."""
    original = error.orig if isinstance(error, DBAPIError) else error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


if __name__ == "__main__":
    sys.exit(main())
