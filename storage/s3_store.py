"""An `ArtifactStore` in an S3 bucket (AWS, or an S3-compatible service via `endpoint_url`).

Every object is encrypted at rest (SSE-S3, or SSE-KMS with the location's key), carries a
SHA-256 checksum that S3 itself checks on upload (`ChecksumAlgorithm=SHA256`), and the full
object's SHA-256 as metadata (`x-amz-meta-sha256`), because for a multipart upload S3 keeps only
a checksum of the parts' checksums. After each upload the checksum S3 reports is compared with
the one computed here: the object's digest for a single PUT, or the composite
`base64(sha256(digest(part 1) || ... || digest(part N)))-N` for a multipart one.

An organization's bucket is reached through its IAM role, assumed with the location's external
id; the assumed credentials refresh themselves before they expire, so a long backup outlives
the role session. With `expected_bucket_owner`, every request names the account that must own
the bucket, and S3 refuses the request if another account does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import boto3  # type: ignore[import-untyped]
from boto3.exceptions import S3UploadFailedError  # type: ignore[import-untyped]
from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.credentials import (  # type: ignore[import-untyped]
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ChecksumError,
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from botocore.session import Session as BotocoreSession  # type: ignore[import-untyped]
from s3transfer.utils import ChunksizeAdjuster  # type: ignore[import-untyped]

from storage.artifacts import (
    BLOCK_SIZE,
    ChecksumMismatch,
    ObjectInfo,
    ObjectNotFound,
    PutResult,
    StorageError,
    TransientStorageError,
    is_sha256_hex,
    iter_blocks,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from settings.environment import Environment
    from settings.schema import S3Storage

MB = 1024 * 1024
SHA256_METADATA = "sha256"  # stored as x-amz-meta-sha256: the full object's digest, in hex
ROLE_SESSION_NAME = "backupbot"
ROLE_SESSION_SECONDS = 3600
SPOOL_IN_MEMORY = 8 * MB  # a stream that is not a file is spooled; beyond this, to disk

# Chunks of a snapshot are tens of MB: below 64 MB a single PUT, whose checksum S3 checks against
# the digest we send; above it 16 MB parts, four at a time (at most 64 MB in memory).
DEFAULT_TRANSFER = TransferConfig(
    multipart_threshold=64 * MB,
    multipart_chunksize=16 * MB,
    max_concurrency=4,
    preferred_transfer_client="classic",  # the part size must be the one computed here
)

# Answers that say "not now": throttling, S3's internal errors, a request that timed out.
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "BadDigest",  # the bytes changed in transit; sending them again usually works
        "OperationAborted",
    }
)
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
    }
)
_TRANSIENT_BOTOCORE = (
    BotoConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
    IncompleteReadError,
)
_MESSAGE_LENGTH = 200


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def composite_sha256(body: BinaryIO, size: int, part_size: int) -> str:
    """The checksum S3 reports for a multipart upload: SHA-256 of the parts' digests, `-N`.

    Reads `body` from its current position in parts of `part_size` bytes (the last may be
    shorter).
    """
    digests = bytearray()
    parts = 0
    remaining = size
    while remaining > 0:
        digest = hashlib.sha256()
        left = min(part_size, remaining)
        while left > 0:
            block = body.read(min(BLOCK_SIZE, left))
            if not block:
                raise ValueError("the body ended before its recorded size")
            digest.update(block)
            left -= len(block)
        digests += digest.digest()
        remaining -= min(part_size, remaining)
        parts += 1
    return f"{_b64(hashlib.sha256(bytes(digests)).digest())}-{parts}"


# --- credentials -------------------------------------------------------------------------------


class _AssumedRoleProvider(CredentialProvider):  # type: ignore[misc]
    """Hands botocore the role's credentials, which fetch themselves again before they expire."""

    METHOD = "backupbot-assume-role"
    CANONICAL_NAME = "custom-backupbot-assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


