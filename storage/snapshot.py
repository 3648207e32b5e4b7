"""The snapshot format (docs/snapshot-format.md): what a backup is on storage, written and read
back.

Under `<site>/<backup-id>/` each entity (issues, comments, pages, ...) is a series of chunks,
`<entity>/<n>.ndjson.zst`: zstd-compressed NDJSON, one JSON object a line, readable with
`zstd -dc <chunk> | head`. A chunk is closed at a size or record bound, so writing and reading
hold one chunk per entity at most, whatever the site's size. `manifest.json` is written last
and lists every chunk with its SHA-256, sizes and record count; it carries an HMAC-SHA256 made
with the deployment's manifest key, so a chunk rewritten together with its checksum in the
manifest is still detected. A backup without a manifest is not a backup.

Attachment content (for locations with `attachments: copy`) is stored once per site by its
SHA-256, under `<site>/attachments/sha256/<first two hex digits>/<hash>`, shared by backups.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any, BinaryIO, cast

import orjson
import zstandard

from policy.identifiers import IdKind, id_kind
from policy.products import Product
from policy.retention import require_aware
from policy.statuses import BackupStatus
from settings.schema import AttachmentPolicy
from storage.artifacts import (
    BLOCK_SIZE,
    ArtifactStore,
    ChecksumMismatch,
    IntegrityError,
    ObjectNotFound,
    StorageError,
    VerifyingStore,
    iter_blocks,
    validate_key,
    verified,
)

__all__ = [
    "AttachmentContent",
    "ChecksumMismatch",
    "ChunkInfo",
    "CorruptChunk",
    "FailedItem",
    "Manifest",
    "ManifestKeyMismatch",
    "ManifestTampered",
    "MissingChunk",
    "NotASnapshot",
    "SnapshotError",
    "SnapshotMetadata",
    "SnapshotReader",
    "SnapshotWriter",
    "UnknownEntity",
    "UnsupportedFormat",
    "VerifyReport",
    "attachment_content_key",
    "has_attachment_content",
    "list_manifests",
    "load_manifest",
    "open_attachment_content",
    "put_attachment_content",
]

logger = logging.getLogger(__name__)

FORMAT = "backupbot-snapshot"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
COMPRESSION = "zstd"
CHUNK_SUFFIX = ".ndjson.zst"
ATTACHMENTS_FOLDER = "attachments"

MB = 1024 * 1024
DEFAULT_LEVEL = 3  # zstd's default: far faster than gzip at a better ratio on JSON
DEFAULT_CHUNK_BYTES = 64 * MB  # uncompressed JSON per chunk, about 5-10 MB compressed
DEFAULT_CHUNK_RECORDS = 100_000
SPOOL_IN_MEMORY = 8 * MB  # a compressed chunk beyond this waits on disk, not in memory
MAX_MANIFEST_BYTES = 64 * MB
MAX_REASON_LENGTH = 500

_BATCH_BYTES = 256 * 1024  # lines are compressed in batches: one call per line is slower
_SITE = re.compile(r"[a-z][a-z0-9-]{0,39}")
_ENTITY = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_HMAC_FIELD = "hmac_sha256"
_KEY_ID_LABEL = b"backupbot manifest key id"


# --- errors ------------------------------------------------------------------------------------


class SnapshotError(StorageError):
    """A snapshot cannot be written or read as one."""


class NotASnapshot(SnapshotError):
    """No manifest under `<site>/<backup-id>/`: the backup never finished, or never existed."""


class UnsupportedFormat(SnapshotError):
    """A manifest of a format version newer than this tool reads."""


class UnknownEntity(SnapshotError, LookupError):
    """The snapshot holds no such entity."""


class ManifestTampered(IntegrityError):
    """The manifest's HMAC does not match its content: it was changed after it was written."""


class ManifestKeyMismatch(ManifestTampered):
    """The manifest was signed with another manifest key than this deployment's."""


class MissingChunk(IntegrityError):
    """A chunk the manifest lists is not in storage."""


class CorruptChunk(IntegrityError):
    """A chunk whose bytes are as recorded but whose content is not what the manifest says."""


# --- values ------------------------------------------------------------------------------------


