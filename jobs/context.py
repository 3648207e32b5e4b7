"""What every job needs from the running deployment, gathered once and passed explicitly."""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.jira import JiraClient
from atlassian_cloud.transport import SiteClient
from policy.products import Product
from settings.environment import Environment
from settings.loading import load_config
from settings.schema import Config, LocalStorage, S3Storage
from storage import catalog, restores
from storage.artifacts import ArtifactStore, open_store
from storage.catalog import sync_configuration
from storage.database import create_engine, session_factory, upgrade
from storage.manifest_key import manifest_key

Clock = Callable[[], datetime]
StoreOpener = Callable[[LocalStorage | S3Storage, Environment], ArtifactStore]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobContext:
    config: Config
    environment: Environment
    sessions: sessionmaker[Session]
    manifest_key: bytes = field(repr=False)
    clock: Clock = utc_now
    open_store: StoreOpener = open_store
    # Routes the Atlassian clients' HTTP in-process (an httpx.ASGITransport onto the sandbox)
    # for tests and the demo; None means real network connections.
    http_transport: httpx.AsyncBaseTransport | None = None


def open_deployment(environ: Mapping[str, str] = os.environ) -> JobContext:
    """The context of the deployment the environment describes: its config file, database
    (migrated to the newest schema, the configured sites and locations mirrored into it) and
    manifest key. Raises ConfigError (or a database error) with what to fix."""
    environment = Environment.from_environ(environ)
    return open_context(load_config(environment.config_path, environ), environment)


def open_context(config: Config, environment: Environment) -> JobContext:
    """The context of this config and environment: the database migrated to the newest schema,
    the configured sites and locations mirrored into it, and the manifest key."""
    engine = create_engine(environment.database_url.reveal())
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_configuration(session, config, utc_now())
    return JobContext(config, environment, sessions, manifest_key(environment))


def mark_stranded(context: JobContext) -> list[str]:
    """Backups and restores a dead process left running, marked Failed ("interrupted") once
    silent for the stale window; their ids. Run at start-up, before any work is taken on."""
    with context.sessions.begin() as session:
        now, stale = context.clock(), context.config.jobs.stale_after
        stranded = [b.id for b in catalog.mark_interrupted(session, now, stale)]
        stranded += [r.id for r in restores.mark_interrupted(session, now, stale)]
    return stranded


def site_client(context: JobContext, site_name: str) -> SiteClient:
    """The Jira or Confluence client of a configured site, its token read from the environment
    (ConfigError naming the variable if unset)."""
    site = context.config.sites[site_name]
    token = context.environment.site_token(site).reveal()
    kind = JiraClient if site.product is Product.JIRA else ConfluenceClient
    return kind(site_name, site.url, site.email, token, transport=context.http_transport)
