"""A deployment for job tests: a real SQLite file, local managed storage, and the sandbox site
served in-process over HTTP (httpx.ASGITransport), with handles on its faults and stats."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from atlassian.sandbox.app import create_app
from atlassian.sandbox.control import SandboxOptions
from atlassian.sandbox.data import SiteData
from atlassian.sandbox.server import running_sandbox
from jobs.context import JobContext
from storage.artifacts import ArtifactStore, open_store
from storage.catalog import sync_configuration
from storage.config import Environment, parse_config
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
