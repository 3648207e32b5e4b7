"""The snapshot format on a local store: chunks, the signed manifest, verification, attachments,
and the manifest key."""

import gc
import hashlib
import io
import json
import os
import stat
import tempfile
import tracemalloc
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.products import Product
from policy.statuses import BackupStatus
from settings.environment import Environment, Secret
from settings.errors import ConfigError
from settings.schema import AttachmentPolicy
from storage.artifacts import ChecksumMismatch, PutResult, StorageError
from storage.local_store import LocalStore
from storage.manifest_key import KEY_FILE_NAME, load_or_create_key, manifest_key
from storage.snapshot import (
    CorruptChunk,
    Manifest,
    ManifestKeyMismatch,
    ManifestTampered,
    MissingChunk,
    NotASnapshot,
    SnapshotError,
    SnapshotMetadata,
    SnapshotReader,
    SnapshotWriter,
    UnknownEntity,
    UnsupportedFormat,
    canonical_json,
    has_attachment_content,
    list_manifests,
    open_attachment_content,
    put_attachment_content,
    sign,
)

KEY = bytes.fromhex("6b" * 32)
OTHER_KEY = bytes.fromhex("7c" * 32)
SITE = "acme-jira"
BACKUP = "bk-abc123"
CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
METADATA = SnapshotMetadata(
    Product.JIRA,
    CREATED,
    CREATED + timedelta(days=14),
    attachments=AttachmentPolicy.REFERENCE,
    attachment_bytes=1234,
    tool_version="0.1.0",
)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "backups")


def issues(count: int) -> list[dict[str, Any]]:
    return [{"key": f"ACME-{n}", "fields": {"summary": f"Issue {n} ✓"}} for n in range(count)]


def write_backup(
    store: LocalStore, backup_id: str = BACKUP, records: int = 5, chunk_records: int = 2
) -> Manifest:
    with SnapshotWriter(store, SITE, backup_id, KEY, chunk_records=chunk_records) as writer:
        writer.write_many("issues", issues(records))
        writer.write("projects", {"key": "ACME", "name": "Acme"})
        return writer.finish(METADATA)


def chunk_path(store: LocalStore, manifest: Manifest, entity: str, number: int) -> Path:
    return store.root / SITE / manifest.backup_id / manifest.chunks[entity][number].path


def manifest_path(store: LocalStore, backup_id: str = BACKUP) -> Path:
    return store.root / SITE / backup_id / "manifest.json"


def rewrite_manifest(store: LocalStore, change: Any, backup_id: str = BACKUP) -> None:
    path = manifest_path(store, backup_id)
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


# --- writing and reading back ------------------------------------------------------------------


def test_records_come_back_in_the_order_they_were_written(store: LocalStore) -> None:
    manifest = write_backup(store, records=5, chunk_records=2)
    reader = SnapshotReader(store, SITE, BACKUP, KEY)
    assert list(reader.records("issues")) == issues(5)
    assert list(reader.records("projects")) == [{"key": "ACME", "name": "Acme"}]
    assert [chunk.records for chunk in manifest.chunks["issues"]] == [2, 2, 1]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.text(), json_values, max_size=5), max_size=12))
