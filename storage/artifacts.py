"""Where backup artifacts live: one small `ArtifactStore` protocol and the wrappers around it.

A store holds opaque objects under relative POSIX keys (`acme-jira/bk-k3v9q2mx/manifest.json`).
The local folder and the S3 bucket implement only the protocol; retrying transient failures and
checking what is read against its expected size and SHA-256 are wrappers that work on any store
(`RetryingStore`, `VerifyingStore`), in the manner of restic's backend interface. `open_store`
builds the store a configured storage location names.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from settings.environment import Environment
    from settings.schema import LocalStorage, S3Storage

logger = logging.getLogger(__name__)

BLOCK_SIZE = 1024 * 1024  # how much a store reads from a stream at once
MAX_KEY_LENGTH = 900  # S3 allows 1024 bytes; a location's prefix takes part of that

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_Result = TypeVar("_Result")


# --- errors ------------------------------------------------------------------------------------


class StorageError(Exception):
    """An operation on a store failed; the message names the location, the key and what failed."""


class TransientStorageError(StorageError):
    """A failure the store judges temporary (throttling, a 5xx, a dropped connection)."""


class ObjectNotFound(StorageError):
    """No object exists under the key."""

    def __init__(self, key: str, location: str) -> None:
        self.key = key
        super().__init__(f"{location}: no object {key!r}")


class InvalidKey(StorageError, ValueError):
    """A key that is not a relative POSIX path of safe segments: a programming error."""


class IntegrityError(StorageError):
    """What was read is not what was written."""


class ChecksumMismatch(IntegrityError):
    """An object's bytes do not have the size or SHA-256 they were recorded with."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        super().__init__(f"{key}: {detail}")


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PutResult:
    """What a store wrote: the object's size in bytes and the SHA-256 (hex) of its bytes."""

    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ObjectInfo:
    """An object as listed or stat-ed; `sha256` only where the store records it (S3 metadata)."""

    key: str
    size: int
    modified_at: datetime | None = None
    sha256: str | None = None


def validate_key(key: str) -> str:
    """`key` if it is a relative POSIX path of non-empty segments, else InvalidKey.

    Refused: absolute paths, backslashes, `..` and `.`, empty segments (`a//b`, a trailing `/`),
    control characters, and segments starting with a dot, which the stores keep for their own
    temporary files.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("an object key must be a non-empty string")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_LENGTH:
        raise InvalidKey(f"object key longer than {MAX_KEY_LENGTH} bytes: {key[:60]!r}...")
    if key.startswith("/"):
        raise InvalidKey(f"object key {key!r} is absolute; keys are relative paths")
    if "\\" in key:
        raise InvalidKey(f"object key {key!r} contains a backslash; keys use / only")
    if any(ord(character) < 32 or ord(character) == 127 for character in key):
        raise InvalidKey(f"object key {key!r} contains a control character")
    for segment in key.split("/"):
        if not segment:
            raise InvalidKey(f"object key {key!r} has an empty segment")
        if segment.startswith("."):
            raise InvalidKey(
                f"object key {key!r} has a segment starting with a dot ('.', '..' and hidden "
                "names are not keys)"
            )
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty (everything), or a key's beginning, optionally ending with `/`."""
    if prefix == "":
        return prefix
    validate_key(prefix.removesuffix("/"))
    return prefix


def is_sha256_hex(text: str) -> bool:
    return bool(_SHA256_HEX.fullmatch(text))


