"""The IAM policies README.md documents for an organization's S3 bucket, tried against moto.

The policies are read from the README ("### 5. The organization's S3 bucket"), not copied here,
so that the README cannot drift from what is tested. moto is run with its IAM enforcement on
(`enable_iam_authentication`): every request is checked against the caller's policies, their
actions and resource ARNs. These tests prove that

- the permissions policy is enough: as the role it is attached to, assumed with the external id
  the trust policy demands, the bot writes a backup under its prefix (single and multipart
  uploads), lists it, reads and verifies it, tells a missing object from a refusal, deletes it,
  and aborts a multipart upload that failed;
- every action it grants is needed: without it, the step that uses it fails with a permanent
  StorageError saying access was denied (which also proves moto enforces the policy);
- the bot is confined to its prefix, and the role to the organization's external id.

Where moto's enforcement falls short of AWS, this is said where it matters:
- S3 answers a request for a missing object with 404 only to those who may list the bucket, 403
  to others; moto answers 404 to all. `answer_404_only_to_listers` adds S3's rule.
- Conditions: moto checks `StringEquals` on `sts:ExternalId` in a trust policy only when the
  caller sends an external id (a call without one is let through), and ignores conditions of
  identity policies; so only a wrong external id is tried here, not a missing one.
- The README's principal is the bot's host role in the bot's own account; moto runs one account
  and compares principals literally, so here the bot's host is an IAM user of moto's account
  (see `trusting`). The trust policy's Action and Condition are the README's.
- SSE-KMS is not tried: moto's S3 never asks whether the caller may use the KMS key, so the
  README's `kms:GenerateDataKey` and `kms:Decrypt` cannot be shown needed or enough here.
"""

import copy
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import disable_iam_authentication, enable_iam_authentication

from jobs.context import JobContext
from jobs.maintenance import delete_backup_data
from policy.products import Product
from settings.environment import Environment
from storage.artifacts import StorageError
from storage.s3_store import S3Store, assumed_role_session
from storage.snapshot import (
    SnapshotMetadata,
    SnapshotReader,
    SnapshotWriter,
    backup_folder,
    list_manifests,
    manifest_key_of,
)

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### 5. The organization's S3 bucket"
BUCKET = "acme-backups"  # the bucket and prefix the README's permissions policy names
PREFIX = "atlassian/"
REGION = "us-east-1"
MB = 1024 * 1024
SMALL_PARTS = TransferConfig(
    multipart_threshold=5 * MB, multipart_chunksize=5 * MB, preferred_transfer_client="classic"
)
KEY = b"k" * 32  # the manifest key
SITE = "acme-jira"
BACKUP = "bk-iam00001"
CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
METADATA = SnapshotMetadata(Product.JIRA, CREATED, CREATED + timedelta(days=30))

Policy = dict[str, Any]


# --- the README's policies ---------------------------------------------------------------------


def readme_policies() -> tuple[Policy, Policy]:
    """The role's trust policy and its permissions policy: the section's two JSON blocks."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    after = text.split(SECTION, 1)[1]
    section = re.split(r"\n#{1,3} ", after, maxsplit=1)[0]  # up to the next heading
    blocks = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2, f"expected the trust and the permissions policy, found {blocks}"
    trust, permissions = (json.loads(block) for block in blocks)
    return trust, permissions


def readme_permissions() -> Policy:
    return readme_policies()[1]


def readme_external_id() -> str:
    """The external id the README's trust policy demands (its placeholder value)."""
    [statement] = readme_policies()[0]["Statement"]
    return str(statement["Condition"]["StringEquals"]["sts:ExternalId"])


