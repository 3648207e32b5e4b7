"""The S3 store against moto: in-process (`mock_aws`) and as a server on a loopback port.

What moto does not implement is simulated at the HTTP boundary, as S3 documents it: a request
whose `x-amz-expected-bucket-owner` names another account is answered 403 AccessDenied, and a
throttled one 503 SlowDown.
"""

import base64
import hashlib
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.server import ThreadedMotoServer

from policy.products import Product
from settings.environment import Environment
from settings.schema import S3Storage
from storage.artifacts import (
    ChecksumMismatch,
    ObjectNotFound,
    RetryingStore,
    StorageError,
    TransientStorageError,
    open_store,
)
from storage.s3_store import S3Store, composite_sha256
from storage.snapshot import (
    NotASnapshot,
    SnapshotMetadata,
    SnapshotReader,
    SnapshotWriter,
    list_manifests,
)

ACCOUNT = "123456789012"  # the account moto's buckets belong to
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
BUCKET = "acme-backups"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backupbot"
SECRET_KEY = "fake-secret-access-key-for-tests"
MB = 1024 * 1024
SMALL_PARTS = TransferConfig(
    multipart_threshold=5 * MB, multipart_chunksize=5 * MB, preferred_transfer_client="classic"
)
KEY = b"k" * 32
CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
METADATA = SnapshotMetadata(Product.JIRA, CREATED, CREATED + timedelta(days=30))


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def s3_error(url: str, status: int, code: str, message: str) -> AWSResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    return AWSResponse(url, status, {"Content-Type": "application/xml"}, _Body(body))


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def bucket(aws_environment: None) -> Iterator[str]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield BUCKET


def head(store: S3Store, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = store.client.head_object(
        Bucket=store.bucket, Key=store.prefix + key, ChecksumMode="ENABLED"
    )
    return answer


# --- writing and reading -----------------------------------------------------------------------


def test_a_put_carries_a_sha256_checksum_that_s3_confirms(bucket: str) -> None:
    store = S3Store(bucket, prefix="atlassian/", region=REGION)
    data = b'{"key":"ACME-1"}\n' * 100
    result = store.put("acme-jira/bk-abc123/issues/000000.ndjson.zst", io.BytesIO(data))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    answer = head(store, "acme-jira/bk-abc123/issues/000000.ndjson.zst")
    assert answer["ChecksumSHA256"] == sha256_b64(data)
    assert answer["Metadata"]["sha256"] == result.sha256
    assert answer["ServerSideEncryption"] == "AES256"
    with store.open("acme-jira/bk-abc123/issues/000000.ndjson.zst") as stream:
        assert stream.read() == data


def test_objects_live_under_the_prefix_and_list_in_key_order(bucket: str) -> None:
    store = S3Store(bucket, prefix="atlassian", region=REGION)
    for key in ["b", "a/c", "a-b", "a/b"]:
        store.put(key, [key.encode()])
    raw = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket)
    assert sorted(item["Key"] for item in raw["Contents"]) == [
        "atlassian/a-b",
        "atlassian/a/b",
        "atlassian/a/c",
        "atlassian/b",
    ]
    assert [info.key for info in store.list()] == ["a-b", "a/b", "a/c", "b"]
    assert [info.key for info in store.list("a/")] == ["a/b", "a/c"]


def test_stat_reports_size_and_the_recorded_sha256(bucket: str) -> None:
    store = S3Store(bucket, region=REGION)
    store.put("a/b", [b"12345"])
    info = store.stat("a/b")
    assert info is not None
    assert (info.size, info.sha256) == (5, hashlib.sha256(b"12345").hexdigest())
    assert store.stat("a/missing") is None


def test_delete_is_idempotent(bucket: str) -> None:
    store = S3Store(bucket, region=REGION)
    store.put("a/b", [b"x"])
    store.delete("a/b")
    store.delete("a/b")
    assert store.stat("a/b") is None
    with pytest.raises(ObjectNotFound):
        store.open("a/b")


