"""Restoring Jira backups between two in-process sandbox sites: round trips verified through the
API, scoped restores, re-runs that write nothing, conflicts, resumption and damaged backups."""

import dataclasses
import threading
from datetime import timedelta

import pytest

from atlassian_cloud.restore_plan import RestoreScope
from jobs import restore
from policy.restore import RestoreRefused
from policy.statuses import RestoreStatus
from sandbox.control import SandboxOptions
from storage.models import Backup

from .conftest import SOURCE, TARGET, Sites, SitesFactory


def issue_keys(sites: Sites, origin: str, project: str) -> list[str]:
    answer = sites.call(
        origin,
        "GET",
        "/rest/api/3/search/jql",
        params={"jql": f'project = "{project}"', "fields": "summary", "maxResults": 100},
    )
    return [issue["key"] for issue in answer.json()["issues"]]


def restore_and_verify(sites: Sites, backup_id: str, **options: object) -> restore.RestoreResult:
    plan = restore.preview(sites.context, backup_id, **options)  # type: ignore[arg-type]
    result = restore.run(sites.context, plan)
    assert result.status is RestoreStatus.COMPLETED, result.failed
    assert restore.verify(sites.context, plan, result) == []
    return result


def test_a_whole_backup_restored_into_an_empty_site_has_no_difference(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    plan = restore.preview(site.context, backup_id, target="dst-jira")
    summary = plan.summary()
    assert summary["counts"]["projects"]["create"] == 2
    assert summary["counts"]["issues"]["create"] == 24
    assert summary["attachments"]["re-link"] > 0 and plan.requests > 24

    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.COMPLETED, result.failed
    assert result.created["issue"] == 24
    assert restore.verify(site.context, plan, result) == []
    assert sorted(issue_keys(site, TARGET, "ENG")) == sorted(
        result.key_map[key] for key in issue_keys(site, SOURCE, "ENG")
    )


def test_the_preview_writes_nothing(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    restore.preview(site.context, backup_id, target="dst-jira")
    assert site.router.writes_to(TARGET) == []


def test_re_running_a_finished_restore_writes_nothing(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    restore_and_verify(site, backup_id, target="dst-jira")
    writes = len(site.router.writes_to(TARGET))

    plan = restore.preview(site.context, backup_id, target="dst-jira")
    again = restore.run(site.context, plan)

    assert plan.counts["issues"].create == 0 and plan.counts["issues"].skip == 24
    assert again.status is RestoreStatus.COMPLETED and again.created == {}
    assert len(site.router.writes_to(TARGET)) == writes


def test_one_project_is_restored_alone(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    restore_and_verify(site, backup_id, target="dst-jira", scope=RestoreScope("project", "OPS"))
    assert site.call(TARGET, "GET", "/rest/api/3/project/ENG").status_code == 404
    assert len(issue_keys(site, TARGET, "OPS")) == len(issue_keys(site, SOURCE, "OPS"))


def test_one_issue_is_restored_alone(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    result = restore_and_verify(
        site, backup_id, target="dst-jira", scope=RestoreScope("issue", "ENG-3")
    )
    assert result.created["issue"] == 1
    assert issue_keys(site, TARGET, "ENG") == [result.key_map["ENG-3"]]


def test_a_project_with_issues_in_the_target_is_a_conflict_and_nothing_is_written(
    sites: SitesFactory,
) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    plan = restore.preview(site.context, backup_id, target="src-jira")
    assert plan.counts["projects"].conflict == 2 and plan.counts["issues"].conflict == 24
    assert any("already has issues" in note for note in plan.notes)

    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.INCOMPLETE
    assert site.router.writes_to(SOURCE) == []


@pytest.mark.parametrize(("storage", "comes_back"), [("copies", True), ("managed", False)])
def test_a_deleted_issue_comes_back_with_its_comments_and_stored_attachments(
    sites: SitesFactory, storage: str, comes_back: bool
) -> None:
    site = sites()
    backup_id = site.backup("src-jira", storage)
    plan = restore.preview(site.context, backup_id, scope=RestoreScope("issue", "ENG-2"))
    files = [a for a in plan.attachments]
    assert files, "the scene needs an issue with attachments"
    site.call(SOURCE, "DELETE", "/rest/api/3/issue/ENG-2")

    plan = restore.preview(site.context, backup_id, scope=RestoreScope("issue", "ENG-2"))
    result = restore.run(site.context, plan)

    source = "re-upload" if comes_back else "missing"
    assert plan.attachment_counts()[source] == len(files)
    assert result.created["issue"] == 1 and result.created.get("comment", 0) > 0
    assert result.created.get("attachment", 0) == (len(files) if comes_back else 0)
    assert result.status is (RestoreStatus.COMPLETED if comes_back else RestoreStatus.INCOMPLETE)
    assert restore.verify(site.context, plan, result) == []


def test_an_interrupted_restore_resumes_to_the_same_end_state(sites: SitesFactory) -> None:
    site = sites(target_options=SandboxOptions(latency_ms=10))
    backup_id = site.backup("src-jira")
    cancel = threading.Event()

    def stop_midway(progress: restore.Progress) -> None:
        if progress.items_done >= 40:
            cancel.set()

    plan = restore.preview(site.context, backup_id, target="dst-jira")
    first = restore.run(site.context, plan, progress=stop_midway, cancel=cancel)
    assert first.status is RestoreStatus.CANCELLED

    result = restore_and_verify(site, backup_id, target="dst-jira")

    assert len(issue_keys(site, TARGET, "ENG")) == len(issue_keys(site, SOURCE, "ENG"))
    assert len(issue_keys(site, TARGET, "OPS")) == len(issue_keys(site, SOURCE, "OPS"))
    assert result.skipped.get("issue", 0) > 0


def test_a_bulk_create_that_fails_on_the_site_is_sent_again_without_duplicates(
    sites: SitesFactory,
) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    site.target.state.faults.fail(500, paths=["/rest/api/3/issue/bulk"], times=1)

    restore_and_verify(site, backup_id, target="dst-jira")

    assert len(issue_keys(site, TARGET, "ENG")) == len(issue_keys(site, SOURCE, "ENG"))


def test_a_backup_is_refused_at_the_instant_it_expires(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    with site.context.sessions() as session:
        expires_at = session.get_one(Backup, backup_id).expires_at
    expired = dataclasses.replace(site.context, clock=lambda: expires_at)
    still = dataclasses.replace(site.context, clock=lambda: expires_at - timedelta(seconds=1))

    restore.preview(still, backup_id, target="dst-jira")
    with pytest.raises(RestoreRefused, match="expired at"):
        restore.preview(expired, backup_id, target="dst-jira")


def test_a_target_of_the_other_product_is_refused(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    with pytest.raises(RestoreRefused, match="Confluence site"):
        restore.preview(site.context, backup_id, target="dst-wiki")


def test_a_corrupted_chunk_stops_the_restore_before_any_write(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    chunk = next((site.tmp / "backups" / "src-jira" / backup_id / "comments").iterdir())
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))

    with pytest.raises(restore.DamagedBackup, match="cannot be trusted"):
        restore.preview(site.context, backup_id, target="dst-jira")
    assert site.router.writes_to(TARGET) == []


def test_429s_and_503s_during_a_restore_are_waited_out_without_duplicates(
    sites: SitesFactory,
) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    plan = restore.preview(site.context, backup_id, target="dst-jira")
    faults = site.router.apps[TARGET].state.faults
    faults.fail(429, paths=["/rest/api/3/issue/bulk"], times=2, retry_after=1)
    faults.fail(503, paths=["/rest/api/3/issue/*"], times=2, retry_after=1)

    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.COMPLETED, result.failed
    assert site.router.apps[TARGET].state.stats.faults_injected == 4
    assert restore.verify(site.context, plan, result) == []
    found = 0
    for project in plan.containers:
        jql = {"jql": f'project = "{project.key}"', "maxResults": 100}
        found += len(
            site.call(TARGET, "GET", "/rest/api/3/search/jql", params=jql).json()["issues"]
        )
    assert found == plan.counts["issues"].create == result.created["issue"]


def test_a_running_restore_is_cancelled_within_seconds(sites: SitesFactory) -> None:
    site = sites(target_options=SandboxOptions(latency_ms=200))
    backup_id = site.backup("src-jira")
    plan = restore.preview(site.context, backup_id, target="dst-jira")
    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)
    timer.start()

    result = restore.run(site.context, plan, cancel=cancel)

    timer.cancel()
    # Without the cancel this restore runs for several seconds and ends Completed.
    assert result.status is RestoreStatus.CANCELLED