def test_any_json_records_round_trip_exactly(records: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore(Path(folder))
        with SnapshotWriter(store, SITE, BACKUP, KEY, chunk_records=3) as writer:
            writer.declare("issues")
            writer.write_many("issues", records)
            manifest = writer.finish(METADATA)
        read = list(SnapshotReader(store, SITE, BACKUP, KEY).records("issues"))
    # Compared as JSON text, so 1 and 1.0, or 0.0 and -0.0, would count as different.
    assert json.dumps(read) == json.dumps(records)
    assert manifest.item_counts == {"issues": len(records)}


def test_a_lone_surrogate_from_an_api_round_trips_exactly(store: LocalStore) -> None:
    record = {"summary": "broken \ud800 emoji", "line": "a\u2028b\nc"}
    with SnapshotWriter(store, SITE, BACKUP, KEY) as writer:
        writer.write("issues", record)
        writer.finish(METADATA)
    assert list(SnapshotReader(store, SITE, BACKUP, KEY).records("issues")) == [record]


def test_chunks_are_zstd_ndjson_that_standard_tools_read(store: LocalStore) -> None:
    manifest = write_backup(store, records=2, chunk_records=10)
    compressed = chunk_path(store, manifest, "issues", 0).read_bytes()
    lines = zstandard.ZstdDecompressor().decompressobj().decompress(compressed).splitlines()
    assert [json.loads(line) for line in lines] == issues(2)
    assert chunk_path(store, manifest, "issues", 0).name == "000000.ndjson.zst"


def test_the_manifest_describes_the_backup(store: LocalStore) -> None:
    with SnapshotWriter(store, SITE, BACKUP, KEY, chunk_records=2) as writer:
        writer.write_many("issues", issues(3))
        writer.declare("comments")
        writer.add_failure("issues", "ACME-9", "403 Forbidden: issue security level")
        manifest = writer.finish(METADATA)
    document = json.loads(manifest_path(store).read_text())
    assert document["format"] == "backupbot-snapshot"
    assert document["format_version"] == 1
    assert (document["site"], document["product"], document["backup_id"]) == (SITE, "jira", BACKUP)
    assert document["created_at"] == "2026-03-01T09:00:00Z"
    assert document["expires_at"] == "2026-03-15T09:00:00Z"
    assert document["tool_version"] == "0.1.0"
    assert document["attachments"] == "reference"
    assert document["item_counts"] == {"comments": 0, "issues": 3}
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in issues(3)]
    assert document["data_bytes"] == len("".join(lines).encode())
    assert document["attachment_bytes"] == 1234
    assert document["failed_items"] == [
        {"entity": "issues", "id": "ACME-9", "reason": "403 Forbidden: issue security level"}
    ]
    for chunk, stored in zip(document["chunks"]["issues"], manifest.chunks["issues"], strict=True):
        data = (store.root / SITE / BACKUP / chunk["path"]).read_bytes()
        assert chunk["sha256"] == hashlib.sha256(data).hexdigest()
        assert chunk["size"] == len(data) == stored.size
    assert manifest.status is BackupStatus.INCOMPLETE
    signature = document.pop("hmac_sha256")
    assert signature == sign(document, KEY)
    loaded = SnapshotReader(store, SITE, BACKUP, KEY).manifest
    assert loaded == manifest


def test_a_backup_without_failures_is_completed(store: LocalStore) -> None:
    assert write_backup(store).status is BackupStatus.COMPLETED


def test_the_manifest_is_written_last(tmp_path: Path) -> None:
    class Recording(LocalStore):
        def __init__(self, root: Path) -> None:
            super().__init__(root)
            self.keys: list[str] = []

        def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
            self.keys.append(key)
            return super().put(key, stream)

    store = Recording(tmp_path / "backups")
    write_backup(store, records=5, chunk_records=2)
    assert len(store.keys) == 5
    assert store.keys[-1] == f"{SITE}/{BACKUP}/manifest.json"


def test_an_unknown_entity_is_refused_naming_what_the_backup_holds(store: LocalStore) -> None:
    write_backup(store)
    with pytest.raises(UnknownEntity, match="it holds: issues, projects"):
        list(SnapshotReader(store, SITE, BACKUP, KEY).records("pages"))


def test_a_finished_snapshot_takes_no_more_records(store: LocalStore) -> None:
    with SnapshotWriter(store, SITE, BACKUP, KEY) as writer:
        writer.write("issues", {"key": "ACME-1"})
        writer.finish(METADATA)
        with pytest.raises(SnapshotError, match="is finished"):
            writer.write("comments", {"id": "1"})


def test_a_record_that_is_not_a_json_object_is_refused(store: LocalStore) -> None:
    writer = SnapshotWriter(store, SITE, BACKUP, KEY)
    with pytest.raises(TypeError, match="must be a JSON object"):
        writer.write("issues", ["not", "an", "object"])


@pytest.mark.parametrize(
    "record",
    [
        {"big": 2**70, "small": -(2**70)},  # beyond 64 bits
        {"lone": "\udc00", "pair": "\U0001f600"},
        {1: "a key that is not a string"},
    ],
)
def test_what_the_fast_encoder_refuses_is_still_written_exactly(
    store: LocalStore, record: dict[Any, Any]
) -> None:
    with SnapshotWriter(store, SITE, BACKUP, KEY) as writer:
        writer.write("issues", record)
        writer.finish(METADATA)
    read = list(SnapshotReader(store, SITE, BACKUP, KEY).records("issues"))
    assert read == [json.loads(json.dumps(record))]


