"""The Slack app as Slack sees it: served over HTTP by waitress, driven by signed form posts,
talking to a fake Slack Web API (a real HTTP server that records every call), with two sandbox
sites on loopback ports (a seeded source and an empty restore target)."""

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from waitress.server import create_server

from atlassian.sandbox.data import SiteData
from atlassian.sandbox.directory import SANDBOX_ORG_ID
from atlassian.sandbox.server import running_sandbox
from bot.app import Deployment, create_deployment, web_client, wsgi_app
from bot.blocks import check_message
from bot.identity import config_roles
from jobs.context import JobContext, utc_now
from storage.catalog import sync_configuration
from storage.config import ConfigRoles, Environment, parse_config
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


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeSlack:
    """Slack's Web API and response_url endpoints, recording what the bot sends."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = field(
        default_factory=dict
    )
    emails: dict[str, str] = field(default_factory=lambda: dict(PEOPLE))
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: int = 1000

    def fail_next(self, method: str, status: int, body: dict[str, Any], **headers: str) -> None:
        self.failures.setdefault(method, []).append((status, headers, body))

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c.args for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 30,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for args in self.of(method):
                if where(args):
                    return args
            time.sleep(0.02)
        seen = [(c.method, _text(c.args)[:200]) for c in self.calls]
        raise AssertionError(f"no {method} call matched within {timeout} s; calls: {seen}")

    def answer(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.calls.append(Call(method, args))
            queued = self.failures.get(method)
            if queued:
                return queued.pop(0)
            self._ts += 1
            ts = f"1700000000.{self._ts:06d}"
        if method == "auth.test":
            return 200, {}, {"ok": True, "user_id": "UBOT", "team_id": TEAM, "bot_id": "B1"}
        if method == "users.info":
            user = args.get("user")
            if user not in self.emails:
                return 200, {}, {"ok": True, "user": {"id": user, "profile": {}}}
            return (
                200,
                {},
                {"ok": True, "user": {"id": user, "profile": {"email": self.emails[user]}}},
            )
        if method in ("chat.postMessage", "chat.update"):
            return 200, {}, {"ok": True, "channel": args.get("channel"), "ts": args.get("ts", ts)}
        return 200, {}, {"ok": True}


def _text(args: dict[str, Any]) -> str:
    return str(args.get("text") or "")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                args = json.loads(raw) if raw else {}
            else:
                args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
            method = self.path.lstrip("/").removeprefix("api/").split("?")[0]
            status, headers, body = slack.answer(method, args)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    slack.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield slack
    server.shutdown()
    server.server_close()


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Bot:
    url: str
    slack: FakeSlack
    deployment: Deployment
    context: JobContext
    http: httpx.Client
    _responses: int = 0

    @staticmethod
    def sign(body: bytes, timestamp: int) -> str:
        return sign(body, timestamp)

    def post(
        self, body: bytes, *, timestamp: int | None = None, signature: str | None = None
    ) -> httpx.Response:
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": signature or sign(body, stamp),
        }
        return self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

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

    def response_url(self) -> tuple[str, str]:
        """A fresh response_url on the fake Slack, and the name its calls are recorded under."""
        self._responses += 1
        name = f"respond/{self._responses}"
        return f"{self.slack.url}/{name}", name

    def command(self, user: str, text: str, *, team: str = TEAM) -> dict[str, Any]:
        """Send `/backup <text>` as `user`; returns the message sent to its response_url."""
        respond, name = self.response_url()
        form = {
            "token": "unused", "team_id": team, "team_domain": "acme", "channel_id": "C0CHAT",
            "channel_name": "ops", "user_id": user, "user_name": user.lower(),
            "command": "/backup", "text": text, "api_app_id": "A1",
            "response_url": respond, "trigger_id": "1.2.3",
        }  # fmt: skip
        answer = self.post(urllib.parse.urlencode(form).encode())
        assert answer.status_code == 200, answer.text
        return self.slack.wait_for(name)

    def click(self, user: str, action_id: str, value: str, message: dict[str, Any]) -> str:
        """Press a button of a posted message as `user`; returns the name its ephemeral
        answers (if any) are recorded under."""
        respond, name = self.response_url()
        payload = {
            "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user},
            "api_app_id": "A1", "trigger_id": "1.2.3", "response_url": respond,
            "channel": {"id": message["channel"]},
            "container": {"type": "message", "message_ts": message["ts"]},
            "message": {"ts": message["ts"], "text": message.get("text", "")},
            "actions": [{"type": "button", "action_id": action_id, "value": value,
                         "block_id": "b", "action_ts": "1"}],
        }  # fmt: skip
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        answer = self.post(body)
        assert answer.status_code == 200, answer.text
        return name


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
    fake_slack: FakeSlack,
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
        server = create_server(wsgi_app(deployment.app), host="127.0.0.1", port=0, threads=6)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield Bot(
                f"http://127.0.0.1:{server.effective_port}", fake_slack, deployment, context, http
            )
        finally:
            server.close()
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
