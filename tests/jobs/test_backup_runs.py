"""How a backup run ends when things go right, partly wrong, or wrong, and what it leaves."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from jobs import backup
from jobs.catalog_sync import sync_catalog
from jobs.context import JobContext
from policy.statuses import BackupStatus
from sandbox.control import SandboxOptions
from storage.artifacts import ArtifactStore, open_store
from storage.catalog import sync_configuration
from storage.database import create_engine, session_factory, upgrade
from storage.models import Backup
from storage.snapshot import NotASnapshot, SnapshotReader, load_manifest


def run_backup(site, name: str, location: str | None = None, **kwargs):
    queued = backup.queue(site.context, name, location, "alice@example.com")
    return backup.run(site.context, queued.id, **kwargs)


def row(site, backup_id: str) -> Backup:
    with site.context.sessions() as session:
        found = session.get(Backup, backup_id)
        assert found is not None
        return found


def objects(store: ArtifactStore, prefix: str) -> list[str]:
    return [info.key for info in store.list(prefix)]


def test_a_completed_backup_is_recorded_with_sizes_counts_and_expiry(deployment):
    site = deployment()
    result = run_backup(site, "sb-jira")
    stored = row(site, result.backup_id)
    assert stored.status is BackupStatus.COMPLETED
    assert stored.data_bytes == result.data_bytes > 0
    assert stored.item_counts == result.item_counts
    assert stored.item_counts["issues"] == 40
    assert stored.started_at is not None and stored.finished_at is not None
    assert stored.expires_at - stored.created_at == timedelta(hours=14 * 24)


def test_an_item_that_fails_after_retries_makes_the_backup_incomplete_and_is_listed(deployment):
    site = deployment()
    issue = site.app.state.data.issue(7)
    site.app.state.faults.fail_issue(issue.id)
    result = run_backup(site, "sb-jira")
    assert result.status is BackupStatus.INCOMPLETE
    manifest = load_manifest(site.store(), "sb-jira", result.backup_id, site.context.manifest_key)
    assert issue.id in {item.id for item in manifest.failed_items}
    assert row(site, result.backup_id).status is BackupStatus.INCOMPLETE


def test_a_site_answering_5xx_is_retried_then_the_backup_fails_naming_the_site(deployment):
    site = deployment()
    site.app.state.faults.fail(503, paths=["/rest/api/3/project/search"], times=None, retry_after=0)
    result = run_backup(site, "sb-jira")
    assert result.status is BackupStatus.FAILED
    assert result.error is not None
    assert "sb-jira" in result.error and "/rest/api/3/project/search" in result.error
    assert site.app.state.stats.faults_injected > 1  # it was retried before giving up
    assert objects(site.store(), f"sb-jira/{result.backup_id}") == []


def test_a_missing_token_variable_fails_the_backup_naming_the_variable(deployment):
    site = deployment(env={})
    result = run_backup(site, "sb-jira")
    assert result.status is BackupStatus.FAILED
    assert "SANDBOX_TOKEN" in (result.error or "")


def test_a_wrong_token_fails_without_showing_the_token(deployment):
    site = deployment(env={"SANDBOX_TOKEN": "not-the-token-0xBEEF"})
    result = run_backup(site, "sb-jira")
    assert result.status is BackupStatus.FAILED
    assert "401" in (result.error or "")
    assert "0xBEEF" not in (result.error or "")


class FailingManifestStore:
    """Stores chunks, then crashes when the manifest is written: a crash between the two."""

    def __init__(self, store: ArtifactStore) -> None:
        self._store = store
        self.location = store.location

    def put(self, key, stream):
        if key.endswith("/manifest.json"):
            raise OSError("the machine lost power")
        return self._store.put(key, stream)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_crash_between_chunks_and_manifest_leaves_no_restorable_backup(deployment):
    site = deployment(
        open_store=lambda location, env: FailingManifestStore(open_store(location, env))
    )
    result = run_backup(site, "sb-jira")
    assert result.status is BackupStatus.FAILED
    with pytest.raises(NotASnapshot):
        SnapshotReader(site.store(), "sb-jira", result.backup_id, site.context.manifest_key)
    assert objects(site.store(), f"sb-jira/{result.backup_id}") == []


def test_cancelling_stops_a_slow_backup_within_seconds_and_leaves_no_manifest(deployment):
    site = deployment(options=SandboxOptions(latency_ms=300))
    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    result = run_backup(site, "sb-jira", cancel=cancel)
    timer.cancel()
    assert result.status is BackupStatus.CANCELLED
    assert row(site, result.backup_id).status is BackupStatus.CANCELLED
    assert objects(site.store(), f"sb-jira/{result.backup_id}") == []


def test_progress_is_reported_by_phase_with_a_growing_count(deployment):
    site = deployment()
    seen = []
    run_backup(site, "sb-jira", progress=seen.append)
    assert {event.phase for event in seen} >= {"issues", "comments"}
    counts = [event.items_done for event in seen]
    assert counts == sorted(counts) and counts[-1] > 0


def test_with_attachments_copy_each_files_bytes_are_stored_once_across_two_backups(deployment):
    site = deployment()
    first = run_backup(site, "sb-jira", "copies")
    assert first.status is BackupStatus.COMPLETED, first.error
    store = site.store("copies")
    content = objects(store, "sb-jira/attachments/")
    references = list(
        SnapshotReader(store, "sb-jira", first.backup_id, site.context.manifest_key).records(
            "attachments"
        )
    )
    assert references and all(ref["sha256"] for ref in references)
    assert len(content) == len({ref["sha256"] for ref in references})
    with site.api() as api:
        ref = references[0]
        url = ref["contentUrl"].replace(site.origin, str(api.base_url).rstrip("/"))
        served = api.get(url, follow_redirects=True)
    assert served.status_code == 200
    assert len(served.content) == ref["size"]
    with store.open(f"sb-jira/attachments/sha256/{ref['sha256'][:2]}/{ref['sha256']}") as stored:
        assert stored.read() == served.content

    # Downloads would now fail: the second backup must not need any of them.
    site.app.state.faults.fail(500, paths=["/rest/api/3/attachment/content/*"], times=None)
    second = run_backup(site, "sb-jira", "copies")
    assert second.status is BackupStatus.COMPLETED, second.error
    assert objects(store, "sb-jira/attachments/") == content


def test_the_catalog_is_rebuilt_from_storage_after_the_database_is_lost(deployment, tmp_path: Path):
    site = deployment()
    made = [run_backup(site, name) for name in ("sb-jira", "sb-wiki")]
    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_configuration(session, site.context.config, site.context.clock())
    fresh = JobContext(
        site.context.config, site.context.environment, sessions, site.context.manifest_key
    )
    report = sync_catalog(fresh, "managed")
    assert sorted(report.added) == sorted(result.backup_id for result in made)
    with sessions() as session:
        rebuilt = {b.id: b for b in session.scalars(select(Backup))}
    for result in made:
        assert rebuilt[result.backup_id].status is BackupStatus.COMPLETED
        assert rebuilt[result.backup_id].item_counts == result.item_counts
    assert sync_catalog(fresh, "managed").already_known == 2