# --- bounded memory ----------------------------------------------------------------------------


def peak_while_writing(folder: Path, count: int) -> tuple[int, int]:
    store = LocalStore(folder, durable=False)
    record = {"key": "ACME-0", "fields": {"summary": "A short summary", "labels": ["a", "b"]}}
    gc.collect()
    tracemalloc.start()
    try:
        writer = SnapshotWriter(
            store, SITE, BACKUP, KEY, chunk_bytes=256 * 1024, chunk_records=1_000_000
        )
        for number in range(count):
            record["key"] = f"ACME-{number}"
            writer.write("issues", record)
        manifest = writer.finish(METADATA)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, len(manifest.chunks["issues"])


def test_chunk_rollover_keeps_memory_bounded_whatever_the_record_count(tmp_path: Path) -> None:
    small_peak, small_chunks = peak_while_writing(tmp_path / "small", 20_000)
    large_peak, large_chunks = peak_while_writing(tmp_path / "large", 200_000)
    assert large_chunks >= 10 * small_chunks - 10
    assert large_chunks > 60
    # Ten times the records, many more chunks, and the peak barely moves: one open chunk's
    # worth of buffers plus a manifest entry per chunk.
    assert large_peak < small_peak * 1.5 + 256 * 1024
    assert large_peak < 8 * 1024 * 1024


# --- what a crash or an abort leaves -----------------------------------------------------------


def test_a_run_that_dies_between_chunks_and_manifest_leaves_no_restorable_backup(
    store: LocalStore,
) -> None:
    writer = SnapshotWriter(store, SITE, BACKUP, KEY, chunk_records=2)
    writer.write_many("issues", issues(5))  # two chunks stored, then the process dies
    assert len(list(store.list(f"{SITE}/{BACKUP}/"))) == 2
    with pytest.raises(NotASnapshot, match="a backup without a manifest is not a backup"):
        SnapshotReader(store, SITE, BACKUP, KEY)
    assert list(list_manifests(store, KEY)) == []


def test_abort_removes_the_written_chunks_and_leaves_no_manifest(store: LocalStore) -> None:
    writer = SnapshotWriter(store, SITE, BACKUP, KEY, chunk_records=2)
    writer.write_many("issues", issues(5))
    writer.abort()
    writer.abort()
    assert list(store.list()) == []
    assert not (store.root / SITE).exists()


def test_an_exception_inside_the_writer_block_aborts_the_snapshot(store: LocalStore) -> None:
    with (
        pytest.raises(RuntimeError),
        SnapshotWriter(store, SITE, BACKUP, KEY, chunk_records=1) as writer,
    ):
        writer.write_many("issues", issues(3))
        raise RuntimeError("the site went away")
    assert list(store.list()) == []


def test_a_chunk_the_store_fails_to_keep_ends_the_snapshot(tmp_path: Path) -> None:
    class FullDisk(LocalStore):
        def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
            if key.endswith("000001.ndjson.zst"):
                raise StorageError(f"{self.location}: writing {key!r} failed (No space left)")
            return super().put(key, stream)

    store = FullDisk(tmp_path / "backups")
    with SnapshotWriter(store, SITE, BACKUP, KEY, chunk_records=2) as writer:
        writer.write_many("issues", issues(2))
        with pytest.raises(StorageError, match="No space left"):
            writer.write_many("issues", issues(2))
        with pytest.raises(SnapshotError, match="can only be aborted"):
            writer.write("issues", {"key": "ACME-5"})
        writer.abort()
    assert list(store.list()) == []


# --- integrity ---------------------------------------------------------------------------------


def test_verify_of_an_intact_backup_reports_no_problem(store: LocalStore) -> None:
    manifest = write_backup(store)
    report = SnapshotReader(store, SITE, BACKUP, KEY).verify()
    assert report.ok
    assert report.chunks_checked == 4
    assert report.records_checked == 6
    assert report.bytes_checked == sum(c.size for group in manifest.chunks.values() for c in group)