def actions_of(statement: Policy) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def without_action(policy: Policy, action: str) -> Policy:
    """`policy` with `action` taken out of every statement (a statement left empty goes)."""
    granted = [name for statement in policy["Statement"] for name in actions_of(statement)]
    assert action in granted, f"the README's policy does not grant {action}"
    reduced = copy.deepcopy(policy)
    statements = []
    for statement in reduced["Statement"]:
        statement["Action"] = [name for name in actions_of(statement) if name != action]
        if statement["Action"]:
            statements.append(statement)
    reduced["Statement"] = statements
    return reduced


def trusting(trust: Policy, principal: str) -> Policy:
    """The README's trust policy with `principal` for the bot's host (see the module's notes)."""
    adapted = copy.deepcopy(trust)
    for statement in adapted["Statement"]:
        statement["Principal"] = {"AWS": principal}
    return adapted


# --- moto with IAM enforced, and the bot's role ------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """moto with the organization's bucket; from the test on, every request is authorized."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS")  # moto's admin, before enforcing
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-access-key-for-tests")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        with enable_iam_authentication():
            yield


def bot_store(
    permissions: Policy,
    *,
    name: str = "backupbot",
    prefix: str = PREFIX,
    external_id: str | None = None,
) -> S3Store:
    """The bot's store, set up as the README says: a role with the trust policy and the given
    permissions policy, assumed by the bot's host with the organization's external id."""
    trust, _ = readme_policies()
    with disable_iam_authentication():  # the organization's admin sets up the role
        iam = boto3.client("iam", region_name=REGION)
        host = iam.create_user(UserName=f"{name}-host")["User"]
        access_key = iam.create_access_key(UserName=host["UserName"])["AccessKey"]
        role = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trusting(trust, host["Arn"]))
        )["Role"]
        iam.put_role_policy(
            RoleName=name, PolicyName="backups", PolicyDocument=json.dumps(permissions)
        )
        may_assume = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}],
        }
        iam.put_user_policy(
            UserName=host["UserName"], PolicyName="assume", PolicyDocument=json.dumps(may_assume)
        )
    host_session = boto3.Session(
        aws_access_key_id=access_key["AccessKeyId"],
        aws_secret_access_key=access_key["SecretAccessKey"],
        region_name=REGION,
    )
    session = assumed_role_session(
        role["Arn"],
        readme_external_id() if external_id is None else external_id,
        region=REGION,
        base_session=host_session,
    )
    store = S3Store(
        BUCKET, prefix=prefix, region=REGION, session=session, transfer_config=SMALL_PARTS
    )
    answer_404_only_to_listers(store)
    return store


def answer_404_only_to_listers(store: S3Store) -> None:
    """S3's answer to a read of a missing object: 404 to who may list the bucket, else 403.

    moto answers 404 to all; on a 404 this asks moto (as the same identity) whether it may
    list the bucket, and turns the answer into S3's 403 AccessDenied if it may not.
    """

    def on_answer(http_response: AWSResponse, parsed: dict[str, Any], **_: Any) -> None:
        if http_response.status_code != 404:
            return
        try:
            store.client.list_objects_v2(Bucket=store.bucket, MaxKeys=0)
        except ClientError as refusal:
            if refusal.response["Error"]["Code"] != "AccessDenied":
                raise
            parsed["Error"] = {"Code": "AccessDenied", "Message": "Access Denied"}
            parsed["ResponseMetadata"]["HTTPStatusCode"] = 403

    for operation in ("HeadObject", "GetObject"):
        store.client.meta.events.register(f"after-call.s3.{operation}", on_answer)


def objects_in_bucket() -> list[str]:
    """Every key in the bucket, as its owner sees it."""
    with disable_iam_authentication():
        answer = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    return sorted(entry["Key"] for entry in answer.get("Contents", []))


def unfinished_uploads() -> list[str]:
    """The keys of multipart uploads begun and neither completed nor aborted."""
    with disable_iam_authentication():
        answer = boto3.client("s3", region_name=REGION).list_multipart_uploads(Bucket=BUCKET)
    return [upload["Key"] for upload in answer.get("Uploads", [])]


