"""The maintenance pass: expiry exactly at `expires_at`, data deleted or kept by location, lapsed
requests, and idempotence. Time is moved through the context's clock, never slept."""

import dataclasses
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from jobs import backup, maintenance, restore
from policy.restore import RestoreRefused
from policy.statuses import BackupStatus, RestoreRequestStatus
from settings.schema import S3Storage
from storage import restore_requests
from storage.artifacts import StorageError, open_store
from storage.catalog import finish_backup, queue_backup, sync_configuration
from storage.models import AuditEntry, Backup, RestoreRequest
from storage.snapshot import backup_folder


@pytest.fixture
def org_buckets(tmp_path, monkeypatch):
    """Two organization buckets in moto's S3: one keeps expired backups, one deletes them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-tests")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    with mock_aws():
        for bucket in ("org-keep", "org-delete"):
            boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
        yield


def with_org_locations(site, tmp_path):
    storage = dict(site.context.config.storage)
    storage["org-keep"] = S3Storage(kind="s3", bucket="org-keep", region="us-east-1")
    storage["org-delete"] = S3Storage(
        kind="s3", bucket="org-delete", region="us-east-1", delete_expired=True
    )
    config = site.context.config.model_copy(update={"storage": storage})
    context = dataclasses.replace(site.context, config=config)
    with context.sessions.begin() as session:
        sync_configuration(session, config, context.clock())
    return context


def backed_up(context, location):
    queued = backup.queue(context, "sb-jira", location, "alice@example.com")
    result = backup.run(context, queued.id)
    assert result.status is BackupStatus.COMPLETED
    return queued.id


def at(context, moment):
    return dataclasses.replace(context, clock=lambda: moment)


def stored(context, location, backup_id):
    store = open_store(context.config.storage[location], context.environment)
    return [info.key for info in store.list(backup_folder("sb-jira", backup_id))]


def status(context, backup_id):
    with context.sessions() as session:
        return session.get_one(Backup, backup_id).status


def test_a_managed_backup_expires_at_its_instant_and_its_data_is_deleted(
    deployment, tmp_path, org_buckets
):
    context = with_org_locations(deployment(), tmp_path)
    backup_id = backed_up(context, "managed")
    with context.sessions() as session:
        expires = session.get_one(Backup, backup_id).expires_at
    early = maintenance.sweep(at(context, expires - timedelta(seconds=1)))
    assert early.expired == [] and status(context, backup_id) is BackupStatus.COMPLETED
    report = maintenance.sweep(at(context, expires))
    assert report.expired == report.deleted == [backup_id]
    assert status(context, backup_id) is BackupStatus.EXPIRED
    assert stored(context, "managed", backup_id) == []
    with context.sessions() as session:
        entry = session.query(AuditEntry).filter_by(action="expire", target=backup_id).one()
        assert entry.outcome == "Expired"
    again = maintenance.sweep(at(context, expires + timedelta(days=1)))
    assert again.expired == [] and again.deleted == []


def test_an_organization_bucket_keeps_expired_data_unless_it_says_delete_expired(
    deployment, tmp_path, org_buckets
):
    context = with_org_locations(deployment(), tmp_path)
    kept = backed_up(context, "org-keep")
    with context.sessions() as session:
        expires = session.get_one(Backup, kept).expires_at
    assert expires - session.get_one(Backup, kept).created_at == timedelta(days=30)
    report = maintenance.sweep(at(context, expires))
    assert report.kept == [kept] and stored(context, "org-keep", kept) != []
    deleted = backed_up(context, "org-delete")
    with context.sessions() as session:
        expires = session.get_one(Backup, deleted).expires_at
    report = maintenance.sweep(at(context, expires))
    assert report.deleted == [deleted] and stored(context, "org-delete", deleted) == []
    assert status(context, kept) is status(context, deleted) is BackupStatus.EXPIRED


def test_a_pending_restore_request_past_its_expiry_becomes_expired(deployment):
    context = deployment().context
    backup_id = backed_up(context, "managed")
    now = context.clock()
    with context.sessions.begin() as session:
        request = restore_requests.create_request(
            session, now, backup_id=backup_id, target_site="sb-jira", scope=None,
            requested_by="alice@example.com", requested_by_slack="U1", ttl=timedelta(hours=24),
        )  # fmt: skip
        request_id = request.id
    assert maintenance.sweep(at(context, now + timedelta(hours=23))).requests_expired == []
    report = maintenance.sweep(at(context, now + timedelta(hours=24)))
    assert report.requests_expired == [request_id]
    with context.sessions() as session:
        assert session.get_one(RestoreRequest, request_id).status is RestoreRequestStatus.EXPIRED


def test_the_newest_restorable_backup_is_warned_about_once_at_each_lead_time(deployment):
    context = deployment().context
    older = backed_up(context, "managed")
    newest = backed_up(context, "managed")
    with context.sessions() as session:
        expires = session.get_one(Backup, newest).expires_at
        older_expires = session.get_one(Backup, older).expires_at
    assert older_expires <= expires
    early = maintenance.sweep(at(context, expires - timedelta(hours=72, seconds=1)))
    assert early.warnings == []
    first = maintenance.sweep(at(context, expires - timedelta(hours=72)))
    assert [(w.backup_id, w.lead_hours) for w in first.warnings] == [(newest, 72)]
    assert maintenance.sweep(at(context, expires - timedelta(hours=30))).warnings == []
    second = maintenance.sweep(at(context, expires - timedelta(hours=24)))
    assert [(w.backup_id, w.lead_hours, w.last_run_failed) for w in second.warnings] == [
        (newest, 24, False)
    ]
    with context.sessions() as session:
        sent = session.query(AuditEntry).filter_by(action="expiry warning").count()
    assert sent == 2


def test_the_warning_is_louder_when_the_sites_newest_backup_failed(deployment):
    context = deployment().context
    newest = backed_up(context, "managed")
    with context.sessions.begin() as session:
        expires = session.get_one(Backup, newest).expires_at
        failed = queue_backup(session, "sb-jira", "managed", context.clock(), None)
        finish_backup(
            session,
            failed,
            context.clock(),
            status=BackupStatus.FAILED,
            data_bytes=None,
            attachment_bytes=None,
            item_counts=None,
            error="boom",
        )
    report = maintenance.sweep(at(context, expires - timedelta(hours=24)))
    assert [(w.backup_id, w.lead_hours, w.last_run_failed) for w in report.warnings] == [
        (newest, 24, True)
    ]


def test_an_organization_s3_backup_is_restorable_until_one_second_before_its_30_day_instant(
    deployment, tmp_path, org_buckets
):
    context = with_org_locations(deployment(), tmp_path)
    backup_id = backed_up(context, "org-keep")
    with context.sessions() as session:
        row = session.get_one(Backup, backup_id)
        created, expires = row.created_at, row.expires_at
    assert expires == created + timedelta(days=30)
    plan = restore.preview(at(context, expires - timedelta(seconds=1)), backup_id)
    assert plan.summary()["backup"] == backup_id
    with pytest.raises(RestoreRefused, match=r"(?i)expired"):
        restore.preview(at(context, expires), backup_id)  # before any maintenance pass, too
    maintenance.sweep(at(context, expires))
    with pytest.raises(RestoreRefused, match=r"(?i)expired"):
        restore.preview(at(context, expires), backup_id)
    assert stored(context, "org-keep", backup_id) != []  # the organization's data stays


class FlakyDeletes:
    """A store whose deletions fail while `broken` is set (a network outage, say)."""

    broken = True

    def __init__(self, store):
        self._store = store

    def delete(self, key):
        if FlakyDeletes.broken:
            raise StorageError(f"{key}: the storage service is unreachable")
        return self._store.delete(key)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_expired_data_whose_deletion_failed_is_deleted_by_a_later_pass(deployment):
    context = deployment().context
    backup_id = backed_up(context, "managed")
    with context.sessions() as session:
        expires = session.get_one(Backup, backup_id).expires_at
    flaky = dataclasses.replace(
        context, open_store=lambda location, env: FlakyDeletes(open_store(location, env))
    )
    failed = maintenance.sweep(at(flaky, expires))
    assert failed.expired == [backup_id] and failed.deleted == [] and len(failed.problems) == 1
    assert stored(context, "managed", backup_id) != []
    FlakyDeletes.broken = False
    later = maintenance.sweep(at(flaky, expires + timedelta(minutes=5)))
    assert later.expired == [] and later.deleted == [backup_id]
    assert stored(context, "managed", backup_id) == []
    assert maintenance.sweep(at(flaky, expires + timedelta(minutes=10))).deleted == []


def test_every_backup_true_warns_about_each_backup_not_only_the_newest(deployment):
    context = deployment().context
    older, newest = backed_up(context, "managed"), backed_up(context, "managed")
    with context.sessions() as session:
        expires = session.get_one(Backup, newest).expires_at
    warnings = context.config.warnings.model_copy(update={"every_backup": True})
    every = dataclasses.replace(
        context, config=context.config.model_copy(update={"warnings": warnings})
    )
    report = maintenance.sweep(at(every, expires - timedelta(hours=24)))
    assert sorted((w.backup_id, w.lead_hours) for w in report.warnings) == sorted(
        [(older, 24), (newest, 24)]
    )