def assumed_role_session(
    role_arn: str,
    external_id: str | None,
    *,
    region: str | None,
    base_session: boto3.Session | None = None,
    sts_endpoint_url: str | None = None,
    duration_seconds: int = ROLE_SESSION_SECONDS,
) -> boto3.Session:
    """A session acting as `role_arn`, its credentials refreshed from STS as they near expiry.

    The role is assumed with the bot's own credentials (`base_session`, by default the standard
    chain: environment, instance profile, ...), passing the organization's external id, which
    its trust policy requires so that no other customer of the bot can make it act on this
    bucket.
    """
    source = base_session or boto3.Session(region_name=region)
    sts = source.client("sts", region_name=region, endpoint_url=sts_endpoint_url)
    request: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": ROLE_SESSION_NAME,
        "DurationSeconds": duration_seconds,
    }
    if external_id is not None:
        request["ExternalId"] = external_id

    def fetch() -> dict[str, str]:
        try:
            answer = sts.assume_role(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            # Never the external id or any key: the ARN and STS's code say what to fix.
            raise StorageError(
                f"cannot assume the role {role_arn} ({code}): check that its trust policy "
                "allows the bot's AWS identity and the external id configured for this location"
            ) from None
        except BotoCoreError as error:
            raise TransientStorageError(
                f"cannot reach STS to assume the role {role_arn} ({type(error).__name__})"
            ) from None
        credentials = answer["Credentials"]
        expiration = credentials["Expiration"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": expiration.isoformat()
            if isinstance(expiration, datetime)
            else str(expiration),
        }

    refreshable = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")
    botocore_session = BotocoreSession()
    botocore_session.register_component(
        "credential_provider", CredentialResolver([_AssumedRoleProvider(refreshable)])
    )
    return boto3.Session(botocore_session=botocore_session, region_name=region)


# --- reading -----------------------------------------------------------------------------------


class _BodyReader(io.RawIOBase):
    """An S3 response body as a raw stream, its failures mapped to storage errors."""

    def __init__(self, store: S3Store, body: Any, key: str) -> None:
        super().__init__()
        self._store = store
        self._body = body
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except (BotoCoreError, ClientError) as error:
            raise self._store.failure(error, "reading", self._key) from None
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


# --- the store ---------------------------------------------------------------------------------


class S3Store:
    """An ArtifactStore under `prefix` in `bucket`."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        kms_key_id: str | None = None,
        expected_bucket_owner: str | None = None,
        transfer_config: TransferConfig = DEFAULT_TRANSFER,
        request_attempts: int = 3,
    ) -> None:
        self.bucket = bucket
        folder = prefix.strip("/")
        self.prefix = f"{folder}/" if folder else ""
        self._kms_key_id = kms_key_id
        self._owner = (
            {"ExpectedBucketOwner": expected_bucket_owner} if expected_bucket_owner else {}
        )
        self._transfer = transfer_config
        config = Config(
            region_name=region,
            # botocore retries a single request (one part of an upload, say) a few times; the
            # RetryingStore wrapper retries whole operations on top of that.
            retries={"mode": "standard", "total_max_attempts": request_attempts},
            connect_timeout=10,
            read_timeout=120,
            # S3-compatible services and local test servers answer on one host name.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            request_checksum_calculation="when_supported",
            response_checksum_validation="when_supported",
        )
        session = session or boto3.Session(region_name=region)
        self.client = session.client("s3", endpoint_url=endpoint_url, config=config)

    @classmethod
    def from_config(
        cls,
        location: S3Storage,
        environment: Environment,
        *,
        sts_endpoint_url: str | None = None,
        base_session: boto3.Session | None = None,
    ) -> S3Store:
        """The store of a configured S3 location; assumes its role in a new session when set."""
        session = base_session
        if location.role_arn is not None:
            external_id = (
                environment.secret(location.external_id_env).reveal()
                if location.external_id_env
                else None
            )
            session = assumed_role_session(
                location.role_arn,
                external_id,
                region=location.region,
                base_session=base_session,
                sts_endpoint_url=sts_endpoint_url,
            )
        return cls(
            location.bucket,
            prefix=location.prefix,
            region=location.region,
            endpoint_url=location.endpoint_url,
            session=session,
            kms_key_id=location.kms_key_id,
            expected_bucket_owner=location.expected_bucket_owner,
        )

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    # --- errors ----------------------------------------------------------------------------

    def failure(self, error: BaseException, action: str, key: str | None) -> StorageError:
        """`error` (botocore's or boto3's) as a StorageError naming the bucket, key and action.

        The message carries S3's error code, HTTP status and S3's own short message, never a
        request's headers or any credential.
        """
        where = f"S3 bucket {self.bucket!r}" + (
            f", object {self._display(key)!r}" if key is not None else ""
        )
        if isinstance(error, S3UploadFailedError) and isinstance(error.__context__, ClientError):
            error = error.__context__
        if isinstance(error, ClientError):
            details = error.response.get("Error", {})
            code = str(details.get("Code", "Unknown"))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            said = str(details.get("Message", "")).strip()[:_MESSAGE_LENGTH]
            stated = f" ({code}, HTTP {status}{': ' + said if said else ''})"
            if code in _NOT_FOUND_CODES and key is not None:
                return ObjectNotFound(key, self.location)
            if code in _TRANSIENT_CODES or status >= 500:
                return TransientStorageError(f"{where}: {action} failed for now{stated}")
            if code == "NoSuchBucket":
                return StorageError(
                    f"{where}: the bucket does not exist (or is in another region){stated}"
                )
            if code in _CREDENTIAL_CODES:
                return StorageError(f"{where}: {action} refused the AWS credentials{stated}")
            if code.startswith("KMS.") or "kms" in said.lower():
                return StorageError(
                    f"{where}: {action} failed on the KMS key {self._kms_key_id!r}: check that "
                    f"it exists and that the bot's role may use it{stated}"
                )
            if code == "AccessDenied" or status == 403:
                owner = self._owner.get("ExpectedBucketOwner")
                hint = (
                    f"; or the bucket is not owned by the expected account {owner}" if owner else ""
                )
                return StorageError(
                    f"{where}: access denied while {action}: check the role's permissions and "
                    f"the bucket policy{hint}{stated}"
                )
            return StorageError(f"{where}: {action} failed{stated}")
        if isinstance(error, ChecksumError):
            return ChecksumMismatch(key or "", f"S3 sent bytes that fail their checksum ({where})")
        if isinstance(error, _TRANSIENT_BOTOCORE):
            return TransientStorageError(
                f"{where}: {action} failed for now ({type(error).__name__})"
            )
        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            return StorageError(
                f"{where}: no usable AWS credentials for {action} (set them in the environment "
                "or give the host an instance role)"
            )
        if isinstance(error, CredentialRetrievalError):
            return StorageError(f"{where}: {action}: AWS credentials could not be obtained")
        if isinstance(error, StorageError):
            return error  # raised by our own credential refresh, already worded
        return StorageError(f"{where}: {action} failed ({type(error).__name__})")

    def _display(self, key: str | None) -> str:
        return self.prefix + key if key is not None else self.prefix

    def is_transient(self, error: BaseException) -> bool:
        return isinstance(error, TransientStorageError)

    # --- the protocol ----------------------------------------------------------------------

    def _encryption(self) -> dict[str, str]:
        if self._kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
        return {"ServerSideEncryption": "AES256"}

    def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
        object_key = self._object_key(key)
        body, owned = _seekable(stream)
        try:
            start = body.tell()
            size, digest = _measure(body)
            body.seek(start)
            extra = {
                **self._encryption(),
                **self._owner,
                "Metadata": {SHA256_METADATA: digest.hex()},
                "ChecksumAlgorithm": "SHA256",
            }
            try:
                if size < self._transfer.multipart_threshold:
                    # S3 recomputes the digest we send and refuses the PUT if it differs.
                    answer = self.client.put_object(
                        Bucket=self.bucket,
                        Key=object_key,
                        Body=body,
                        ContentLength=size,
                        ChecksumSHA256=_b64(digest),
                        **extra,
                    )
                    reported = answer.get("ChecksumSHA256")
                    expected = _b64(digest)
                else:
                    self.client.upload_fileobj(
                        body, self.bucket, object_key, ExtraArgs=extra, Config=self._transfer
                    )
                    head = self.client.head_object(
                        Bucket=self.bucket, Key=object_key, ChecksumMode="ENABLED", **self._owner
                    )
                    reported = head.get("ChecksumSHA256")
                    part_size = ChunksizeAdjuster().adjust_chunksize(
                        self._transfer.multipart_chunksize, size
                    )
                    body.seek(start)
                    expected = composite_sha256(body, size, part_size)
            except (BotoCoreError, ClientError, S3UploadFailedError) as error:
                raise self.failure(error, "writing", key) from None
            if not _same_checksum(reported, expected):
                self._discard(object_key)
                raise ChecksumMismatch(
                    key,
                    f"S3 reports the checksum {reported!r} for what it stored in "
                    f"{self.location}, but the bytes sent have {expected!r}",
                )
            return PutResult(key=key, size=size, sha256=digest.hex())
        finally:
            if owned:
                body.close()

    def _discard(self, object_key: str) -> None:
        # The mismatch is the failure to report; a stray object is overwritten by the retry.
        with suppress(BotoCoreError, ClientError):
            self.client.delete_object(Bucket=self.bucket, Key=object_key, **self._owner)

    def open(self, key: str) -> BinaryIO:
        object_key = self._object_key(key)
        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=object_key, ChecksumMode="ENABLED", **self._owner
            )
        except (BotoCoreError, ClientError) as error:
            raise self.failure(error, "reading", key) from None
        return io.BufferedReader(_BodyReader(self, answer["Body"], key), BLOCK_SIZE)

    def stat(self, key: str) -> ObjectInfo | None:
        object_key = self._object_key(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=object_key, **self._owner)
        except (BotoCoreError, ClientError) as error:
            failure = self.failure(error, "checking", key)
            if isinstance(failure, ObjectNotFound):
                return None
            raise failure from None
        recorded = cast(Mapping[str, str], head.get("Metadata", {})).get(SHA256_METADATA)
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            modified_at=_utc(head.get("LastModified")),
            sha256=recorded if recorded and is_sha256_hex(recorded) else None,
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix, **self._owner)
        try:
            for page in pages:
                for entry in page.get("Contents", ()):
                    key = str(entry["Key"])[len(self.prefix) :]
                    try:
                        validate_key(key)
                    except ValueError:
                        continue  # an object someone else put here, named unlike ours
                    yield ObjectInfo(
                        key=key,
                        size=int(entry["Size"]),
                        modified_at=_utc(entry.get("LastModified")),
                    )
        except (BotoCoreError, ClientError) as error:
            raise self.failure(error, "listing", prefix or None) from None

    def delete(self, key: str) -> None:
        object_key = self._object_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=object_key, **self._owner)
        except (BotoCoreError, ClientError) as error:
            failure = self.failure(error, "deleting", key)
            if not isinstance(failure, ObjectNotFound):
                raise failure from None


def _seekable(stream: BinaryIO | Iterable[bytes]) -> tuple[BinaryIO, bool]:
    """A seekable file holding the stream's bytes, and whether it is ours to close."""
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        return cast(BinaryIO, stream), False
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by put
    try:
        for block in iter_blocks(stream):
            spool.write(block)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return cast(BinaryIO, spool), True


def _same_checksum(reported: object, expected: str) -> bool:
    """Whether S3's checksum is ours; a composite one may come without its `-N` suffix.

    AWS writes a multipart object's checksum as `<base64>-<parts>`; some S3-compatible services
    (and moto's HeadObject) leave out the suffix. The digest of the parts' digests is compared
    either way, and the part count too when it is given.
    """
    if not isinstance(reported, str):
        return False
    if reported == expected:
        return True
    digest, _, parts = expected.partition("-")
    return bool(parts) and reported == digest


def _measure(body: BinaryIO) -> tuple[int, bytes]:
    digest = hashlib.sha256()
    size = 0
    while block := body.read(BLOCK_SIZE):
        digest.update(block)
        size += len(block)
    return size, digest.digest()


def _utc(moment: object) -> datetime | None:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
