"""The rules a restore follows before anything is written (docs/rules.md, "Restore targets").

Pure functions of plain values: whether a backup may be restored now (and, if not, a refusal that
says why, with the instant it expired), whether a site may receive it, and what happens to each
Jira project, Confluence space, page parent and attachment of the backup. Atlassian requires an
empty Jira destination and skips Confluence spaces that already exist; we apply the Jira rule per
project and allow single-issue and single-page restores into existing projects and spaces.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from policy.products import Product
from policy.retention import is_restorable, require_aware
from policy.statuses import RESTORABLE_BACKUP_STATUSES, BackupStatus


class RestoreRefused(ValueError):
    """A restore that must not start, with the reason in words an admin can act on."""


def check_backup(backup_id: str, status: BackupStatus, expires_at: datetime, now: datetime) -> None:
    """Refuse a backup that is not restorable now: its status holds no data, or `now` is at or
    after its expiry instant (then the refusal names that instant, in UTC)."""
    if status not in RESTORABLE_BACKUP_STATUSES:
        allowed = " or ".join(sorted(s.value for s in RESTORABLE_BACKUP_STATUSES))
        raise RestoreRefused(
            f"{backup_id} is {status.value}: only a {allowed} backup can be restored"
        )
    if not is_restorable(status, expires_at, now):
        when = require_aware(expires_at, "expires_at").astimezone(UTC)
        raise RestoreRefused(
            f"{backup_id} expired at {when.strftime('%Y-%m-%d %H:%M:%S')} UTC and can no longer "
            "be restored"
        )


def check_target(backup_product: Product, target: str, target_product: Product | None) -> None:
    """Refuse a target that is not a configured site (`target_product` None) or is a site of
    another product than the backup's. Government sites never reach here: the configuration
    refuses them when it is loaded (`policy.eligibility`)."""
    if target_product is None:
        raise RestoreRefused(
            f"{target} is not a site configured in this bot: a backup is restored only into a "
            "site of the same organization that the bot's config names"
        )
    if target_product is not backup_product:
        raise RestoreRefused(
            f"{target} is a {target_product.label} site; this backup is of {backup_product.label}"
        )


class ProjectDecision(StrEnum):
    CREATE = "create"  # the key does not exist in the target: the project is created
    INTO_EMPTY = "into empty project"  # the project exists without issues: restored into it
    INTO_EXISTING = "into existing project"  # a single-issue restore into a project with issues
    CONFLICT = "conflict"  # the project has issues: nothing of it is written


def decide_project(exists: bool, has_issues: bool, single_issue: bool) -> ProjectDecision:
    """What happens to one Jira project of the backup in the target site."""
    if not exists:
        return ProjectDecision.CREATE
    if not has_issues:
        return ProjectDecision.INTO_EMPTY
    if single_issue:
        return ProjectDecision.INTO_EXISTING
    return ProjectDecision.CONFLICT


PROJECT_REASONS = {
    ProjectDecision.CREATE: "the project does not exist in the target: it is created",
    ProjectDecision.INTO_EMPTY: "the project exists in the target without issues",
    ProjectDecision.INTO_EXISTING: "a single issue may be restored into an existing project",
    ProjectDecision.CONFLICT: (
        "the project already has issues in the target; Jira restores only into an empty "
        "project, so nothing of this project is written"
    ),
}


class SpaceDecision(StrEnum):
    CREATE = "create"
    INTO_EXISTING = "into existing space"  # a single-page restore
    SKIP = "skip"  # the space exists: Confluence restores skip existing spaces


def decide_space(exists: bool, single_page: bool) -> SpaceDecision:
    """What happens to one Confluence space of the backup in the target site."""
    if not exists:
        return SpaceDecision.CREATE
    return SpaceDecision.INTO_EXISTING if single_page else SpaceDecision.SKIP


SPACE_REASONS = {
    SpaceDecision.CREATE: "the space does not exist in the target: it is created",
    SpaceDecision.INTO_EXISTING: "a single page may be restored into an existing space",
    SpaceDecision.SKIP: "the space already exists in the target, so it is skipped",
}


def page_parent(original_parent: str | None, parent_in_target: bool) -> str | None:
    """The parent a single restored page goes under: its original parent when that exists in
    the target, else none (the space root)."""
    return original_parent if original_parent is not None and parent_in_target else None


class AttachmentSource(StrEnum):
    REUPLOAD = "re-upload"  # the backup stored the content: uploaded from storage
    RELINK = "re-link"  # the original still exists in the source site: copied from there
    MISSING = "missing"  # neither: reported, not restored


def attachment_source(content_stored: bool, original_exists: bool) -> AttachmentSource:
    """Where a restored attachment's bytes come from.

    Stored content wins: it is the file as it was at backup time, verified by its SHA-256, and
    reading it costs the source site nothing. Otherwise the reference restores only while the
    file still exists in the source site (docs/rules.md, "Attachments").
    """
    if content_stored:
        return AttachmentSource.REUPLOAD
    if original_exists:
        return AttachmentSource.RELINK
    return AttachmentSource.MISSING


@dataclass(frozen=True)
class Unreproducible:
    """Something a REST restore cannot put back as it was, and what it does instead."""

    what: str
    instead: str


JIRA_UNREPRODUCIBLE = (
    Unreproducible(
        "comment authors and dates",
        "each comment starts with the original author and date; Jira sets the restoring "
        "account and now",
    ),
    Unreproducible(
        "issue creators, creation and update dates",
        "Jira sets them to the restoring account and now; the origin property keeps the ids",
    ),
    Unreproducible(
        "the changelog and workflow history",
        "the issue is moved to its original status where the workflow allows",
    ),
    Unreproducible(
        "attachment authors and upload dates", "the restoring account uploads each file now"
    ),
)

CONFLUENCE_UNREPRODUCIBLE = (
    Unreproducible(
        "comment authors and dates",
        "each comment starts with the original author and date",
    ),
    Unreproducible(
        "page authors, owners, creation dates and version history",
        "the restoring account creates version 1 of each page now",
    ),
    Unreproducible(
        "inline comment anchors and resolution",
        "inline comments become footer comments quoting the text they were anchored to",
    ),
    Unreproducible(
        "attachment authors, upload dates and versions",
        "the restoring account uploads the latest version of each file now",
    ),
)


def unreproducible(product: Product) -> tuple[Unreproducible, ...]:
    return JIRA_UNREPRODUCIBLE if product is Product.JIRA else CONFLUENCE_UNREPRODUCIBLE