def test_a_chunk_corrupted_on_disk_is_found_and_none_of_its_records_are_read(
    store: LocalStore,
) -> None:
    manifest = write_backup(store, records=5, chunk_records=2)
    path = chunk_path(store, manifest, "issues", 1)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    reader = SnapshotReader(store, SITE, BACKUP, KEY)
    report = reader.verify()
    assert not report.ok
    assert len(report.problems) == 1
    assert "issues/000001.ndjson.zst" in report.problems[0]
    read: list[dict[str, Any]] = []
    with pytest.raises(ChecksumMismatch, match=r"acme-jira/bk-abc123/issues/000001\.ndjson\.zst"):
        read.extend(reader.records("issues"))
    assert read == issues(2)  # the first chunk only: nothing of the damaged one


def test_a_chunk_rewritten_with_its_checksum_in_the_manifest_is_caught_by_the_hmac(
    store: LocalStore,
) -> None:
    manifest = write_backup(store, records=2, chunk_records=10)
    forged = zstandard.ZstdCompressor(level=3).compress(b'{"key":"ACME-0","evil":true}\n')
    chunk_path(store, manifest, "issues", 0).write_bytes(forged)

    def forge(document: dict[str, Any]) -> None:
        chunk = document["chunks"]["issues"][0]
        chunk["sha256"] = hashlib.sha256(forged).hexdigest()
        chunk["size"] = len(forged)

    rewrite_manifest(store, forge)
    with pytest.raises(ManifestTampered, match="HMAC does not match"):
        SnapshotReader(store, SITE, BACKUP, KEY)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expires_at", "2027-03-15T09:00:00Z"),
        ("product", "confluence"),
        ("failed_items", []),
        ("attachments", "copy"),
    ],
)
def test_a_tampered_manifest_field_is_detected(store: LocalStore, field: str, value: Any) -> None:
    with SnapshotWriter(store, SITE, BACKUP, KEY) as writer:
        writer.write("issues", {"key": "ACME-1"})
        writer.add_failure("issues", "ACME-2", "timeout")
        writer.finish(METADATA)
    rewrite_manifest(store, lambda document: document.update({field: value}))
    with pytest.raises(ManifestTampered):
        SnapshotReader(store, SITE, BACKUP, KEY)


def test_reformatting_the_manifest_changes_nothing(store: LocalStore) -> None:
    write_backup(store)
    rewrite_manifest(store, lambda document: None)  # other whitespace, same content
    assert SnapshotReader(store, SITE, BACKUP, KEY).verify().ok


def test_a_manifest_signed_with_another_key_is_named_as_such(store: LocalStore) -> None:
    write_backup(store)
    with pytest.raises(ManifestKeyMismatch, match="another manifest key"):
        SnapshotReader(store, SITE, BACKUP, OTHER_KEY)


def test_a_manifest_copied_to_another_backup_is_refused(store: LocalStore) -> None:
    write_backup(store)
    store.put(f"{SITE}/bk-copied1/manifest.json", io.BytesIO(manifest_path(store).read_bytes()))
    with pytest.raises(ManifestTampered, match="copied to another place"):
        SnapshotReader(store, SITE, "bk-copied1", KEY)


def test_a_newer_format_version_asks_for_an_upgrade(store: LocalStore) -> None:
    write_backup(store)

    def future(document: dict[str, Any]) -> None:
        document["format_version"] = 2
        document.pop("hmac_sha256")
        document["hmac_sha256"] = sign(document, KEY)

    rewrite_manifest(store, future)
    with pytest.raises(UnsupportedFormat, match="upgrade"):
        SnapshotReader(store, SITE, BACKUP, KEY)


def test_a_missing_chunk_is_reported(store: LocalStore) -> None:
    manifest = write_backup(store, records=5, chunk_records=2)
    chunk_path(store, manifest, "issues", 2).unlink()
    reader = SnapshotReader(store, SITE, BACKUP, KEY)
    with pytest.raises(MissingChunk, match=r"issues/000002\.ndjson\.zst"):
        list(reader.records("issues"))
    report = reader.verify()
    assert len(report.problems) == 1
    assert "missing" in report.problems[0]


def test_a_signed_chunk_whose_records_disagree_with_the_manifest_is_corrupt(
    store: LocalStore,
) -> None:
    manifest = write_backup(store, records=2, chunk_records=10)

    def miscount(document: dict[str, Any]) -> None:
        document["chunks"]["issues"][0]["records"] = 3
        document["item_counts"]["issues"] = 3
        document.pop("hmac_sha256")
        document["hmac_sha256"] = sign(document, KEY)

    rewrite_manifest(store, miscount)
    assert manifest.chunks["issues"][0].records == 2
    with pytest.raises(CorruptChunk, match="2 records"):
        list(SnapshotReader(store, SITE, BACKUP, KEY).records("issues"))