def tool_version() -> str:
    try:
        return importlib.metadata.version("backupbot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _instant(moment: datetime) -> str:
    """An ISO-8601 UTC instant ending in Z, as the manifest writes times."""
    return require_aware(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ChunkInfo:
    """One chunk: its path below the backup's folder, record count, sizes and SHA-256."""

    path: str
    records: int
    sha256: str
    size: int  # compressed bytes, as stored
    uncompressed_size: int  # the JSON lines' bytes
    compression: str = COMPRESSION

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "records": self.records,
            "sha256": self.sha256,
            "size": self.size,
            "uncompressed_size": self.uncompressed_size,
            "compression": self.compression,
        }


@dataclass(frozen=True)
class FailedItem:
    """An item that could not be backed up, which makes the backup Incomplete."""

    entity: str
    id: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"entity": self.entity, "id": self.id, "reason": self.reason}


@dataclass(frozen=True)
class SnapshotMetadata:
    """What the backup run knows about the snapshot besides its records, given at `finish`."""

    product: Product
    created_at: datetime
    expires_at: datetime
    attachments: AttachmentPolicy = AttachmentPolicy.REFERENCE
    attachment_bytes: int = 0  # referenced or copied attachments' size, as the run counted it
    tool_version: str = field(default_factory=tool_version)