# --- the life of a backup, as the bot's jobs go through it -------------------------------------


def write_backup(store: S3Store, backup_id: str = BACKUP) -> None:
    """A snapshot of five records in three chunks, then its manifest."""
    with SnapshotWriter(store, SITE, backup_id, KEY, chunk_records=2) as writer:
        for number in range(5):
            writer.write("issues", {"key": f"ACME-{number}", "summary": "Zürich ✓"})
        writer.finish(METADATA)


def read_backup(store: S3Store) -> list[str]:
    """The backup's records, after `verify` re-read every chunk against the manifest."""
    reader = SnapshotReader(store, SITE, BACKUP, KEY)
    assert reader.verify().ok
    return [record["key"] for record in reader.records("issues")]


def list_backups(store: S3Store) -> list[str]:
    """What `catalog sync` finds: the backups whose manifest verifies."""
    return [manifest.backup_id for manifest in list_manifests(store, KEY)]


def delete_backup(store: S3Store) -> None:
    """The maintenance job's deletion: the manifest first, then every listed object."""
    context = SimpleNamespace(
        config=SimpleNamespace(storage={"acme-s3": None}),
        environment=Environment.from_environ({}),
        open_store=lambda location, environment: store,
    )
    delete_backup_data(cast(JobContext, context), SITE, "acme-s3", BACKUP)


# --- the policies are enough -------------------------------------------------------------------


def test_the_readme_names_the_bucket_and_prefix_tried_here() -> None:
    resources = {statement["Resource"] for statement in readme_permissions()["Statement"]}
    assert resources == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/{PREFIX}*"}


def test_the_readme_permissions_are_enough_for_the_whole_life_of_a_backup(aws: None) -> None:
    store = bot_store(readme_permissions())
    write_backup(store)
    folder = backup_folder(SITE, BACKUP)
    assert objects_in_bucket() == sorted(
        f"{PREFIX}{folder}{name}"
        for name in [
            "issues/000000.ndjson.zst",
            "issues/000001.ndjson.zst",
            "issues/000002.ndjson.zst",
            "manifest.json",
        ]
    )
    assert list_backups(store) == [BACKUP]
    assert read_backup(store) == [f"ACME-{number}" for number in range(5)]
    # A missing object is "not there" (404), not a refusal (403): S3 answers so only to who
    # may list the bucket, which is why the README grants s3:ListBucket on the whole bucket.
    assert store.stat(f"{folder}attachments/not-stored-yet") is None
    assert store.stat(manifest_key_of(SITE, BACKUP)) is not None
    delete_backup(store)
    assert objects_in_bucket() == []
    assert list_backups(store) == []


def test_the_readme_permissions_are_enough_for_a_multipart_upload(aws: None) -> None:
    store = bot_store(readme_permissions())
    data = os.urandom(6 * MB)  # two parts: create, upload part x2, complete, then a HEAD
    result = store.put(f"{SITE}/{BACKUP}/issues/000000.ndjson.zst", io.BytesIO(data))
    assert result.size == len(data)
    with store.open(f"{SITE}/{BACKUP}/issues/000000.ndjson.zst") as stream:
        assert stream.read() == data


def fail_the_second_part(request: Any, **_: Any) -> AWSResponse | None:
    """S3's refusal of a multipart upload's second part, so that the upload is abandoned."""
    if b"partNumber=2" not in request.url.encode():
        return None
    body = b"<Error><Code>InvalidArgument</Code><Message>refused for the test</Message></Error>"

    class Body:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    return AWSResponse(request.url, 400, {"Content-Type": "application/xml"}, Body())


