"""The rules a restore follows before it writes anything (policy.restore), at their boundaries."""

from datetime import UTC, datetime, timedelta

import pytest

from policy.products import Product
from policy.restore import (
    AttachmentSource,
    ProjectDecision,
    RestoreRefused,
    SpaceDecision,
    attachment_source,
    check_backup,
    check_target,
    decide_project,
    decide_space,
    page_parent,
)
from policy.statuses import BackupStatus

EXPIRES = datetime(2025, 3, 15, 9, 30, tzinfo=UTC)


def test_a_backup_is_restorable_until_the_instant_before_it_expires() -> None:
    check_backup("bk-abcdef", BackupStatus.COMPLETED, EXPIRES, EXPIRES - timedelta(microseconds=1))


def test_a_backup_is_refused_at_the_exact_instant_it_expires_saying_when() -> None:
    with pytest.raises(RestoreRefused, match="expired at 2025-03-15 09:30:00 UTC"):
        check_backup("bk-abcdef", BackupStatus.COMPLETED, EXPIRES, EXPIRES)


def test_an_incomplete_backup_may_be_restored() -> None:
    check_backup("bk-abcdef", BackupStatus.INCOMPLETE, EXPIRES, EXPIRES - timedelta(days=1))


@pytest.mark.parametrize(
    "status", [BackupStatus.FAILED, BackupStatus.IN_PROGRESS, BackupStatus.CANCELLED]
)
def test_a_backup_whose_status_holds_no_data_is_refused(status: BackupStatus) -> None:
    with pytest.raises(RestoreRefused, match=f"is {status.value}"):
        check_backup("bk-abcdef", status, EXPIRES, EXPIRES - timedelta(days=1))


def test_the_target_must_be_a_configured_site() -> None:
    with pytest.raises(RestoreRefused, match="not a site configured"):
        check_target(Product.JIRA, "elsewhere", None)


def test_the_target_must_be_of_the_backups_product() -> None:
    with pytest.raises(RestoreRefused, match="is a Confluence site; this backup is of Jira"):
        check_target(Product.JIRA, "wiki", Product.CONFLUENCE)


@pytest.mark.parametrize(
    ("exists", "has_issues", "single", "decision"),
    [
        (False, False, False, ProjectDecision.CREATE),
        (True, False, False, ProjectDecision.INTO_EMPTY),
        (True, True, False, ProjectDecision.CONFLICT),
        (True, True, True, ProjectDecision.INTO_EXISTING),
        (False, False, True, ProjectDecision.CREATE),
    ],
)
def test_jira_projects_are_restored_only_where_empty_unless_one_issue_is(
    exists: bool, has_issues: bool, single: bool, decision: ProjectDecision
) -> None:
    assert decide_project(exists, has_issues, single) is decision


@pytest.mark.parametrize(
    ("exists", "single", "decision"),
    [
        (False, False, SpaceDecision.CREATE),
        (True, False, SpaceDecision.SKIP),
        (True, True, SpaceDecision.INTO_EXISTING),
    ],
)
def test_existing_confluence_spaces_are_skipped_unless_one_page_is_restored(
    exists: bool, single: bool, decision: SpaceDecision
) -> None:
    assert decide_space(exists, single) is decision


def test_a_single_page_goes_under_its_parent_when_it_exists_else_at_the_root() -> None:
    assert page_parent("42", parent_in_target=True) == "42"
    assert page_parent("42", parent_in_target=False) is None
    assert page_parent(None, parent_in_target=True) is None


@pytest.mark.parametrize(
    ("stored", "original", "source"),
    [
        (True, True, AttachmentSource.REUPLOAD),
        (True, False, AttachmentSource.REUPLOAD),
        (False, True, AttachmentSource.RELINK),
        (False, False, AttachmentSource.MISSING),
    ],
)
def test_stored_content_wins_then_the_original_else_the_attachment_is_missing(
    stored: bool, original: bool, source: AttachmentSource
) -> None:
    assert attachment_source(stored, original) is source
