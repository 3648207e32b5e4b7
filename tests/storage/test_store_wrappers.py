"""The wrappers that work on any store: retrying transient failures, verifying what is read."""

import hashlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from settings.environment import Environment
from settings.schema import LocalStorage
from storage.artifacts import (
    ArtifactStore,
    ChecksumMismatch,
    ObjectInfo,
    PutResult,
    RetryingStore,
    StorageError,
    TransientStorageError,
    VerifyingStore,
    iter_blocks,
    open_store,
    verified,
)
from storage.local_store import LocalStore


class FlakyStore:
    """A local store whose chosen operations fail a given number of times first.

    A failing put reads part of its stream before failing, as a real upload cut off mid-way
    does, so a retry must start the stream over.
    """

    def __init__(self, inner: LocalStore, failures: int, error: StorageError) -> None:
        self.inner = inner
        self.failures = failures
        self.error = error
        self.calls = 0

    @property
    def location(self) -> str:
        return self.inner.location

    def is_transient(self, error: BaseException) -> bool:
        return isinstance(error, TransientStorageError)

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error

    def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
        self.calls += 1
        if self.calls <= self.failures:
            next(iter_blocks(stream, 3), None)
            raise self.error
        return self.inner.put(key, stream)

    def open(self, key: str) -> BinaryIO:
        self._maybe_fail()
        return self.inner.open(key)

    def stat(self, key: str) -> ObjectInfo | None:
        self._maybe_fail()
        return self.inner.stat(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for position, info in enumerate(self.inner.list(prefix)):
            if position == 2:
                self._maybe_fail()
            yield info

    def delete(self, key: str) -> None:
        self._maybe_fail()
        self.inner.delete(key)


class RecordedSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


THROTTLED = TransientStorageError("s3 bucket 'acme': writing failed for now (SlowDown, HTTP 503)")
DENIED = StorageError("s3 bucket 'acme': access denied while writing")


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def retrying(store: ArtifactStore, sleep: RecordedSleep, attempts: int = 4) -> RetryingStore:
    return RetryingStore(store, attempts=attempts, sleep=sleep, jitter=lambda: 1.0)


def test_a_transient_error_is_retried_until_the_put_succeeds(local: LocalStore) -> None:
    flaky = FlakyStore(local, failures=2, error=THROTTLED)
    sleep = RecordedSleep()
    result = retrying(flaky, sleep).put("a/b", io.BytesIO(b"the whole chunk"))
    assert flaky.calls == 3
    assert result.sha256 == hashlib.sha256(b"the whole chunk").hexdigest()
    with local.open("a/b") as stream:
        assert stream.read() == b"the whole chunk"  # each attempt started the stream over
    assert sleep.waits == [0.5, 1.0]


def test_a_permanent_error_is_not_retried(local: LocalStore) -> None:
    flaky = FlakyStore(local, failures=1, error=DENIED)
    sleep = RecordedSleep()
    with pytest.raises(StorageError, match="access denied"):
        retrying(flaky, sleep).put("a/b", io.BytesIO(b"x"))
    assert flaky.calls == 1
    assert sleep.waits == []


def test_retrying_stops_after_the_last_attempt(local: LocalStore) -> None:
    flaky = FlakyStore(local, failures=10, error=THROTTLED)
    with pytest.raises(TransientStorageError):
        retrying(flaky, RecordedSleep(), attempts=3).stat("a/b")
    assert flaky.calls == 3


def test_a_put_from_a_one_shot_iterator_is_not_retried(local: LocalStore) -> None:
    flaky = FlakyStore(local, failures=1, error=THROTTLED)
    with pytest.raises(TransientStorageError):
        retrying(flaky, RecordedSleep()).put("a/b", iter([b"cannot ", b"be replayed"]))
    assert flaky.calls == 1


def test_reads_and_deletes_are_retried(local: LocalStore) -> None:
    local.put("a/b", [b"data"])
    store = retrying(FlakyStore(local, failures=1, error=THROTTLED), RecordedSleep())
    with store.open("a/b") as stream:
        assert stream.read() == b"data"
    store.delete("a/b")
    assert local.stat("a/b") is None


def test_an_interrupted_listing_resumes_after_the_last_key_it_yielded(local: LocalStore) -> None:
    keys = [f"k/{number}" for number in range(5)]
    for key in keys:
        local.put(key, [b"x"])
    store = retrying(FlakyStore(local, failures=1, error=THROTTLED), RecordedSleep())
    assert [info.key for info in store.list("k/")] == keys


def test_waits_grow_exponentially_up_to_the_cap(local: LocalStore) -> None:
    sleep = RecordedSleep()
    store = RetryingStore(
        FlakyStore(local, failures=6, error=THROTTLED),
        attempts=7,
        first_delay=1.0,
        max_delay=5.0,
        sleep=sleep,
        jitter=lambda: 1.0,
    )
    store.stat("a/b")
    assert sleep.waits == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_a_verified_read_of_the_recorded_bytes_passes() -> None:
    data = b"x" * 3_000_000
    stream = verified(io.BytesIO(data), "a/b", len(data), hashlib.sha256(data).hexdigest())
    assert stream.read() == data


@pytest.mark.parametrize(
    ("stored", "detail"),
    [
        (b"recorded bytez", "SHA-256"),
        (b"recorded bytes and more", "longer than"),
        (b"recorded", "bytes where"),
    ],
)
def test_a_verified_read_of_other_bytes_raises_checksum_mismatch_naming_the_key(
    stored: bytes, detail: str
) -> None:
    recorded = b"recorded bytes"
    stream = verified(
        io.BytesIO(stored),
        "acme-jira/bk-abc123/x",
        len(recorded),
        hashlib.sha256(recorded).hexdigest(),
    )
    with pytest.raises(ChecksumMismatch, match=detail) as mismatch:
        stream.read()
    assert mismatch.value.key == "acme-jira/bk-abc123/x"
    assert "acme-jira/bk-abc123/x" in str(mismatch.value)


class RecordingStore(LocalStore):
    """A local store that also records each object's SHA-256, as the S3 store does."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.recorded: dict[str, str] = {}

    def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
        result = super().put(key, stream)
        self.recorded[key] = result.sha256
        return result

    def stat(self, key: str) -> ObjectInfo | None:
        info = super().stat(key)
        if info is None:
            return None
        return ObjectInfo(info.key, info.size, info.modified_at, self.recorded.get(key))


def test_the_verifying_store_checks_reads_against_the_sha256_the_store_recorded(
    tmp_path: Path,
) -> None:
    inner = RecordingStore(tmp_path / "store")
    store = VerifyingStore(inner)
    store.put("a/b", [b"original"])
    with store.open("a/b") as stream:
        assert stream.read() == b"original"
    (inner.root / "a" / "b").write_bytes(b"origin4l")  # same size, other bytes
    with pytest.raises(ChecksumMismatch, match="a/b"), store.open("a/b") as stream:
        stream.read()


def test_the_verifying_store_checks_at_least_the_size_when_no_sha256_is_recorded(
    local: LocalStore,
) -> None:
    store = VerifyingStore(local)
    local.put("a/b", [b"12345"])
    assert store.open("a/b").read() == b"12345"


def test_reading_back_every_put_catches_storage_that_keeps_other_bytes(tmp_path: Path) -> None:
    class LyingStore(LocalStore):
        def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
            result = super().put(key, stream)
            (self.root / key).write_bytes(b"X" * result.size)
            return result

    store = VerifyingStore(LyingStore(tmp_path / "store"), read_back_puts=True)
    with pytest.raises(ChecksumMismatch):
        store.put("a/b", [b"what was sent"])


def test_open_store_builds_a_retrying_local_store(tmp_path: Path) -> None:
    location = LocalStorage(kind="local", path=tmp_path / "backups")
    store = open_store(location, Environment.from_environ({}))
    assert isinstance(store, RetryingStore)
    assert isinstance(store.inner, LocalStore)
    store.put("acme-jira/bk-abc123/manifest.json", [b"{}"])
    assert (tmp_path / "backups" / "acme-jira" / "bk-abc123" / "manifest.json").exists()