@pytest.mark.parametrize(
    ("permissions", "left_behind"),
    [
        pytest.param(readme_permissions, [], id="the-readme-policy"),
        pytest.param(
            lambda: without_action(readme_permissions(), "s3:AbortMultipartUpload"),
            [f"{PREFIX}{SITE}/{BACKUP}/issues/000000.ndjson.zst"],
            id="without-s3:AbortMultipartUpload",
        ),
    ],
)
def test_a_failed_multipart_upload_is_aborted_only_with_s3_abort_multipart_upload(
    aws: None, permissions: Callable[[], Policy], left_behind: list[str]
) -> None:
    store = bot_store(permissions())
    store.client.meta.events.register_first("before-send.s3.UploadPart", fail_the_second_part)
    with pytest.raises(StorageError, match="InvalidArgument"):
        store.put(f"{SITE}/{BACKUP}/issues/000000.ndjson.zst", io.BytesIO(os.urandom(6 * MB)))
    # The abort is boto3's clean-up after the failure; a refused abort is only logged, and
    # leaves the parts stored (and billed) until a lifecycle rule removes them.
    assert unfinished_uploads() == left_behind


# --- every action granted is needed, and the grant goes no further -----------------------------


@pytest.mark.parametrize(
    ("action", "step", "refused"),
    [
        pytest.param("s3:PutObject", lambda store: write_backup(store, "bk-iam00002"), "writing"),
        pytest.param("s3:GetObject", read_backup, "(checking|reading)"),
        pytest.param("s3:ListBucket", list_backups, "listing"),
        pytest.param("s3:DeleteObject", delete_backup, "deleting"),
    ],
)
def test_without_an_action_of_the_readme_policy_its_step_is_refused(
    aws: None, action: str, step: Callable[[S3Store], object], refused: str
) -> None:
    write_backup(bot_store(readme_permissions(), name="full-permissions"))
    store = bot_store(without_action(readme_permissions(), action))
    with pytest.raises(StorageError, match=f"access denied while {refused}") as refusal:
        step(store)
    # A permanent error with what to fix, not a transient one retried for nothing (nor a
    # subclass such as ObjectNotFound, which would read as "the backup is gone").
    assert type(refusal.value) is StorageError
    assert not store.is_transient(refusal.value)
    assert "check the role's permissions" in str(refusal.value)
    assert f"{PREFIX}{SITE}/{BACKUP}/manifest.json" in objects_in_bucket()  # nothing was lost


def test_without_s3_list_bucket_a_missing_object_is_a_refusal_not_an_absence(aws: None) -> None:
    store = bot_store(without_action(readme_permissions(), "s3:ListBucket"))
    with pytest.raises(StorageError, match="access denied while checking"):
        store.stat(f"{SITE}/{BACKUP}/attachments/not-stored-yet")


def test_the_bot_cannot_write_outside_its_prefix(aws: None) -> None:
    store = bot_store(readme_permissions(), prefix="other/")
    with pytest.raises(StorageError, match="access denied while writing") as refusal:
        store.put(f"{SITE}/{BACKUP}/manifest.json", [b"{}"])
    assert "'other/acme-jira/bk-iam00001/manifest.json'" in str(refusal.value)
    assert objects_in_bucket() == []


# --- the trust policy --------------------------------------------------------------------------


def test_the_trust_policy_lets_the_role_be_assumed_only_with_the_external_id() -> None:
    trust, _ = readme_policies()
    [statement] = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert actions_of(statement) == ["sts:AssumeRole"]
    assert set(statement["Principal"]) == {"AWS"}  # an AWS identity: the bot's, not a service
    assert set(statement["Condition"]) == {"StringEquals"}
    assert set(statement["Condition"]["StringEquals"]) == {"sts:ExternalId"}
    assert readme_external_id()


def test_a_wrong_external_id_cannot_assume_the_role(aws: None) -> None:
    store = bot_store(readme_permissions(), external_id="another-organizations-external-id")
    with pytest.raises(StorageError, match=r"cannot assume the role .*AccessDenied"):
        store.put(f"{SITE}/{BACKUP}/manifest.json", [b"{}"])
    assert objects_in_bucket() == []