def test_a_large_chunk_goes_up_in_parts_and_its_composite_checksum_is_verified(
    bucket: str,
) -> None:
    store = S3Store(bucket, region=REGION, transfer_config=SMALL_PARTS)
    data = os.urandom(11 * MB)
    result = store.put("acme-jira/bk-abc123/issues/000000.ndjson.zst", iter([data[:MB], data[MB:]]))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    answer = head(store, "acme-jira/bk-abc123/issues/000000.ndjson.zst")
    assert answer["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 1 MB
    composite = composite_sha256(io.BytesIO(data), len(data), 5 * MB)
    assert composite.endswith("-3")
    assert answer["ChecksumSHA256"].partition("-")[0] == composite.partition("-")[0]
    assert answer["Metadata"]["sha256"] == result.sha256  # the full object's digest too
    with store.open("acme-jira/bk-abc123/issues/000000.ndjson.zst") as stream:
        assert stream.read() == data


def test_a_checksum_s3_reports_other_than_ours_fails_the_put(bucket: str) -> None:
    store = S3Store(bucket, region=REGION)

    def report_another_checksum(parsed: dict[str, Any], **_: Any) -> None:
        parsed["ChecksumSHA256"] = sha256_b64(b"something else")

    store.client.meta.events.register("after-call.s3.PutObject", report_another_checksum)
    with pytest.raises(ChecksumMismatch, match="a/b"):
        store.put("a/b", [b"what we sent"])
    assert store.stat("a/b") is None  # not left behind to be trusted later


# --- encryption and identity -------------------------------------------------------------------


def test_objects_are_encrypted_with_the_locations_kms_key(bucket: str) -> None:
    key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    store = S3Store(bucket, region=REGION, kms_key_id=key_id)
    store.put("a/b", [b"secret data"])
    answer = head(store, "a/b")
    assert answer["ServerSideEncryption"] == "aws:kms"
    assert key_id in answer["SSEKMSKeyId"]


def test_the_role_is_assumed_with_the_external_id_and_its_credentials_sign_requests(
    bucket: str,
) -> None:
    base = boto3.Session(region_name=REGION)
    asked: dict[str, Any] = {}
    issued: list[str] = []

    def record_request(params: dict[str, Any], **_: Any) -> None:
        asked.update(params)

    def record_answer(parsed: dict[str, Any], **_: Any) -> None:
        issued.append(parsed["Credentials"]["AccessKeyId"])

    base.events.register("provide-client-params.sts.AssumeRole", record_request)
    base.events.register("after-call.sts.AssumeRole", record_answer)
    location = S3Storage.model_validate(
        {
            "kind": "s3",
            "bucket": bucket,
            "region": REGION,
            "role_arn": ROLE,
            "external_id_env": "ACME_EXT_ID",
        }
    )
    environment = Environment.from_environ({"ACME_EXT_ID": "acme-external-id-42"})
    store = S3Store.from_config(location, environment, base_session=base)
    signatures: list[str] = []

    def record_signature(request: Any, **_: Any) -> None:
        signatures.append(request.headers["Authorization"].decode())

    store.client.meta.events.register_first("before-send.s3", record_signature)
    store.put("a/b", [b"x"])
    assert asked["RoleArn"] == ROLE
    assert asked["ExternalId"] == "acme-external-id-42"
    assert issued
    assert issued[0] != "AKIAFAKEFORTESTS"
    assert signatures
    assert all(f"Credential={issued[0]}/" in signature for signature in signatures)


def test_every_request_names_the_expected_bucket_owner(bucket: str) -> None:
    store = S3Store(
        bucket, region=REGION, expected_bucket_owner=ACCOUNT, transfer_config=SMALL_PARTS
    )
    owners: list[bytes | None] = []

    def record_owner(request: Any, **_: Any) -> None:
        owners.append(request.headers.get("x-amz-expected-bucket-owner"))

    store.client.meta.events.register_first("before-send.s3", record_owner)
    store.put("a/small", [b"x"])
    store.put("a/large", [os.urandom(6 * MB)])  # create, two parts, complete, head
    store.stat("a/small")
    with store.open("a/small") as stream:
        stream.read()
    list(store.list("a/"))
    store.delete("a/small")
    assert len(owners) >= 10
    assert set(owners) == {ACCOUNT.encode()}


def refuse_other_owners(request: Any, **_: Any) -> AWSResponse | None:
    """S3's answer to a request whose expected owner is not the bucket's (moto ignores it)."""
    named = request.headers.get("x-amz-expected-bucket-owner")
    if named is not None and named != ACCOUNT.encode():
        return s3_error(request.url, 403, "AccessDenied", "Access Denied")
    return None


def test_a_bucket_owned_by_another_account_is_refused(bucket: str) -> None:
    store = S3Store(bucket, region=REGION, expected_bucket_owner=OTHER_ACCOUNT)
    store.client.meta.events.register_first("before-send.s3", refuse_other_owners)
    with pytest.raises(StorageError) as refusal:
        store.put("acme-jira/bk-abc123/manifest.json", [b"{}"])
    message = str(refusal.value)
    assert f"S3 bucket '{bucket}'" in message
    assert "acme-jira/bk-abc123/manifest.json" in message
    assert f"not owned by the expected account {OTHER_ACCOUNT}" in message
    assert "AccessDenied" in message
    assert SECRET_KEY not in message
    assert not store.is_transient(refusal.value)
    rightful = S3Store(bucket, region=REGION, expected_bucket_owner=ACCOUNT)
    rightful.client.meta.events.register_first("before-send.s3", refuse_other_owners)
    rightful.put("acme-jira/bk-abc123/manifest.json", [b"{}"])


# --- failures ----------------------------------------------------------------------------------


def test_a_missing_bucket_is_named_in_a_permanent_error(bucket: str) -> None:
    store = S3Store("no-such-bucket-here", region=REGION)
    with pytest.raises(StorageError, match=r"'no-such-bucket-here'.* the bucket does not exist"):
        store.put("a/b", [b"x"])


def test_throttling_is_a_transient_error_that_the_retrying_store_retries(bucket: str) -> None:
    store = S3Store(bucket, region=REGION, request_attempts=1)
    answers = iter(["SlowDown"])

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        code = next(answers, None)
        return (
            s3_error(request.url, 503, code, "Please reduce your request rate.") if code else None
        )

    store.client.meta.events.register_first("before-send.s3", throttle)
    with pytest.raises(TransientStorageError, match="SlowDown") as throttled:
        store.stat("a/b")
    assert store.is_transient(throttled.value)
    store.put("a/b", [b"x"])
    answers = iter(["SlowDown", "InternalError"])
    waits: list[float] = []
    retrying = RetryingStore(store, sleep=waits.append, jitter=lambda: 0.0)
    assert retrying.stat("a/b") is not None
    assert len(waits) == 2


def test_open_store_builds_a_retrying_s3_store(bucket: str) -> None:
    location = S3Storage.model_validate(
        {"kind": "s3", "bucket": bucket, "region": REGION, "prefix": "atlassian/"}
    )
    store = open_store(location, Environment.from_environ({}))
    assert isinstance(store, RetryingStore)
    assert store.location == f"s3://{bucket}/atlassian/"
    store.put("a/b", [b"x"])
    assert [info.key for info in store.list()] == ["a/b"]


# --- a moto server on a loopback port, reached through endpoint_url -----------------------------


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def server_location(endpoint: str, bucket: str, **extra: str) -> S3Storage:
    boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return S3Storage.model_validate(
        {
            "kind": "s3",
            "bucket": bucket,
            "region": REGION,
            "prefix": "atlassian/",
            "endpoint_url": endpoint,
            **extra,
        }
    )


def test_a_snapshot_round_trips_through_an_s3_compatible_endpoint(
    aws_environment: None, endpoint: str
) -> None:
    store = open_store(server_location(endpoint, "acme-roundtrip"), Environment.from_environ({}))
    with SnapshotWriter(store, "acme-jira", "bk-s3trip01", KEY, chunk_records=2) as writer:
        for number in range(5):
            writer.write("issues", {"key": f"ACME-{number}", "summary": "Zürich ✓"})
        manifest = writer.finish(METADATA)
    reader = SnapshotReader(store, "acme-jira", "bk-s3trip01", KEY)
    assert [record["key"] for record in reader.records("issues")] == [
        f"ACME-{number}" for number in range(5)
    ]
    assert reader.verify().ok
    assert [found.backup_id for found in list_manifests(store, KEY)] == [manifest.backup_id]


def test_a_chunk_corrupted_in_s3_is_found_by_verify(aws_environment: None, endpoint: str) -> None:
    store = open_store(server_location(endpoint, "acme-corrupt"), Environment.from_environ({}))
    with SnapshotWriter(store, "acme-jira", "bk-s3bad001", KEY, chunk_records=2) as writer:
        for number in range(4):
            writer.write("issues", {"key": f"ACME-{number}"})
        manifest = writer.finish(METADATA)
    chunk = manifest.chunks["issues"][1]
    raw = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    object_key = f"atlassian/acme-jira/bk-s3bad001/{chunk.path}"
    stored = raw.get_object(Bucket="acme-corrupt", Key=object_key)["Body"].read()
    damaged = stored[:-5] + bytes(byte ^ 0xFF for byte in stored[-5:])
    raw.put_object(Bucket="acme-corrupt", Key=object_key, Body=damaged)
    report = SnapshotReader(store, "acme-jira", "bk-s3bad001", KEY).verify()
    assert not report.ok
    assert len(report.problems) == 1
    assert chunk.path in report.problems[0]
    assert "SHA-256" in report.problems[0]


def test_a_backup_whose_manifest_never_reached_s3_is_not_a_backup(
    aws_environment: None, endpoint: str
) -> None:
    store = open_store(server_location(endpoint, "acme-crashed"), Environment.from_environ({}))
    writer = SnapshotWriter(store, "acme-jira", "bk-s3crash1", KEY, chunk_records=1)
    writer.write("issues", {"key": "ACME-1"})
    writer.write("issues", {"key": "ACME-2"})  # chunks stored; the run dies before finish
    assert len(list(store.list("acme-jira/bk-s3crash1/"))) == 2
    with pytest.raises(NotASnapshot, match="not a backup"):
        SnapshotReader(store, "acme-jira", "bk-s3crash1", KEY)


def test_the_role_is_assumed_through_the_endpoints_sts(
    aws_environment: None, endpoint: str
) -> None:
    location = server_location(
        endpoint, "acme-assumed", role_arn=ROLE, external_id_env="ACME_EXT_ID"
    )
    environment = Environment.from_environ({"ACME_EXT_ID": "acme-external-id-42"})
    store = S3Store.from_config(location, environment, sts_endpoint_url=endpoint)
    store.put("a/b", [b"via the role"])
    with store.open("a/b") as stream:
        assert stream.read() == b"via the role"