@dataclass(frozen=True)
class Manifest:
    """A verified manifest: the snapshot's table of contents and its facts
    (docs/snapshot-format.md)."""

    site: str
    product: Product
    backup_id: str
    created_at: datetime
    expires_at: datetime
    tool_version: str
    attachments: AttachmentPolicy
    data_bytes: int
    attachment_bytes: int
    item_counts: Mapping[str, int]
    chunks: Mapping[str, tuple[ChunkInfo, ...]]
    failed_items: tuple[FailedItem, ...]
    key_id: str
    hmac_sha256: str
    format_version: int = FORMAT_VERSION

    @property
    def status(self) -> BackupStatus:
        """Completed, or Incomplete when some items could not be backed up."""
        return BackupStatus.INCOMPLETE if self.failed_items else BackupStatus.COMPLETED

    @property
    def key(self) -> str:
        return manifest_key_of(self.site, self.backup_id)

    def content(self) -> dict[str, Any]:
        """Everything but the HMAC, as written to manifest.json."""
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "site": self.site,
            "product": self.product.value,
            "backup_id": self.backup_id,
            "created_at": _instant(self.created_at),
            "expires_at": _instant(self.expires_at),
            "tool_version": self.tool_version,
            "attachments": self.attachments.value,
            "data_bytes": self.data_bytes,
            "attachment_bytes": self.attachment_bytes,
            "item_counts": dict(self.item_counts),
            "failed_items": [item.to_json() for item in self.failed_items],
            "chunks": {
                entity: [chunk.to_json() for chunk in chunks]
                for entity, chunks in self.chunks.items()
            },
            "key_id": self.key_id,
        }

    def to_bytes(self) -> bytes:
        """manifest.json: indented for people, the HMAC last."""
        document = {**self.content(), _HMAC_FIELD: self.hmac_sha256}
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` re-read, and every problem found, each naming its chunk."""

    site: str
    backup_id: str
    chunks_checked: int
    records_checked: int
    bytes_checked: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


# --- keys and the HMAC -------------------------------------------------------------------------


def _check_site(site: str) -> str:
    if not isinstance(site, str) or not _SITE.fullmatch(site):
        raise ValueError(f"{site!r} is not a site name (lowercase letters, digits, hyphens)")
    return site


def _check_backup_id(backup_id: str) -> str:
    if not isinstance(backup_id, str) or id_kind(backup_id) is not IdKind.BACKUP:
        raise ValueError(f"{backup_id!r} is not a backup id (like bk-a1b2c3d4)")
    return backup_id


def _check_entity(entity: str) -> str:
    if not isinstance(entity, str) or not _ENTITY.fullmatch(entity):
        raise ValueError(
            f"{entity!r} is not an entity name (lowercase letters, digits, '_' and '-')"
        )
    return entity


def backup_folder(site: str, backup_id: str) -> str:
    return f"{_check_site(site)}/{_check_backup_id(backup_id)}/"


def manifest_key_of(site: str, backup_id: str) -> str:
    return backup_folder(site, backup_id) + MANIFEST_NAME


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """The bytes the HMAC covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def key_id(key: bytes) -> str:
    """A public name of a manifest key, to tell "signed with another key" from tampering.

    A keyed hash of a fixed label: it reveals nothing about the key that the manifest's HMAC
    does not already.
    """
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def sign(content: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical_json(content), hashlib.sha256).hexdigest()


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise ValueError("the manifest key must be at least 16 bytes")
    return bytes(key)


# --- writing -----------------------------------------------------------------------------------


def _encode(record: Mapping[str, Any]) -> bytes:
    """One NDJSON line. orjson writes the same compact UTF-8 JSON as `json.dumps` about 15 times
    faster (`bench/encoder_throughput.py`); what it refuses, the standard encoder writes.

    Records are parsed JSON (the site client refuses NaN and infinities, which JSON cannot
    carry); a float NaN handed in by code would be written as null, as orjson writes it.
    """
    if not isinstance(record, Mapping):
        raise TypeError(f"a record must be a JSON object (a mapping), not {type(record).__name__}")
    value = record if isinstance(record, dict) else dict(record)
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        # A lone surrogate (which JSON APIs can send as "\ud800") has no UTF-8 form, and orjson
        # refuses integers beyond 64 bits and keys that are not strings: escaped by the standard
        # encoder, each reads back as the very same value.
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii") + b"\n"


class _OpenChunk:
    """The chunk being filled for one entity: lines compressed into a spooled temporary file."""

    def __init__(self, path: str, level: int) -> None:
        self.path = path
        # Closed by the writer once stored, or when the snapshot is aborted.
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self._compressor = zstandard.ZstdCompressor(level=level, write_checksum=True).compressobj()
        self._digest = hashlib.sha256()
        # Lines are copied in: a bytes object from orjson keeps its whole output buffer (4 KiB
        # for a short line), which a list of them would hold until the batch is compressed.
        self._pending = bytearray()
        self.records = 0
        self.uncompressed_size = 0
        self.size = 0

    def add(self, line: bytes) -> None:
        self._pending += line
        self.records += 1
        self.uncompressed_size += len(line)
        if len(self._pending) >= _BATCH_BYTES:
            self._emit(self._compressor.compress(self._pending))
            self._pending.clear()

    def _emit(self, data: bytes) -> None:
        if data:
            self.spool.write(data)
            self._digest.update(data)
            self.size += len(data)

    def close_frame(self) -> str:
        """Ends the zstd frame; the SHA-256 of the compressed bytes, positioned for reading."""
        self._emit(self._compressor.compress(self._pending))
        self._pending.clear()
        self._emit(self._compressor.flush())
        self.spool.seek(0)
        return self._digest.hexdigest()


class SnapshotWriter:
    """Writes one backup's snapshot: records per entity, then `finish` writes the manifest.

    Not thread-safe: one writer per backup, fed from one thread (the caller may run it in a
    worker thread of its own). Used as a context manager, an exception aborts the snapshot.
    """

    def __init__(
        self,
        store: ArtifactStore,
        site: str,
        backup_id: str,
        key: bytes,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        chunk_records: int = DEFAULT_CHUNK_RECORDS,
        level: int = DEFAULT_LEVEL,
    ) -> None:
        if chunk_bytes < 1 or chunk_records < 1:
            raise ValueError("chunk bounds must be positive")
        self._store = store
        self.site = _check_site(site)
        self.backup_id = _check_backup_id(backup_id)
        self._key = _check_key(key)
        self._folder = backup_folder(site, backup_id)
        self._chunk_bytes = chunk_bytes
        self._chunk_records = chunk_records
        self._level = level
        self._open: dict[str, _OpenChunk] = {}
        self._chunks: dict[str, list[ChunkInfo]] = {}
        self._failures: list[FailedItem] = []
        self._written: list[str] = []
        self._state = "writing"

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None and self._state in {"writing", "failed"}:
            self.abort()

    def _require_writing(self) -> None:
        if self._state != "writing":
            why = {
                "finished": "is finished",
                "aborted": "was aborted",
                "failed": "lost a chunk to a storage failure and can only be aborted",
            }[self._state]
            raise SnapshotError(f"{self._folder}: the snapshot {why}")

    def declare(self, entity: str) -> None:
        """Records `entity` as backed up even if no record of it is written (a count of 0)."""
        self._require_writing()
        self._chunks.setdefault(_check_entity(entity), [])

    def write(self, entity: str, record: Mapping[str, Any]) -> None:
        """Appends one record (a JSON object) to the entity's current chunk."""
        self._require_writing()
        chunk = self._open.get(entity)
        if chunk is None:
            self.declare(entity)
            number = len(self._chunks[entity])
            chunk = self._open[entity] = _OpenChunk(
                f"{entity}/{number:06d}{CHUNK_SUFFIX}", self._level
            )
        chunk.add(_encode(record))
        if chunk.uncompressed_size >= self._chunk_bytes or chunk.records >= self._chunk_records:
            self._store_chunk(entity)

    def write_many(self, entity: str, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.write(entity, record)

    def add_failure(self, entity: str, item_id: str, reason: str) -> None:
        """Records an item that could not be backed up; the snapshot becomes Incomplete."""
        self._require_writing()
        self._chunks.setdefault(_check_entity(entity), [])
        self._failures.append(FailedItem(entity, str(item_id), str(reason)[:MAX_REASON_LENGTH]))

    def _store_chunk(self, entity: str) -> None:
        chunk = self._open.pop(entity)
        key = self._folder + chunk.path
        try:
            sha256 = chunk.close_frame()
            self._written.append(key)  # before the put: an aborted put may still leave it
            result = self._store.put(key, cast(BinaryIO, chunk.spool))
            if result.sha256 != sha256 or result.size != chunk.size:
                raise ChecksumMismatch(
                    key, f"the store wrote {result.size} bytes ({result.sha256}), not what was sent"
                )
        except BaseException:
            # The chunk's records are lost with it: the snapshot can only be aborted now.
            self._state = "failed"
            raise
        finally:
            chunk.spool.close()
        self._chunks[entity].append(
            ChunkInfo(
                path=chunk.path,
                records=chunk.records,
                sha256=sha256,
                size=chunk.size,
                uncompressed_size=chunk.uncompressed_size,
            )
        )

    def finish(self, metadata: SnapshotMetadata) -> Manifest:
        """Stores the open chunks, then the signed manifest, last; the snapshot is then final."""
        self._require_writing()
        created_at = require_aware(metadata.created_at, "created_at").astimezone(UTC)
        expires_at = require_aware(metadata.expires_at, "expires_at").astimezone(UTC)
        if expires_at <= created_at:
            raise ValueError("a snapshot must expire after it was created")
        for entity in sorted(self._open):
            self._store_chunk(entity)
        chunks = {entity: tuple(self._chunks[entity]) for entity in sorted(self._chunks)}
        unsigned = Manifest(
            site=self.site,
            product=Product(metadata.product),
            backup_id=self.backup_id,
            created_at=created_at,
            expires_at=expires_at,
            tool_version=metadata.tool_version,
            attachments=AttachmentPolicy(metadata.attachments),
            data_bytes=sum(c.uncompressed_size for group in chunks.values() for c in group),
            attachment_bytes=metadata.attachment_bytes,
            item_counts={entity: sum(c.records for c in group) for entity, group in chunks.items()},
            chunks=chunks,
            failed_items=tuple(self._failures),
            key_id=key_id(self._key),
            hmac_sha256="",
        )
        manifest = _with_hmac(unsigned, sign(unsigned.content(), self._key))
        self._store.put(manifest.key, [manifest.to_bytes()])
        self._state = "finished"
        return manifest

    def abort(self) -> None:
        """Removes what was written; no manifest remains, so there is no backup. Idempotent."""
        if self._state == "finished":
            raise SnapshotError(f"{self._folder}: a finished snapshot is not aborted but deleted")
        self._state = "aborted"
        for chunk in self._open.values():
            chunk.spool.close()
        self._open.clear()
        # The manifest first: should the last put have landed after all, it must not outlive
        # the chunks it lists.
        for key in [self._folder + MANIFEST_NAME, *reversed(self._written)]:
            try:
                self._store.delete(key)
            except StorageError as error:
                logger.warning("aborting %s: could not delete %s: %s", self._folder, key, error)
        self._written.clear()


def _with_hmac(manifest: Manifest, value: str) -> Manifest:
    fields = {name: getattr(manifest, name) for name in manifest.__dataclass_fields__}
    return Manifest(**{**fields, "hmac_sha256": value})


# --- reading the manifest ----------------------------------------------------------------------


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"the key {name!r} appears twice")
        result[name] = value
    return result


def _read_limited(stream: BinaryIO, limit: int, key: str) -> bytes:
    data = bytearray()
    with stream:
        while block := stream.read(BLOCK_SIZE):
            data += block
            if len(data) > limit:
                raise NotASnapshot(f"{key}: larger than any manifest ({limit} bytes)")
    return bytes(data)


class _Fields:
    """Typed access to a manifest's decoded JSON; a wrong shape is a ManifestTampered."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self._data = data
        self._where = where

    def wrong(self, name: str, expected: str) -> ManifestTampered:
        return ManifestTampered(f"{self._where}: the field {name!r} is not {expected}")

    def text(self, name: str) -> str:
        value = self._data.get(name)
        if not isinstance(value, str):
            raise self.wrong(name, "text")
        return value

    def count(self, name: str) -> int:
        value = self._data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.wrong(name, "a whole number of at least 0")
        return value

    def instant(self, name: str) -> datetime:
        try:
            return require_aware(datetime.fromisoformat(self.text(name)), name)
        except (ValueError, TypeError):
            raise self.wrong(name, "an ISO-8601 UTC instant") from None

    def mapping(self, name: str) -> Mapping[str, Any]:
        value = self._data.get(name)
        if not isinstance(value, dict):
            raise self.wrong(name, "an object")
        return value

    def items(self, name: str) -> list[Any]:
        value = self._data.get(name)
        if not isinstance(value, list):
            raise self.wrong(name, "a list")
        return value


def _parse_chunk(entity: str, raw: object, where: str) -> ChunkInfo:
    if not isinstance(raw, dict):
        raise ManifestTampered(f"{where}: a chunk of {entity!r} is not an object")
    fields = _Fields(raw, f"{where}, a chunk of {entity!r}")
    path = fields.text("path")
    try:
        validate_key(path)
    except ValueError:
        raise fields.wrong("path", "a relative path") from None
    if not path.startswith(f"{entity}/"):
        raise fields.wrong("path", f"a path below {entity}/")
    sha256 = fields.text("sha256")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise fields.wrong("sha256", "a SHA-256 in hex")
    return ChunkInfo(
        path=path,
        records=fields.count("records"),
        sha256=sha256,
        size=fields.count("size"),
        uncompressed_size=fields.count("uncompressed_size"),
        compression=fields.text("compression"),
    )


def _parse_manifest(data: Mapping[str, Any], where: str, signature: str) -> Manifest:
    fields = _Fields(data, where)
    try:
        product = Product(fields.text("product"))
    except ValueError:
        raise fields.wrong("product", "jira or confluence") from None
    try:
        attachments = AttachmentPolicy(fields.text("attachments"))
    except ValueError:
        raise fields.wrong("attachments", "reference or copy") from None
    chunks: dict[str, tuple[ChunkInfo, ...]] = {}
    for entity, listed in fields.mapping("chunks").items():
        if not _ENTITY.fullmatch(entity) or not isinstance(listed, list):
            raise fields.wrong("chunks", "a list of chunks per entity")
        chunks[entity] = tuple(_parse_chunk(entity, raw, where) for raw in listed)
    counts = fields.mapping("item_counts")
    expected_counts = {entity: sum(c.records for c in group) for entity, group in chunks.items()}
    if dict(counts) != expected_counts:
        raise fields.wrong("item_counts", "the sum of its chunks' records")
    failed = []
    for raw in fields.items("failed_items"):
        if not isinstance(raw, dict):
            raise fields.wrong("failed_items", "a list of objects")
        item = _Fields(raw, f"{where}, a failed item")
        failed.append(FailedItem(item.text("entity"), item.text("id"), item.text("reason")))
    return Manifest(
        site=fields.text("site"),
        product=product,
        backup_id=fields.text("backup_id"),
        created_at=fields.instant("created_at"),
        expires_at=fields.instant("expires_at"),
        tool_version=fields.text("tool_version"),
        attachments=attachments,
        data_bytes=fields.count("data_bytes"),
        attachment_bytes=fields.count("attachment_bytes"),
        item_counts=expected_counts,
        chunks=chunks,
        failed_items=tuple(failed),
        key_id=fields.text("key_id"),
        hmac_sha256=signature,
        format_version=fields.count("format_version"),
    )


def load_manifest(store: ArtifactStore, site: str, backup_id: str, key: bytes) -> Manifest:
    """The manifest of `<site>/<backup-id>/`, its HMAC verified with `key`.

    NotASnapshot when there is none (or it is not one of ours), UnsupportedFormat for a newer
    format, ManifestTampered (ManifestKeyMismatch for another key) when the HMAC or the
    manifest's own site and id do not match.
    """
    manifest_key = manifest_key_of(site, backup_id)
    key = _check_key(key)
    where = f"{store.location}: {manifest_key}"
    try:
        raw = _read_limited(store.open(manifest_key), MAX_MANIFEST_BYTES, where)
    except ObjectNotFound:
        raise NotASnapshot(
            f"{store.location}: {site}/{backup_id} has no {MANIFEST_NAME}, so it is not a "
            "backup: a backup without a manifest is not a backup (the run stopped before it "
            "finished, or the backup was deleted)"
        ) from None
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, ValueError) as error:
        raise ManifestTampered(f"{where}: not a readable JSON document ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise NotASnapshot(f"{where}: not a backupbot snapshot manifest")
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ManifestTampered(f"{where}: no valid format_version")
    if version > FORMAT_VERSION:
        raise UnsupportedFormat(
            f"{where}: format version {version}; this backupbot reads up to {FORMAT_VERSION}, "
            "so upgrade it to read this backup"
        )
    signature = document.pop(_HMAC_FIELD, None)
    if not isinstance(signature, str):
        raise ManifestTampered(f"{where}: the manifest carries no HMAC")
    if not hmac.compare_digest(signature, sign(document, key)):
        signed_with = document.get("key_id")
        if isinstance(signed_with, str) and signed_with != key_id(key):
            raise ManifestKeyMismatch(
                f"{where}: signed with another manifest key (key id {signed_with}; this "
                f"deployment's is {key_id(key)}): set BACKUPBOT_MANIFEST_KEY to the key that "
                "wrote it, or the manifest was altered"
            )
        raise ManifestTampered(
            f"{where}: the HMAC does not match the content: the manifest was changed after it "
            "was written, so this backup cannot be trusted"
        )
    manifest = _parse_manifest(document, where, signature)
    if (manifest.site, manifest.backup_id) != (site, backup_id):
        raise ManifestTampered(
            f"{where}: the manifest is that of {manifest.site}/{manifest.backup_id}, "
            "copied to another place"
        )
    return manifest


def list_manifests(
    store: ArtifactStore,
    key: bytes,
    *,
    on_rejected: Callable[[str, StorageError], None] | None = None,
) -> Iterator[Manifest]:
    """The verified manifests in a location, for rebuilding the catalog (`catalog sync`).

    A manifest that fails verification is not trusted: it is passed to `on_rejected` with the
    reason (by default logged as a warning) and not yielded. Failures of the store itself
    propagate.
    """
    report = on_rejected or _log_rejected
    for info in store.list(""):
        parts = info.key.split("/")
        if len(parts) != 3 or parts[2] != MANIFEST_NAME or id_kind(parts[1]) is not IdKind.BACKUP:
            continue
        if not _SITE.fullmatch(parts[0]):
            continue
        try:
            yield load_manifest(store, parts[0], parts[1], key)
        except (SnapshotError, IntegrityError) as error:
            report(info.key, error)


def _log_rejected(key: str, error: StorageError) -> None:
    logger.warning("not trusting %s: %s", key, error)


# --- reading records ---------------------------------------------------------------------------


class SnapshotReader:
    """Reads a finished snapshot; every chunk is checked against the verified manifest.

    Construction loads and verifies the manifest (NotASnapshot, ManifestTampered, ...). A chunk's
    records are handed out only once all its bytes have been read and match the manifest's size
    and SHA-256, so nothing from a damaged chunk is ever restored.
    """

    def __init__(self, store: ArtifactStore, site: str, backup_id: str, key: bytes) -> None:
        self._store = store if isinstance(store, VerifyingStore) else VerifyingStore(store)
        self.site = site
        self.backup_id = backup_id
        self._folder = backup_folder(site, backup_id)
        self.manifest = load_manifest(store, site, backup_id, key)

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(self.manifest.chunks)

    def records(self, entity: str) -> Iterator[dict[str, Any]]:
        """The entity's records in the order they were written."""
        chunks = self.manifest.chunks.get(entity)
        if chunks is None:
            listed = ", ".join(self.manifest.chunks) or "none"
            raise UnknownEntity(
                f"{self._folder}: the backup holds no {entity!r} (it holds: {listed})"
            )
        for chunk in chunks:
            yield from self._chunk_records(chunk)

    def _fetch(self, chunk: ChunkInfo) -> IO[bytes]:
        """The chunk's bytes in a temporary file, verified against the manifest."""
        key = self._folder + chunk.path
        if chunk.compression != COMPRESSION:
            raise CorruptChunk(f"{key}: unknown compression {chunk.compression!r}")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            try:
                stream = self._store.open_verified(key, chunk.size, chunk.sha256)
            except ObjectNotFound:
                raise MissingChunk(
                    f"{self._store.location}: {key} is listed in the manifest but missing"
                ) from None
            with stream:
                for block in iter_blocks(stream):
                    spool.write(block)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    def _chunk_records(self, chunk: ChunkInfo) -> Iterator[dict[str, Any]]:
        key = self._folder + chunk.path
        with self._fetch(chunk) as spool:
            reader = zstandard.ZstdDecompressor().stream_reader(spool, read_across_frames=True)
            records = 0
            size = 0
            rest = b""
            try:
                while block := reader.read(BLOCK_SIZE):
                    size += len(block)
                    lines = (rest + block).split(b"\n")
                    rest = lines.pop()
                    for line in lines:
                        yield _decode(line, key)
                        records += 1
            except zstandard.ZstdError as error:
                raise CorruptChunk(f"{key}: not a zstd stream ({error})") from None
            if rest:
                raise CorruptChunk(f"{key}: the last line has no end")
        if records != chunk.records or size != chunk.uncompressed_size:
            raise CorruptChunk(
                f"{key}: {records} records in {size} bytes, but the manifest records "
                f"{chunk.records} in {chunk.uncompressed_size}"
            )

    def verify(self) -> VerifyReport:
        """Re-reads every chunk of every entity; the report lists each problem found."""
        problems = []
        chunks_checked = records_checked = bytes_checked = 0
        for chunks in self.manifest.chunks.values():
            for chunk in chunks:
                try:
                    for _ in self._chunk_records(chunk):
                        records_checked += 1
                except IntegrityError as error:
                    problems.append(str(error))
                chunks_checked += 1
                bytes_checked += chunk.size
        return VerifyReport(
            site=self.site,
            backup_id=self.backup_id,
            chunks_checked=chunks_checked,
            records_checked=records_checked,
            bytes_checked=bytes_checked,
            problems=tuple(problems),
        )


def _decode(line: bytes, key: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        raise CorruptChunk(f"{key}: a line is not JSON") from None
    if not isinstance(record, dict):
        raise CorruptChunk(f"{key}: a line is not a JSON object")
    return record


# --- attachment content ------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentContent:
    """Stored attachment content: its SHA-256 (its name), size, and whether this call stored it."""

    sha256: str
    size: int
    stored_now: bool


def attachment_content_key(site: str, sha256: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"{sha256!r} is not a SHA-256 in lowercase hex")
    return f"{_check_site(site)}/{ATTACHMENTS_FOLDER}/sha256/{sha256[:2]}/{sha256}"


def has_attachment_content(store: ArtifactStore, site: str, sha256: str) -> bool:
    return store.stat(attachment_content_key(site, sha256)) is not None


def put_attachment_content(
    store: ArtifactStore, site: str, stream: BinaryIO | Iterable[bytes]
) -> AttachmentContent:
    """Stores an attachment's bytes under their SHA-256, unless an earlier backup already did.

    The bytes are spooled (to disk beyond a few MB) while hashed, since the name is known only
    at the end; content already stored is not sent again.
    """
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        for block in iter_blocks(stream):
            spool.write(block)
            digest.update(block)
            size += len(block)
        sha256 = digest.hexdigest()
        key = attachment_content_key(site, sha256)
        existing = store.stat(key)
        if existing is not None and existing.size == size:
            return AttachmentContent(sha256=sha256, size=size, stored_now=False)
        spool.seek(0)
        result = store.put(key, cast(BinaryIO, spool))
    if result.sha256 != sha256:
        raise ChecksumMismatch(key, "the store wrote other bytes than the attachment's")
    return AttachmentContent(sha256=sha256, size=size, stored_now=True)


def open_attachment_content(store: ArtifactStore, site: str, sha256: str) -> BinaryIO:
    """A reader of stored attachment content that raises ChecksumMismatch if it was altered."""
    key = attachment_content_key(site, sha256)
    info = store.stat(key)
    if info is None:
        raise ObjectNotFound(key, store.location)
    return verified(store.open(key), key, info.size, sha256)
