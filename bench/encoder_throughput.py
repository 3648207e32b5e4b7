"""How fast the snapshot writer turns records into stored chunks, against a bare baseline.

The writer serializes, compresses (zstd level 3), hashes and writes chunks to a local store
(fsync included) and finally the manifest. The baseline is `json.dumps` plus zstd level 3 of the
same records in memory, nothing else. Both run in this process on the same Jira-issue-like
records (nested fields and ADF descriptions, 2-4 KB each); the figures are MB/s of JSON and the
writer's share of the baseline's speed. gzip is measured on the same JSON for comparison.

Run: .venv/bin/python bench/encoder_throughput.py [--records 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import zstandard

from policy.products import Product
from storage.local_store import LocalStore
from storage.snapshot import SnapshotMetadata, SnapshotReader, SnapshotWriter

MB = 1_000_000
BATCH = 256 * 1024
KEY = bytes(range(32))

VOCABULARY = (
    "the issue fails when a user opens the dashboard after login and the report shows stale "
    "data from yesterday we should cache invalidate on deploy customer escalation blocked "
    "release payment gateway timeout retry backend frontend mobile android ios api latency "
    "database migration index query slow page confluence jira sprint board epic story bug "
    "task subtask priority highest lowest regression flaky test pipeline build artifact "
    "kubernetes pod restart memory leak cpu spike alert oncall pager incident postmortem"
)
WORDS = VOCABULARY.split()


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."


def _adf(rng: random.Random) -> dict[str, Any]:
    """An Atlassian Document Format description: paragraphs, a list, a code block."""
    content: list[dict[str, Any]] = [
        {
            "type": "paragraph",
            "content": [{"type": "text", "text": _sentence(rng, 20, 60)}],
        }
        for _ in range(rng.randint(3, 6))
    ]
    content.append(
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [
                                {
                                    "type": "text",
                                    "text": _sentence(rng, 4, 10),
                                    "marks": [{"type": "strong"}] if rng.random() < 0.3 else [],
                                }
                            ],
                        }
                    ],
                }
                for _ in range(rng.randint(1, 4))
            ],
        }
    )
    if rng.random() < 0.4:
        content.append(
            {
                "type": "codeBlock",
                "attrs": {"language": "python"},
                "content": [{"type": "text", "text": f"retry(timeout={rng.randint(1, 90)})"}],
            }
        )
    return {"type": "doc", "version": 1, "content": content}


def _issue(rng: random.Random, number: int) -> dict[str, Any]:
    created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 500_000))
    person = rng.randint(1, 400)
    return {
        "id": str(10_000 + number),
        "key": f"ACME-{number}",
        "self": f"https://acme.atlassian.net/rest/api/3/issue/{10_000 + number}",
        "fields": {
            "summary": _sentence(rng, 5, 12),
            "issuetype": {"id": str(rng.randint(10001, 10005)), "name": rng.choice(WORDS)},
            "project": {"id": "10000", "key": "ACME", "name": "Acme Platform"},
            "status": {"id": str(rng.randint(1, 6)), "name": rng.choice(["To Do", "Done"])},
            "priority": {"id": str(rng.randint(1, 5)), "name": rng.choice(["High", "Low"])},
            "assignee": {
                "accountId": f"5b10ac8d82e05b22cc7d{person:04d}",
                "displayName": f"Person {person}",
                "emailAddress": f"person{person}@acme.example",
            },
            "reporter": {"accountId": f"5b10ac8d82e05b22cc7d{person + 1:04d}"},
            "labels": rng.sample(WORDS, rng.randint(0, 4)),
            "created": created.isoformat(),
            "updated": (created + timedelta(hours=rng.randint(1, 900))).isoformat(),
            "description": _adf(rng),
            "customfield_10016": rng.choice([None, 1, 2, 3, 5, 8, 13]),
            "security": None,
        },
    }


def make_records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [_issue(rng, number) for number in range(count)]


def baseline_zstd(records: list[dict[str, Any]]) -> tuple[int, int]:
    """json.dumps + zstd level 3, in memory: (JSON bytes, compressed bytes)."""
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    raw = compressed = 0
    batch: list[bytes] = []
    pending = 0
    for record in records:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        batch.append(line)
        pending += len(line)
        raw += len(line)
        if pending >= BATCH:
            compressed += len(compressor.compress(b"".join(batch)))
            batch.clear()
            pending = 0
    compressed += len(compressor.compress(b"".join(batch)))
    compressed += len(compressor.flush())
    return raw, compressed


def gzip_of(payload: bytes, level: int) -> int:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: the gzip container
    size = 0
    for start in range(0, len(payload), BATCH):
        size += len(compressor.compress(payload[start : start + BATCH]))
    return size + len(compressor.flush())


def zstd_of(payload: bytes, level: int) -> int:
    compressor = zstandard.ZstdCompressor(level=level).compressobj()
    size = 0
    for start in range(0, len(payload), BATCH):
        size += len(compressor.compress(payload[start : start + BATCH]))
    return size + len(compressor.flush())


def writer_run(records: list[dict[str, Any]], root: Path) -> tuple[int, int, int]:
    """The snapshot writer into a local store: (JSON bytes, stored bytes, chunks)."""
    store = LocalStore(root)
    writer = SnapshotWriter(store, "acme-jira", "bk-bench001", KEY)
    for record in records:
        writer.write("issues", record)
    now = datetime.now(UTC)
    manifest = writer.finish(SnapshotMetadata(Product.JIRA, now, now + timedelta(days=14)))
    chunks = manifest.chunks["issues"]
    return manifest.data_bytes, sum(chunk.size for chunk in chunks), len(chunks)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    records = make_records(arguments.records)
    folder = Path(tempfile.mkdtemp(prefix="backupbot-bench-"))
    try:
        baseline_times, writer_times = [], []
        for round_number in range(arguments.rounds):
            seconds, (raw, compressed) = timed(lambda: baseline_zstd(records))
            baseline_times.append(seconds)
            root = folder / f"round-{round_number}"
            seconds, (data_bytes, stored, chunks) = timed(
                lambda root=root: writer_run(records, root)
            )
            writer_times.append(seconds)
        assert data_bytes == raw  # the same JSON bytes go through both

        baseline_speed = raw / MB / min(baseline_times)
        writer_speed = raw / MB / min(writer_times)
        print(f"records: {len(records):,}, {raw / len(records):,.0f} B of JSON each on average")
        print(f"JSON: {raw / MB:,.1f} MB; rounds: {arguments.rounds} (best of each shown)")
        print(
            f"baseline json.dumps + zstd-3 : {baseline_speed:7.1f} MB/s  "
            f"({min(baseline_times):.2f} s; {compressed / MB:.1f} MB, ratio {raw / compressed:.1f})"
        )
        print(
            f"snapshot writer (local store): {writer_speed:7.1f} MB/s  "
            f"({min(writer_times):.2f} s; {stored / MB:.1f} MB in {chunks} chunks, fsync on)"
        )
        print(f"writer / baseline            : {writer_speed / baseline_speed:7.2f}  (goal >= 0.6)")

        started = time.perf_counter()
        reader = SnapshotReader(LocalStore(folder / "round-0"), "acme-jira", "bk-bench001", KEY)
        read = sum(1 for _ in reader.records("issues"))
        seconds = time.perf_counter() - started
        print(f"snapshot reader (verify+parse): {raw / MB / seconds:6.1f} MB/s  ({read:,} records)")

        payload = b"".join(
            json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for record in records
        )
        print("compression of the same JSON, alone (MB/s of JSON in, size out):")
        for name, run in (
            ("zstd -3", lambda: zstd_of(payload, 3)),
            ("zstd -1", lambda: zstd_of(payload, 1)),
            ("gzip -6", lambda: gzip_of(payload, 6)),
            ("gzip -1", lambda: gzip_of(payload, 1)),
        ):
            seconds, size = timed(run)
            print(
                f"  {name}: {len(payload) / MB / seconds:7.1f} MB/s, {size / MB:6.1f} MB "
                f"(ratio {len(payload) / size:.1f})"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
