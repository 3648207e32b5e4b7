"""Two sandbox sites for restore tests, both served in-process: a source with data and a target
(empty unless a test says otherwise), each on its own loopback origin, and a deployment whose
config names a Jira and a Confluence site on each. Requests reach the site their URL names through
a transport that picks the app by host and port."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from jobs import backup as backups
from jobs.context import JobContext
from sandbox.app import create_app
from sandbox.control import SandboxOptions
from sandbox.data import SiteData
from settings.environment import Environment
from settings.loading import parse_config
from storage.catalog import sync_configuration
from storage.database import create_engine, session_factory, upgrade

SOURCE = "http://127.0.0.1:8991"  # never connected to: the transport routes in-process
TARGET = "http://127.0.0.1:8992"
KEY = b"test-manifest-key-of-32-bytes!!!"
TOKEN_ENV = "SANDBOX_TOKEN"
SEED = 5


class SiteRouter(httpx.AsyncBaseTransport):
    """Hands each request to the in-process app of the origin it is addressed to."""

    def __init__(self, apps: dict[str, Starlette]) -> None:
        self.apps = dict(apps)  # by origin, for a test to reach a site's faults and stats
        self.transports = {
            httpx.URL(origin).netloc: httpx.ASGITransport(app=app) for origin, app in apps.items()
        }
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.transports[request.url.netloc].handle_async_request(request)

    def writes_to(self, origin: str) -> list[httpx.Request]:
        netloc = httpx.URL(origin).netloc
        return [
            r for r in self.requests if r.url.netloc == netloc and r.method != "GET"
            and not r.url.path.endswith("/bulkfetch")
        ]  # fmt: skip


@dataclass
class Sites:
    context: JobContext
    source: Starlette
    target: Starlette
    router: SiteRouter
    tmp: Path

    def backup(self, site: str, storage: str = "managed") -> str:
        """A finished backup of `site`, its id."""
        row = backups.queue(self.context, site, storage, "tester@example.com")
        result = backups.run(self.context, row.id)
        assert result.status.holds_data, result.error
        return row.id

    def api(self, origin: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.router,
            base_url=origin,
            auth=("checker@example.com", "sandbox-token"),
        )

    def call(self, origin: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request outside the code under test (to set a scene or look at it)."""

        async def send() -> httpx.Response:
            async with self.api(origin) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())


SitesFactory = Callable[..., Sites]


@pytest.fixture
def sites(tmp_path: Path) -> SitesFactory:
    def build(
        source: SiteData | None = None,
        target: SiteData | None = None,
        target_options: SandboxOptions | None = None,
        **context_changes: Any,
    ) -> Sites:
        source_app = create_app(
            source or SiteData.generate(SEED, projects=2, issues=24, spaces=2, pages=12),
            SandboxOptions(),
        )
        target_app = create_app(target or SiteData.empty(SEED), target_options or SandboxOptions())
        router = SiteRouter({SOURCE: source_app, TARGET: target_app})
        login = {"email": "svc@example.com", "token_env": TOKEN_ENV}
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
                    "src-jira": {"product": "jira", "url": SOURCE, **login},
                    "src-wiki": {"product": "confluence", "url": SOURCE, **login},
                    "dst-jira": {"product": "jira", "url": TARGET, **login},
                    "dst-wiki": {"product": "confluence", "url": TARGET, **login},
                },
            },
            {TOKEN_ENV: "x"},
            tmp_path,
        )
        engine = create_engine(f"sqlite:///{tmp_path / 'bot.db'}")
        upgrade(engine)
        sessions = session_factory(engine)
        context = JobContext(
            config,
            Environment.from_environ({TOKEN_ENV: "sandbox-token"}),
            sessions,
            KEY,
            http_transport=router,
            **context_changes,
        )
        with sessions.begin() as session:
            sync_configuration(session, config, context.clock())
        return Sites(context, source_app, target_app, router, tmp_path)

    return build
