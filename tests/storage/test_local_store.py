"""The local managed store: atomic, durable, owner-only files under a folder."""

import hashlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.artifacts import InvalidKey, ObjectNotFound, StorageError
from storage.local_store import LocalStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def every_path(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


class StreamBroke(Exception):
    pass


def breaking_stream(good: bytes) -> Iterator[bytes]:
    yield good
    raise StreamBroke("the source site stopped answering")


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "backups")


def test_put_then_open_gives_back_the_bytes_with_their_size_and_sha256(store: LocalStore) -> None:
    data = b"chunk bytes " * 1000
    result = store.put("acme-jira/bk-abc123/issues/000000.ndjson.zst", io.BytesIO(data))
    assert (result.size, result.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with store.open("acme-jira/bk-abc123/issues/000000.ndjson.zst") as stream:
        assert stream.read() == data


def test_put_accepts_an_iterable_of_byte_strings(store: LocalStore) -> None:
    result = store.put("a/b", [b"one ", b"", b"two"])
    assert result.size == 7
    with store.open("a/b") as stream:
        assert stream.read() == b"one two"


def test_files_are_readable_by_the_owner_only(store: LocalStore) -> None:
    store.put("acme-jira/bk-abc123/manifest.json", [b"{}"])
    assert mode(store.root) == 0o700
    for path in every_path(store.root):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_an_existing_folder_open_to_others_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    LocalStore(folder)
    assert mode(folder) == 0o700


def test_a_stream_failing_mid_write_leaves_no_object_and_no_temporary_file(
    store: LocalStore,
) -> None:
    with pytest.raises(StreamBroke):
        store.put("acme-jira/bk-abc123/issues/000000.ndjson.zst", breaking_stream(b"x" * 5000))
    assert store.stat("acme-jira/bk-abc123/issues/000000.ndjson.zst") is None
    assert [path for path in every_path(store.root) if path.is_file()] == []


def test_a_failed_overwrite_keeps_the_previous_object(store: LocalStore) -> None:
    store.put("a/manifest.json", [b"the old one"])
    with pytest.raises(StreamBroke):
        store.put("a/manifest.json", breaking_stream(b"half of the new"))
    with store.open("a/manifest.json") as stream:
        assert stream.read() == b"the old one"


def test_stale_temporary_files_of_a_crashed_write_are_not_listed(store: LocalStore) -> None:
    store.put("a/kept", [b"1"])
    (store.root / "a" / ".crashed.k2j3h4.tmp").write_bytes(b"half")
    assert [info.key for info in store.list()] == ["a/kept"]
    assert store.stat("a/kept") is not None


def test_list_yields_keys_in_ascending_order_below_a_prefix(store: LocalStore) -> None:
    for key in ["a/c/d", "ab", "a-c", "a/b", "b"]:
        store.put(key, [key.encode()])
    assert [info.key for info in store.list()] == ["a-c", "a/b", "a/c/d", "ab", "b"]
    assert [info.key for info in store.list("a/")] == ["a/b", "a/c/d"]
    assert [info.key for info in store.list("a")] == ["a-c", "a/b", "a/c/d", "ab"]
    assert [(info.key, info.size) for info in store.list("a/c")] == [("a/c/d", 5)]
    assert list(store.list("nothing/here/")) == []


def test_stat_reports_the_size_or_none(store: LocalStore) -> None:
    store.put("a/b", [b"12345"])
    info = store.stat("a/b")
    assert info is not None
    assert info.size == 5
    assert info.modified_at is not None
    assert store.stat("a/missing") is None
    assert store.stat("a") is None  # a folder is not an object


def test_delete_is_idempotent_and_leaves_no_empty_folders(store: LocalStore) -> None:
    store.put("acme-jira/bk-abc123/issues/000000.ndjson.zst", [b"1"])
    store.put("acme-jira/bk-other1/manifest.json", [b"2"])
    store.delete("acme-jira/bk-abc123/issues/000000.ndjson.zst")
    store.delete("acme-jira/bk-abc123/issues/000000.ndjson.zst")
    assert not (store.root / "acme-jira" / "bk-abc123").exists()
    assert (store.root / "acme-jira" / "bk-other1" / "manifest.json").exists()


def test_opening_a_missing_object_raises_object_not_found(store: LocalStore) -> None:
    with pytest.raises(ObjectNotFound, match="no object 'a/missing'"):
        store.open("a/missing")


def test_a_symlink_is_never_read_as_an_object(store: LocalStore, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere"
    secret.write_bytes(b"not ours")
    (store.root / "link").symlink_to(secret)
    with pytest.raises(ObjectNotFound):
        store.open("link")
    assert list(store.list()) == []


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "a/../b", "..", "a\\b", "a//b", "a/", ".hidden", "a/./b", "a\nb"]
)
def test_keys_that_are_not_safe_relative_paths_are_refused(store: LocalStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, [b"x"])


def test_a_failure_names_the_folder_and_the_key(store: LocalStore) -> None:
    store.put("a", [b"a file where a folder is needed"])
    with pytest.raises(StorageError) as failure:
        store.put("a/b", [b"x"])
    assert str(store.root) in str(failure.value)
    assert "'a/b'" in str(failure.value)
    assert not store.is_transient(failure.value)
