"""`backupbot serve` processes dying, restarting and running side by side: real subprocesses
(front and worker each) against one database, a sandbox site over HTTP and a fake Slack.

Downtime across a slot is made the way it happens to a real deployment, from the tables'
point of view: a schedule whose slot came due while no process ran.
"""

import hashlib
import hmac
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from policy.schedules import RunReason
from policy.statuses import BackupStatus
from sandbox.app import create_app
from sandbox.data import SiteData
from sandbox.server import running_sandbox
from settings.environment import default_database_url
from storage.catalog import INTERRUPTED
from storage.database import create_engine, session_factory
from storage.models import Backup, Lease, Schedule, ScheduleRun

SECRET = "test-signing-secret"
CONFIG = """\
channels: {{notifications: C0NOTIFY}}
roles: {{source: config, org_admins: [alice@example.com],
        app_admins: {{jira: [alice@example.com], confluence: [alice@example.com]}}}}
jobs: {{heartbeat_seconds: 1}}   # dead work is noticed after 6 s, not 3 minutes
storage: {{managed: {{kind: local, path: {backups}}}}}
sites:
"""
SITE = '  {name}: {{product: {product}, url: "{url}", email: svc@example.com, token_env: T}}\n'
SITES = {"acme-jira": "jira", "acme-wiki": "confluence", "ops-jira": "jira",
         "ops-wiki": "confluence"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """One `backupbot serve` (front and worker in a process group of their own)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, log.read_text()
            time.sleep(0.1)
        raise AssertionError(f"serve did not become healthy:\n{log.read_text()}")

    def command(self, fake_slack, user: str, text: str) -> dict:
        tag = f"r{time.monotonic_ns()}"
        form = {"team_id": "T0TEAM", "user_id": user, "command": "/backup", "text": text,
                "response_url": f"{fake_slack.url}/respond/{tag}"}  # fmt: skip
        body = urllib.parse.urlencode(form).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
        answer = httpx.post(
            f"{self.url}/slack/events", content=body, timeout=10,
            headers={"X-Slack-Request-Timestamp": stamp,
                     "X-Slack-Signature": f"v0={signature.hexdigest()}",
                     "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert answer.status_code == 200
        return fake_slack.wait_for(f"respond/{tag}")

    def kill(self) -> None:
        """Power off: front and worker die at once, with no chance to tidy up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self._log.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(90) == 0
        self._log.close()


@pytest.fixture
def deployment(fake_slack, tmp_path) -> Iterator[tuple[dict[str, str], object]]:
    """The environment of `backupbot serve` (four sites on two sandboxes, the database a file
    in the data directory), and the `acme-` sites' sandbox app."""
    app = create_app(SiteData.generate(11, projects=1, issues=6, spaces=1, pages=4))
    other = SiteData.generate(12, projects=1, issues=6, spaces=1, pages=4)
    with running_sandbox(app=app) as acme, running_sandbox(other) as ops:
        config = tmp_path / "backupbot.yml"
        config.write_text(
            CONFIG.format(backups=tmp_path / "backups")
            + "".join(
                SITE.format(name=n, product=p, url=acme if n.startswith("acme") else ops)
                for n, p in SITES.items()
            )
        )
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": f"{fake_slack.url}/api/", "BACKUPBOT_CONFIG": str(config),
               "BACKUPBOT_DATA_DIR": str(tmp_path), "T": "sandbox-token"}  # fmt: skip
        env.pop("SLACK_APP_TOKEN", None)
        env.pop("BACKUPBOT_DATABASE_URL", None)
        yield env, app


