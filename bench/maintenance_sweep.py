"""The maintenance pass at scale, and start-up with many schedules.

    .venv/bin/python bench/maintenance_sweep.py [--postgres URL]

100,000 Completed backups across 200 sites, 1 % of them past their expiry: one maintenance pass
(`jobs.maintenance.sweep`), timing the database work apart from deleting the expired backups'
data (managed local storage). Then 1,000 daily schedules: the time and the memory it takes the
job runner to start (planning every schedule's next run and looking for missed slots). On
SQLite, and on PostgreSQL when `--postgres` (or BACKUPBOT_TEST_POSTGRES_URL) names a server
where a scratch database may be created and dropped.
"""

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, make_url, text

from jobs import maintenance
from jobs.context import JobContext
from jobs.runner import JobRunner
from policy.frequency import Frequency
from policy.identifiers import IdKind
from policy.statuses import BackupStatus
from settings.environment import Environment
from settings.loading import parse_config
from storage.catalog import sync_configuration
from storage.database import create_engine, session_factory, upgrade
from storage.ids import new_id
from storage.models import Backup, Schedule, Site, StorageLocation

SITES = 200
BACKUPS = 100_000
DUE_SHARE = 0.01
SCHEDULES = 1_000
NOW = datetime.now(UTC)  # the real time: planned runs are in the future for APScheduler too


def rss_mib() -> float:
    """This process's resident memory now, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Quiet:
    """Runner events that only count (nothing to post in a benchmark)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def deployment(folder: Path, url: str) -> JobContext:
    config = parse_config(
        {
            "storage": {"managed": {"kind": "local", "path": str(folder / "backups")}},
            "sites": {
                f"site-{n:03d}": {
                    "product": "jira" if n % 2 else "confluence",
                    "url": f"http://127.0.0.1:{20000 + n}",
                    "email": "bench@example.com",
                    "token_env": "SB",
                }
                for n in range(SITES)
            },
        },
        {"SB": "x"},
        folder,
    )
    engine = create_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_configuration(session, config, NOW)
    environment = Environment.from_environ({"BACKUPBOT_DATA_DIR": str(folder), "SB": "x"})
    return JobContext(config, environment, sessions, b"k" * 32, clock=lambda: NOW)


def fill(context: JobContext) -> None:
    with context.sessions.begin() as session:
        sites = [s.id for s in session.query(Site).order_by(Site.id)]
        location = session.query(StorageLocation).one().id
        due = int(BACKUPS * DUE_SHARE)
        rows = []
        for n in range(BACKUPS):
            created = (
                NOW - timedelta(days=14, minutes=1) if n < due else NOW - timedelta(days=n % 13)
            )
            rows.append({
                "id": f"bk-{n:08d}", "site_id": sites[n % SITES], "storage_location_id": location,
                "status": BackupStatus.COMPLETED, "created_at": created,
                "started_at": created, "finished_at": created + timedelta(minutes=5),
                "expires_at": created + timedelta(days=14), "data_bytes": 1000,
                "attachment_bytes": 0, "item_counts": {"issues": 1},
            })  # fmt: skip
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Backup), rows[start : start + 10_000])
        schedules = [
            {
                "id": new_id(IdKind.SCHEDULE),
                "site_id": sites[n % SITES],
                "frequency": Frequency.DAILY,
                "at_time": f"{n % 24:02d}:{n % 60:02d}",
                "timezone": "Europe/Berlin",
                "storage_location_id": location,
                "created_by": "bench@example.com",
                "created_at": NOW,  # made now: no slot was missed
            }
            for n in range(SCHEDULES)
        ]
        session.execute(insert(Schedule), schedules)


def run(label: str, url: str, folder: Path) -> None:
    context = deployment(folder, url)
    fill(context)
    deleting = [0.0]
    delete = maintenance.delete_backup_data

    def timed_delete(*args: Any) -> None:
        started = time.perf_counter()
        delete(*args)
        deleting[0] += time.perf_counter() - started

    maintenance.delete_backup_data = timed_delete  # type: ignore[assignment]
    started = time.perf_counter()
    report = maintenance.sweep(context)
    total = time.perf_counter() - started
    maintenance.delete_backup_data = delete  # type: ignore[assignment]
    print(
        f"{label}: {BACKUPS:,} backups, {SITES} sites: {len(report.expired):,} expired in "
        f"{total - deleting[0]:.2f} s of database work; deleting their data "
        f"{deleting[0]:.2f} s (rows only: listing and deleting a manifest that is not there); "
        "posting: none (no request lapsed, and expiry posts nothing)"
    )
    before = rss_mib()
    runner = JobRunner(context, Quiet())  # type: ignore[arg-type]
    started = time.perf_counter()
    runner.start()
    took = time.perf_counter() - started
    planned = len(runner.scheduler.get_jobs())
    grown = rss_mib() - before
    beats = 20
    started = time.perf_counter()
    for _ in range(beats):
        runner.schedules._tick()  # what the lease holder does every heartbeat
    beat = (time.perf_counter() - started) / beats
    runner.shutdown(wait=True)
    print(
        f"{label}: start-up with {SCHEDULES:,} schedules: {took:.2f} s, {planned:,} jobs planned; "
        f"RSS {before:.0f} MiB before, {before + grown:.0f} MiB after; "
        f"each heartbeat (lease renewal, schedules reconciled): {beat * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("BACKUPBOT_TEST_POSTGRES_URL"))
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/bench.db", Path(folder))
    if arguments.postgres:
        admin = create_engine(arguments.postgres).execution_options(isolation_level="AUTOCOMMIT")
        name = f"bench_sweep_{os.getpid()}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(arguments.postgres).set(database=name).render_as_string(False)
            with tempfile.TemporaryDirectory() as folder:
                run("PostgreSQL", url, Path(folder))
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
