"""The Slack app as Slack sees it: served over HTTP by waitress, driven by signed form posts,
talking to a fake Slack Web API (a real HTTP server that records every call), with two sandbox
sites on loopback ports (a seeded source and an empty restore target)."""

import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import Deployment, create_deployment, serving_in_thread, web_client, wsgi_app
from bot.blocks import check_message
from bot.identity import config_roles
from jobs.context import JobContext, utc_now
from offline.local_slack import LocalSlack, SlackUser, post_signed
from sandbox.data import SiteData
from sandbox.directory import SANDBOX_ORG_ID
from sandbox.server import running_sandbox
from settings.environment import Environment
from settings.loading import parse_config
from settings.schema import ConfigRoles
from storage.catalog import sync_configuration
from storage.database import create_engine, session_factory, upgrade

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
TEAM = "T0TEAM"
NOTIFY = "C0NOTIFY"
APPROVE = "C0APPROVE"
KEY = b"test-manifest-key-of-32-bytes!!!"

PEOPLE = {
    "U_ALICE": "alice@example.com",  # org admin, Jira and Confluence admin
    "U_ALICE2": "Alice@Example.com",  # the same person, a second Slack account
    "U_BOB": "bob@example.com",  # org admin, Jira and Confluence admin
    "U_CAROL": "carol@example.com",  # Jira admin only
    "U_DAVE": "dave@example.com",  # org admin only
    "U_ERIN": "erin@example.com",  # no role at all
}


@pytest.fixture
def fake_slack() -> Iterator[LocalSlack]:
    with LocalSlack(emails=dict(PEOPLE)).serving() as slack:
        yield slack


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Bot:
    url: str
    slack: LocalSlack
    deployment: Deployment
    context: JobContext
    http: httpx.Client
    last_response: str = ""  # where the answers to the last command are recorded

    @staticmethod
    def sign(body: bytes, timestamp: int) -> str:
        return sign(body, timestamp)

    def post(
        self, body: bytes, *, timestamp: int | None = None, signature: str | None = None
    ) -> httpx.Response:
        """POST `body` as Slack would, signed here by our own HMAC (an oracle independent of
        slack_sdk's), or with the given, perhaps wrong, signature and timestamp."""
        stamp = int(time.time()) if timestamp is None else timestamp
        return post_signed(
            self.http,
            f"{self.url}/slack/events",
            body,
            SECRET,
            timestamp=stamp,
            signature=signature or sign(body, stamp),
        )

    def backed_up(self, site: str = "acme-jira") -> str:
        """`/backup now <site>` as Alice, waiting for its Completed notice; the backup id."""
        reply = self.command("U_ALICE", f"now {site}")
        found = re.search(r"bk-[a-z0-9]+", reply["text"])
        assert found, reply["text"]
        backup_id = found.group(0)
        self.slack.wait_for(
            "chat.postMessage",
            lambda a: backup_id in a.get("text", "") and "Completed" in a["text"],
        )
        return backup_id

    def user(self, user: str, team: str = TEAM) -> SlackUser:
        """`user`'s Slack client (offline.local_slack), signing as Slack does."""
        return SlackUser(
            user, f"{self.url}/slack/events", self.slack, SECRET, self.http, team_id=team
        )

    def command(self, user: str, text: str, *, team: str = TEAM) -> dict[str, Any]:
        """Send `/backup <text>` as `user`; returns the message sent to its response_url."""
        self.last_response = self.user(user, team).command(text)
        return self.slack.wait_for(self.last_response)

    def click(self, user: str, action_id: str, value: str, message: dict[str, Any]) -> str:
        """Press a button of a posted message as `user`; returns the name its ephemeral
        answers (if any) are recorded under."""
        return self.user(user).click(
            action_id, value, message["channel"], message["ts"], message.get("text", "")
        )


@pytest.fixture
def source_data() -> SiteData:
    return SiteData.generate(7, projects=2, issues=12, spaces=1, pages=6)