@contextmanager
def database(url: str) -> Iterator[object]:
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def wait_until(check, timeout: float = 60, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s: {check.__doc__ or check}")


def schedule_id(reply) -> str:
    return re.search(r"sc-[a-z0-9]+", reply["text"]).group(0)


def missed(sessions, *schedule_ids: str) -> str:
    """As if each schedule had been made two days ago, at a time of day an hour past: that
    slot came due while no process ran. Returns the slot."""
    earlier = datetime.now(UTC) - timedelta(hours=1)
    with sessions.begin() as session:
        session.execute(
            update(Schedule)
            .where(Schedule.id.in_(schedule_ids))
            .values(created_at=earlier - timedelta(days=2), at_time=earlier.strftime("%H:%M"))
        )
    return earlier.date().isoformat()


def runs_of(sessions, schedule: str) -> list[tuple[str, int, RunReason, BackupStatus | None]]:
    with sessions() as session:
        return [
            (run.slot, run.attempt, run.reason, run.backup.status if run.backup else None)
            for run in session.query(ScheduleRun)
            .filter_by(schedule_id=schedule)
            .order_by(ScheduleRun.id)
        ]


def test_a_killed_process_s_interrupted_run_is_retried_and_missed_slots_run_once(
    fake_slack, deployment, tmp_path
):
    env, app = deployment
    url = default_database_url(tmp_path)
    first = Served(env, tmp_path / "first.log")
    jira = schedule_id(first.command(fake_slack, "U_ALICE", "schedule acme-jira daily at 00:00"))
    wiki = schedule_id(first.command(fake_slack, "U_ALICE", "schedule acme-wiki daily at 00:00"))
    first.stop()
    with database(url) as sessions:
        slot = missed(sessions, jira)
        # The Jira site answers slowly: its backup is still running when the power goes.
        app.state.faults.delay(60, paths=["/rest/api/3/search/jql"])
        second = Served(env, tmp_path / "second.log")

        def jira_running():
            """the Jira catch-up is in progress"""
            runs = runs_of(sessions, jira)
            return runs and runs[0][3] is BackupStatus.IN_PROGRESS

        wait_until(jira_running)
        second.kill()
        app.state.faults.clear()
        assert missed(sessions, wiki) == slot  # and the wiki's slot passes while nothing runs

        third = Served(env, tmp_path / "third.log")

        def both_done():
            """the Jira retry and the wiki catch-up completed"""
            return (
                runs_of(sessions, jira)[-1][3] is BackupStatus.COMPLETED
                and runs_of(sessions, wiki)
                and runs_of(sessions, wiki)[-1][3] is BackupStatus.COMPLETED
            )

        wait_until(both_done, timeout=90)
        third.stop()
        fourth = Served(env, tmp_path / "fourth.log")  # one more start-up claims nothing
        time.sleep(8)  # past its lease take-over, maintenance passes and beats
        fourth.stop()

        assert runs_of(sessions, jira) == [
            (slot, 1, RunReason.CATCH_UP, BackupStatus.FAILED),
            (slot, 2, RunReason.RETRY, BackupStatus.COMPLETED),
        ]
        assert runs_of(sessions, wiki) == [(slot, 1, RunReason.CATCH_UP, BackupStatus.COMPLETED)]
        with sessions() as session:
            interrupted = session.query(Backup).filter_by(status=BackupStatus.FAILED).one()
            assert interrupted.error == INTERRUPTED
            assert session.query(Lease).count() == 0  # the last process gave the lease up
    notices = [str(args) for args in fake_slack.of("chat.postMessage")]
    assert any(f"{jira}, slot {slot}: attempt 2 of 4" in n for n in notices), notices
    assert any(f"{wiki}, slot {slot}: a catch-up" in n for n in notices), notices


def test_two_processes_on_one_database_run_each_slot_once_and_one_takes_over_from_the_other(
    fake_slack, deployment, tmp_path, empty_database
):
    """Two `serve` processes, started together against one database (PostgreSQL when the
    tests have one, and the SQLite file as well): one runs the scheduler, the other stands by
    and takes over when the first dies."""
    env, _ = deployment
    url = empty_database.url.render_as_string(hide_password=False)
    env = {**env, "BACKUPBOT_DATABASE_URL": url}
    made = Served(env, tmp_path / "setup.log")
    first_ids = [
        schedule_id(made.command(fake_slack, "U_ALICE", f"schedule {site} daily at 00:00"))
        for site in SITES
    ]
    made.stop()
    with database(url) as sessions:
        slot = missed(sessions, *first_ids)
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        with ThreadPoolExecutor(2) as pool:  # both start at once, racing for the lease
            servers = list(pool.map(lambda log: Served(env, log), logs))

        def all_ran(ids=first_ids):
            """every missed slot ran"""
            return all(
                (runs := runs_of(sessions, s)) and runs[-1][3] is BackupStatus.COMPLETED
                for s in ids
            )

        wait_until(all_ran, timeout=90)
        leaders = [
            i for i, log in enumerate(logs) if "this process runs the scheduler" in log.read_text()
        ]
        assert len(leaders) == 1, [log.read_text() for log in logs]
        leader, standby = servers[leaders[0]], servers[1 - leaders[0]]
        assert "standing by" in logs[1 - leaders[0]].read_text()

        # Schedules made through the standby, whose slots then go by unrun; the leader dies.
        second_ids = [
            schedule_id(standby.command(fake_slack, "U_ALICE", f"schedule {site} daily at 00:00"))
            for site in SITES
        ]
        missed(sessions, *second_ids)
        leader.kill()
        wait_until(lambda: all_ran(second_ids), timeout=90)
        assert "this process runs the scheduler" in logs[1 - leaders[0]].read_text()
        standby.stop()
        for schedule in first_ids + second_ids:
            assert runs_of(sessions, schedule) == [
                (slot, 1, RunReason.CATCH_UP, BackupStatus.COMPLETED)
            ]
        with sessions() as session:
            assert session.query(Backup).count() == 2 * len(SITES)
