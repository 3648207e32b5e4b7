"""A deployment for job tests: a real SQLite file, local managed storage, and the sandbox site
served in-process over HTTP (httpx.ASGITransport), with handles on its faults and stats."""

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from apscheduler.triggers.interval import IntervalTrigger
from starlette.applications import Starlette

from jobs.backup import BackupResult
from jobs.context import JobContext
from jobs.maintenance import ExpiryWarning, SweepReport
from jobs.runner import JobRunner
from sandbox.app import create_app
from sandbox.control import SandboxOptions
from sandbox.data import SiteData
from sandbox.server import running_sandbox
from settings.environment import Environment
from settings.loading import parse_config
from storage.artifacts import ArtifactStore, open_store
from storage.catalog import sync_configuration
from storage.database import create_engine, session_factory, upgrade

SITE_ORIGIN = "http://127.0.0.1:8999"  # never connected to: the transport routes in-process
KEY = b"test-manifest-key-of-32-bytes!!!"
TOKEN_ENV = "SANDBOX_TOKEN"


@dataclass
class Deployment:
    context: JobContext
    app: Starlette
    tmp: Path
    origin: str = SITE_ORIGIN  # the site URL the config names

    def store(self, location: str = "managed") -> ArtifactStore:
        return open_store(self.context.config.storage[location], self.context.environment)

    @contextmanager
    def api(self) -> Iterator[httpx.Client]:
        """A plain HTTP client onto the same sandbox served on a loopback port, independent of
        the code under test."""
        with (
            running_sandbox(app=self.app) as url,
            httpx.Client(
                base_url=url, auth=("checker@example.com", "sandbox-token"), timeout=30
            ) as client,
        ):
            yield client


DeploymentFactory = Callable[..., Deployment]


@pytest.fixture
def deployment(tmp_path: Path) -> DeploymentFactory:
    def build(
        data: SiteData | None = None,
        options: SandboxOptions | None = None,
        env: dict[str, str] | None = None,
        **context_changes: Any,
    ) -> Deployment:
        site_data = data or SiteData.generate(3, projects=2, issues=40, spaces=2, pages=30)
        app = create_app(site_data, options or SandboxOptions())
        environ = {TOKEN_ENV: "sandbox-token"} if env is None else env
        site = {"url": SITE_ORIGIN, "email": "svc@example.com", "token_env": TOKEN_ENV}
        config = parse_config(
            {
                "storage": {
                    "managed": {"kind": "local", "path": str(tmp_path / "backups")},
                    "copies": {
                        "kind": "local",
                        "path": str(tmp_path / "copies"),
                        "attachments": "copy",
                    },
                },
                "sites": {
                    "sb-jira": {"product": "jira", **site},
                    "sb-wiki": {"product": "confluence", **site},
                },
            },
            {TOKEN_ENV: "x"},  # the config only checks the variable is set at load time
            tmp_path,
        )
        engine = create_engine(f"sqlite:///{tmp_path / 'bot.db'}")
        upgrade(engine)
        sessions = session_factory(engine)
        context = JobContext(
            config,
            Environment.from_environ(environ),
            sessions,
            KEY,
            http_transport=httpx.ASGITransport(app=app),
            **context_changes,
        )
        with sessions.begin() as session:
            sync_configuration(session, config, context.clock())
        return Deployment(context, app, tmp_path)

    return build


class Clock:
    """The deployment's one clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Recorded:
    """What the runner reported (`RunnerEvents`), in order."""

    finished: list[tuple[BackupResult, datetime | None]] = field(default_factory=list)
    sweeps: list[SweepReport] = field(default_factory=list)

    def backup_finished(self, result: BackupResult, retry_at: datetime | None) -> None:
        self.finished.append((result, retry_at))

    def swept(self, report: SweepReport) -> None:
        self.sweeps.append(report)

    @property
    def warnings(self) -> list[ExpiryWarning]:
        return [warning for report in self.sweeps for warning in report.warnings]

    def __getattr__(self, name: str) -> Callable[..., None]:  # verify, previews, restores
        return lambda *args, **kwargs: None


class Simulation:
    """The deployment's JobRunner with APScheduler paused: its jobs are run here, in the order
    and at the instants they were planned for, with the clock moved to each instant first.

    Interval jobs (the lease's beat, maintenance) are coalesced, as the runner asks them to be:
    however many of their beats fall inside one `advance`, each runs once, at the last of
    them, as APScheduler does when it wakes late. A test therefore decides how finely time
    moves; moving it hour by hour runs maintenance hourly, which the rules under test allow.
    """

    def __init__(self, site: Deployment, start: datetime) -> None:
        self.clock = Clock(start)
        self.context = dataclasses.replace(site.context, clock=self.clock)
        self.events = Recorded()
        self.runner = JobRunner(self.context, self.events)
        self.runner.scheduler.start(paused=True)
        self.runner.start()

    def advance(self, until: datetime) -> None:
        while True:
            due = [
                (_instant(job, until), job)
                for job in self.runner.scheduler.get_jobs()
                if job.next_run_time is not None and job.next_run_time <= until
            ]
            if not due:
                break
            at, job = min(due, key=lambda pair: pair[0])
            self.clock.now = max(self.clock.now, at)
            if isinstance(job.trigger, IntervalTrigger):
                job.modify(next_run_time=job.trigger.get_next_fire_time(at, until))
            else:
                job.remove()  # what APScheduler does with a dated job it ran
            job.func(*job.args)
        self.clock.now = max(self.clock.now, until)

    def every(self, step: timedelta, until: datetime) -> None:
        while self.clock.now < until:
            self.advance(min(self.clock.now + step, until))

    def close(self) -> None:
        self.runner.shutdown()


def _instant(job: Any, until: datetime) -> datetime:
    """When a due job runs: a dated one at its time; an interval one at its last beat."""
    at: datetime = job.next_run_time
    if isinstance(job.trigger, IntervalTrigger):
        while (beat := job.trigger.get_next_fire_time(at, until)) <= until:
            at = beat
    return at


@pytest.fixture
def simulation() -> Iterator[Callable[[Deployment, datetime], Simulation]]:
    made: list[Simulation] = []

    def build(site: Deployment, start: datetime) -> Simulation:
        made.append(Simulation(site, start))
        return made[-1]

    yield build
    for simulated in made:
        simulated.close()