@pytest.fixture
def role_source() -> str:
    """Where roles come from: `config` (the lists) or `atlassian` (the sandbox's Admin API,
    Jira permission check and Confluence groups). Tests parametrize it to cover both."""
    return "config"


@pytest.fixture
def allowed_team_ids() -> list[str]:
    return []


@pytest.fixture
def bot(
    tmp_path: Path,
    fake_slack: LocalSlack,
    source_data: SiteData,
    role_source: str,
    allowed_team_ids: list[str],
) -> Iterator[Bot]:
    with (
        running_sandbox(source_data) as source,
        running_sandbox(SiteData.empty(source_data.seed)) as empty,
        httpx.Client(timeout=30) as http,
    ):
        context = _context(tmp_path, source, empty, role_source, allowed_team_ids)
        client = web_client(BOT_TOKEN, f"{fake_slack.url}/api/")
        roles = None
        if role_source == "config":  # the config's lists, which a test may change
            roles = config_roles(ConfigRoles.model_validate(ROLE_LISTS))
        deployment = create_deployment(
            context, client=client, signing_secret=SECRET, workers=4, roles=_changeable(roles)
        )
        deployment.services.notifier.min_interval = 0.05
        deployment.services.notifier.retry_pause = 0.05
        deployment.start()
        try:
            with serving_in_thread(wsgi_app(deployment.app), threads=6) as url:
                yield Bot(url, fake_slack, deployment, context, http)
        finally:
            deployment.stop()
    # Every message the bot sent during the test keeps to Block Kit's limits.
    for call in fake_slack.calls:
        if call.method in ("chat.postMessage", "chat.update") or call.method.startswith("respond/"):
            assert check_message(call.args) == [], (call.method, call.args.get("text"))
        if call.method == "views.publish":
            assert len(call.args["view"]["blocks"]) <= 100


class _Changeable:
    """A role source a test can swap while the app runs (someone losing a role)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def __call__(self, email: str) -> Any:
        return self.source(email)


def _changeable(source: Any) -> Any:
    return None if source is None else _Changeable(source)


ROLE_LISTS: dict[str, Any] = {
    "source": "config",
    "org_admins": ["alice@example.com", "bob@example.com", "dave@example.com"],
    "app_admins": {
        "jira": ["alice@example.com", "bob@example.com", "carol@example.com"],
        "confluence": ["alice@example.com", "bob@example.com"],
    },
}


def _context(
    tmp: Path, source: str, empty: str, role_source: str, allowed_team_ids: list[str]
) -> JobContext:
    site = {"email": "svc@example.com", "token_env": "SB_TOKEN"}
    roles: dict[str, Any] = ROLE_LISTS
    if role_source == "atlassian":
        roles = {
            "source": "atlassian",
            "org_id": SANDBOX_ORG_ID,
            "admin_api_url": source,
            "admin_api_key_env": "SB_TOKEN",
            "confluence_admin_groups": ["confluence-admins"],
        }
    config = parse_config(
        {
            "slack": {"allowed_team_ids": allowed_team_ids},
            "channels": {"notifications": NOTIFY, "approvals": APPROVE},
            "roles": roles,
            "storage": {"managed": {"kind": "local", "path": str(tmp / "backups")}},
            "sites": {
                "acme-jira": {"product": "jira", "url": source, **site},
                "acme-wiki": {"product": "confluence", "url": source, **site},
                "spare-jira": {"product": "jira", "url": empty, **site},
                "spare-wiki": {"product": "confluence", "url": empty, **site},
            },
        },
        {"SB_TOKEN": "sandbox-token"},
        data_dir=tmp,
    )
    environ = {"BACKUPBOT_DATA_DIR": str(tmp), "SB_TOKEN": "sandbox-token"}
    environment = Environment.from_environ(environ)
    engine = create_engine(environment.database_url.reveal())
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_configuration(session, config, utc_now())
    return JobContext(config, environment, sessions, KEY)
