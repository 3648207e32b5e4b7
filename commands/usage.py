"""The usage line and one-line summary of every /backup subcommand: the single source for error
messages, `/backup help` and the README's command reference."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: tuple[str, ...]  # each without the leading "/backup "
    summary: str


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", ("help [<topic>]",), "Show the commands, or explain one command or topic."),
    Subcommand("sites", ("sites",), "List the configured sites and their storage."),
    Subcommand(
        "now", ("now <site> [to <storage>]",), "Back a site up now; answers with the backup id."
    ),
    Subcommand(
        "list",
        ("list [<site>] [all]",),
        "List restorable and running backups (`all`: also expired, failed and cancelled).",
    ),
    Subcommand("status", ("status <backup-id>",), "Show one backup: status, sizes, expiry."),
    Subcommand(
        "cancel",
        ("cancel <backup-id|request-id>",),
        "Stop a queued or running backup or restore, or withdraw a restore request.",
    ),
    Subcommand(
        "verify",
        ("verify <backup-id>",),
        "Re-read a backup and check every checksum and its signature.",
    ),
    Subcommand(
        "schedule",
        (
            "schedule <site> once on <YYYY-MM-DD> at <HH:MM> [tz <Area/City>] [to <storage>]",
            "schedule <site> daily at <HH:MM> [tz <Area/City>] [to <storage>]",
            "schedule <site> weekly on <mon..sun> at <HH:MM> [tz <Area/City>] [to <storage>]",
        ),
        "Back a site up once, daily or weekly at a time of your choosing.",
    ),
    Subcommand("schedules", ("schedules [<site>]",), "List schedules and their next runs."),
    Subcommand("unschedule", ("unschedule <schedule-id>",), "Remove a schedule."),
    Subcommand(
        "restore",
        (
            "restore <backup-id> [to <site>] "
            "[only project:<KEY>|space:<KEY>|issue:<KEY-123>|page:<id>] [preview]",
        ),
        "Ask to restore a backup (a second admin approves); `preview` changes nothing.",
    ),
    Subcommand("approvals", ("approvals",), "List restore requests waiting for approval."),
    Subcommand(
        "estimate",
        ("estimate <site>", "estimate <jira|confluence> <data-size> [<attachment-size>]"),
        "Show Atlassian's reference RPO/RTO and this deployment's own estimate.",
    ),
    Subcommand("audit", ("audit [<n>]",), "Show the last n entries of the audit log."),
)

BY_NAME: dict[str, Subcommand] = {sub.name: sub for sub in SUBCOMMANDS}

# Topics `/backup help <topic>` explains besides the subcommands themselves.
CONCEPT_TOPICS: dict[str, str] = {
    "roles": "Who may do what: organization admin and app admin roles.",
    "retention": "How long backups are kept: 14 days managed, 30 days in your S3 bucket.",
    "objectives": "Atlassian's reference RPO/RTO by size, and this deployment's own estimate.",
}
HELP_TOPICS: tuple[str, ...] = tuple(BY_NAME) + tuple(CONCEPT_TOPICS)


def usage_of(name: str) -> str:
    """The usage lines of one subcommand, each starting with `/backup`."""
    return "\n".join(f"/backup {line}" for line in BY_NAME[name].usage)


def overview() -> str:
    """Every subcommand's usage, for an unknown subcommand and for plain `/backup help`."""
    return "\n".join(f"/backup {line}" for sub in SUBCOMMANDS for line in sub.usage)