def test_the_hmac_covers_canonical_json_with_sorted_keys() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


# --- catalog sync ------------------------------------------------------------------------------


def test_list_manifests_yields_verified_manifests_and_reports_tampered_ones(
    store: LocalStore,
) -> None:
    write_backup(store, "bk-first01")
    write_backup(store, "bk-second2")
    write_backup(store, "bk-forged3")
    rewrite_manifest(
        store, lambda d: d.update({"expires_at": "2030-01-01T00:00:00Z"}), "bk-forged3"
    )
    store.put("acme-jira/bk-nochunk/issues/000000.ndjson.zst", [b"an unfinished backup"])
    store.put("notes/readme.txt", [b"not a backup"])
    rejected: list[tuple[str, Exception]] = []
    found = list(list_manifests(store, KEY, on_rejected=lambda key, e: rejected.append((key, e))))
    assert [manifest.backup_id for manifest in found] == ["bk-first01", "bk-second2"]
    assert [key for key, _ in rejected] == ["acme-jira/bk-forged3/manifest.json"]
    assert isinstance(rejected[0][1], ManifestTampered)


# --- attachment content ------------------------------------------------------------------------


def test_attachment_content_is_stored_once_across_backups(store: LocalStore) -> None:
    content = os.urandom(300_000)
    first = put_attachment_content(store, SITE, io.BytesIO(content))
    second = put_attachment_content(store, SITE, iter([content[:1000], content[1000:]]))
    assert first.sha256 == second.sha256 == hashlib.sha256(content).hexdigest()
    assert (first.stored_now, second.stored_now) == (True, False)
    stored = list(store.list(f"{SITE}/attachments/"))
    assert [info.key for info in stored] == [
        f"{SITE}/attachments/sha256/{first.sha256[:2]}/{first.sha256}"
    ]
    assert has_attachment_content(store, SITE, first.sha256)
    with open_attachment_content(store, SITE, first.sha256) as stream:
        assert stream.read() == content


def test_altered_attachment_content_is_detected_when_read(store: LocalStore) -> None:
    stored = put_attachment_content(store, SITE, [b"a diagram"])
    path = store.root / SITE / "attachments" / "sha256" / stored.sha256[:2] / stored.sha256
    path.write_bytes(b"a diagrax")
    with pytest.raises(ChecksumMismatch), open_attachment_content(store, SITE, stored.sha256) as s:
        s.read()


# --- the manifest key --------------------------------------------------------------------------


def test_a_missing_manifest_key_is_generated_once_owner_only_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = load_or_create_key(data_dir)
    path = data_dir / KEY_FILE_NAME
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key.hex()
    assert load_or_create_key(data_dir) == key
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]  # no temporary file left


def test_the_environments_key_wins_and_is_read_as_hex(tmp_path: Path) -> None:
    environment = Environment.from_environ(
        {"BACKUPBOT_MANIFEST_KEY": "ab" * 32, "BACKUPBOT_DATA_DIR": str(tmp_path)}
    )
    assert manifest_key(environment) == bytes.fromhex("ab" * 32)
    assert not (tmp_path / KEY_FILE_NAME).exists()


@pytest.mark.parametrize("value", ["short-passphrase", "ab" * 16, "zz" * 32])
def test_a_manifest_key_that_is_not_32_bytes_of_hex_is_refused_without_echoing_it(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError) as refusal:
        load_or_create_key(tmp_path, Secret(value))
    assert "BACKUPBOT_MANIFEST_KEY" in str(refusal.value)
    assert "openssl rand -hex 32" in str(refusal.value)
    assert value not in str(refusal.value)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path)
    os.chmod(tmp_path / KEY_FILE_NAME, 0o644)
    with pytest.raises(ConfigError, match=r"mode 0644.*chmod 600"):
        load_or_create_key(tmp_path)


def test_a_key_file_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.key"
    elsewhere.write_text("ab" * 32)
    os.chmod(elsewhere, 0o600)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / KEY_FILE_NAME).symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_or_create_key(tmp_path / "data")