def iter_blocks(stream: BinaryIO | Iterable[bytes], size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """The bytes of a file-like object or of an iterable of byte strings, in blocks."""
    read = getattr(stream, "read", None)
    if read is not None:
        while block := read(size):
            yield bytes(block)
        return
    for block in stream:
        if block:
            yield bytes(block)


# --- the protocol ------------------------------------------------------------------------------


class ArtifactStore(Protocol):
    """A flat namespace of immutable objects under validated relative keys.

    Every method raises `StorageError` (or a subclass) with a message naming the location and the
    key, never a credential; `is_transient` tells which of those failures may succeed if tried
    again. No method retries by itself: wrap the store in `RetryingStore` for that.
    """

    @property
    def location(self) -> str:
        """The store as an operator knows it (`local folder /srv/backups`, `s3://bucket/pfx/`)."""
        ...

    # Atomic: until put returns, a reader sees the previous object under `key` or none, never a
    # partial one; a failure (or an exception raised by the stream itself) leaves no object
    # behind. Overwrites an existing object. Idempotent for the same bytes. The store computes
    # size and SHA-256 of exactly the bytes it stored. Retried by RetryingStore only when
    # `stream` is seekable, since a consumed iterator cannot be replayed.
    def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult: ...

    # A streaming read of the whole object; ObjectNotFound when there is none. RetryingStore
    # retries opening; a failure while reading surfaces to the caller, who re-opens.
    def open(self, key: str) -> BinaryIO: ...

    # The object's size (and more where known), or None when there is none. Read-only, so
    # retried freely.
    def stat(self, key: str) -> ObjectInfo | None: ...

    # Every object whose key starts with `prefix`, in ascending key order (code point order,
    # which is S3's UTF-8 byte order), never a store's temporary files. The order lets
    # RetryingStore resume an interrupted listing after the last key it yielded.
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    # Removes the object; removing one that does not exist succeeds (idempotent), so it is
    # retried freely.
    def delete(self, key: str) -> None: ...

    # True when `error`, raised by this store, is temporary: trying again may succeed.
    def is_transient(self, error: BaseException) -> bool: ...


# --- retrying ----------------------------------------------------------------------------------


class RetryingStore:
    """Wraps any store: transient failures (as the store judges them) are tried again.

    Waits grow exponentially with full jitter (a random wait up to `first_delay * 2**n`, capped
    at `max_delay`), which spreads retries of parallel workers apart after a throttling answer.
    """

    def __init__(
        self,
        store: ArtifactStore,
        *,
        attempts: int = 5,
        first_delay: float = 0.5,
        max_delay: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.inner = store
        self._attempts = attempts
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._jitter = jitter

    @property
    def location(self) -> str:
        return self.inner.location

    def is_transient(self, error: BaseException) -> bool:
        return self.inner.is_transient(error)

    def _wait(self, attempt: int, error: BaseException, what: str) -> None:
        delay = self._jitter() * min(self._max_delay, self._first_delay * 2**attempt)
        logger.warning(
            "%s: %s failed (attempt %d of %d), retrying in %.1f s: %s",
            self.location,
            what,
            attempt + 1,
            self._attempts,
            delay,
            error,
        )
        self._sleep(delay)

    def _call(
        self, what: str, operation: Callable[[], _Result], rewind: Callable[[], None] | None = None
    ) -> _Result:
        for attempt in range(self._attempts):
            try:
                return operation()
            except Exception as error:
                if attempt + 1 >= self._attempts or not self.inner.is_transient(error):
                    raise
                self._wait(attempt, error, what)
                if rewind is not None:
                    rewind()
        raise AssertionError("unreachable: the last attempt returns or raises")

    def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
        seekable = getattr(stream, "seekable", None)
        if seekable is None or not seekable():
            return self.inner.put(key, stream)
        file = cast(BinaryIO, stream)
        start = file.tell()  # each attempt writes the object from where the first one started

        def rewind() -> None:
            file.seek(start)

        return self._call(f"writing {key!r}", lambda: self.inner.put(key, file), rewind)

    def open(self, key: str) -> BinaryIO:
        return self._call(f"opening {key!r}", lambda: self.inner.open(key))

    def stat(self, key: str) -> ObjectInfo | None:
        return self._call(f"checking {key!r}", lambda: self.inner.stat(key))

    def delete(self, key: str) -> None:
        self._call(f"deleting {key!r}", lambda: self.inner.delete(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        last: str | None = None
        attempt = 0
        while True:
            try:
                for info in self.inner.list(prefix):
                    # After a retry the listing starts over: skip what was already yielded.
                    if last is not None and info.key <= last:
                        continue
                    yield info
                    last = info.key
                    attempt = 0
                return
            except Exception as error:
                if attempt + 1 >= self._attempts or not self.inner.is_transient(error):
                    raise
                self._wait(attempt, error, f"listing {prefix!r}")
                attempt += 1


# --- verifying ---------------------------------------------------------------------------------


class VerifyingReader(io.RawIOBase):
    """Reads a stream through, checking its size and SHA-256 against the expected values.

    Raises ChecksumMismatch (naming the key) as soon as more bytes arrive than expected, and at
    the end of the stream when the size or digest differ. Consumers that must not act on
    unverified bytes read to the end before using any of them.
    """

    def __init__(self, stream: BinaryIO, key: str, size: int, sha256: str) -> None:
        super().__init__()
        self._stream = stream
        self._key = key
        self._expected_size = size
        self._expected_sha256 = sha256.lower()
        self._digest = hashlib.sha256()
        self._read = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        if not data:
            self._check_end()
            return 0
        count = len(data)
        self._read += count
        if self._read > self._expected_size:
            raise ChecksumMismatch(
                self._key, f"longer than the {self._expected_size} bytes recorded for it"
            )
        self._digest.update(data)
        view[:count] = data
        return count

    def _check_end(self) -> None:
        if self._checked:
            return
        self._checked = True
        if self._read != self._expected_size:
            raise ChecksumMismatch(
                self._key, f"{self._read} bytes where {self._expected_size} were recorded"
            )
        actual = self._digest.hexdigest()
        if actual != self._expected_sha256:
            raise ChecksumMismatch(
                self._key, f"SHA-256 is {actual}, but {self._expected_sha256} was recorded"
            )

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def verified(stream: BinaryIO, key: str, size: int, sha256: str) -> BinaryIO:
    """`stream` as a buffered reader that raises ChecksumMismatch if it is not what was recorded."""
    return io.BufferedReader(VerifyingReader(stream, key, size, sha256), BLOCK_SIZE)


class VerifyingStore:
    """Wraps any store: reads are checked against an expected size and SHA-256.

    `open_verified` checks against the values the caller recorded (a snapshot's manifest);
    `open` checks against what the store itself recorded when it has a SHA-256 (S3's metadata),
    else against the size. With `read_back_puts`, every put is read back and checked, which
    catches storage that acknowledges a write it did not keep, at the cost of a second transfer.
    """

    def __init__(self, store: ArtifactStore, *, read_back_puts: bool = False) -> None:
        self.inner = store
        self._read_back = read_back_puts

    @property
    def location(self) -> str:
        return self.inner.location

    def is_transient(self, error: BaseException) -> bool:
        return self.inner.is_transient(error)

    def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
        result = self.inner.put(key, stream)
        if self._read_back:
            with self.open_verified(key, result.size, result.sha256) as readback:
                while readback.read(BLOCK_SIZE):
                    pass
        return result

    def open_verified(self, key: str, size: int, sha256: str) -> BinaryIO:
        return verified(self.inner.open(key), key, size, sha256)

    def open(self, key: str) -> BinaryIO:
        info = self.inner.stat(key)
        if info is None:
            raise ObjectNotFound(key, self.location)
        stream = self.inner.open(key)
        if info.sha256 is None:
            # Only the size is known: a reader still sees truncation or extension.
            return verified_size(stream, key, info.size)
        return verified(stream, key, info.size, info.sha256)

    def stat(self, key: str) -> ObjectInfo | None:
        return self.inner.stat(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


class _SizeCheckingReader(io.RawIOBase):
    def __init__(self, stream: BinaryIO, key: str, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._key = key
        self._expected = size
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        self._read += len(data)
        if (not data and self._read != self._expected) or self._read > self._expected:
            raise ChecksumMismatch(
                self._key, f"{self._read} bytes read where {self._expected} were recorded"
            )
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def verified_size(stream: BinaryIO, key: str, size: int) -> BinaryIO:
    """`stream` as a buffered reader that raises ChecksumMismatch unless it has `size` bytes."""
    return io.BufferedReader(_SizeCheckingReader(stream, key, size), BLOCK_SIZE)


# --- building a configured store ---------------------------------------------------------------


def open_store(location: LocalStorage | S3Storage, environment: Environment) -> ArtifactStore:
    """The store of a configured storage location, retrying transient failures.

    Opened once per run: for S3 this assumes the location's role (when it has one) in a new
    session whose credentials refresh themselves before they expire.
    """
    # Imported here so that a deployment with local storage only never loads boto3.
    if location.kind == "local":
        from storage.local_store import LocalStore  # noqa: PLC0415

        return RetryingStore(LocalStore(location.path))
    from storage.s3_store import S3Store  # noqa: PLC0415

    return RetryingStore(S3Store.from_config(location, environment))
