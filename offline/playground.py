"""The whole bot on this machine, with no accounts: what `backupbot demo` and `backupbot console`
run.

- Two sandbox Atlassian sites on loopback ports: a seeded source (`acme-jira`, `acme-wiki`) and
  an empty one to restore into (`acme-jira-test`, `acme-wiki-test`).
- A local Slack (`offline.local_slack`) that the bot's WebClient talks to, with four simulated
  people whose roles come from the config.
- The real Slack app (`bot.app.create_deployment`: Bolt, listeners, worker, job runner,
  scheduler, notifier), served by waitress on a loopback port, to which each person's
  `SlackUser` sends signed requests exactly as Slack would.
- A SQLite database and local managed storage under a data directory.
"""

import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from bot.app import (
    EVENTS_PATH,
    Deployment,
    create_deployment,
    serving_in_thread,
    web_client,
    wsgi_app,
)
from jobs.context import JobContext, mark_stranded, open_context
from offline.chat_text import Names
from offline.local_slack import LocalSlack, SlackUser
from sandbox.control import SANDBOX_TOKEN
from sandbox.data import SiteData
from sandbox.server import running_sandbox
from settings.environment import Environment
from settings.loading import parse_config

TOKEN_VARIABLE = "SANDBOX_API_TOKEN"  # noqa: S105 - the name of a variable
NOTIFICATIONS = "C0NOTIFY"
APPROVALS = "C0APPROVE"
CHAT = "C0CHAT"
CHANNELS = {NOTIFICATIONS: "backup-notices", APPROVALS: "backup-approvals", CHAT: "ops"}


@dataclass(frozen=True)
class Person:
    name: str
    user_id: str
    roles: str  # what they may do, said for people

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"


PEOPLE = (
    Person("alice", "U0ALICE", "organization admin, Jira admin and Confluence admin"),
    Person("bob", "U0BOB", "organization admin, Jira admin and Confluence admin"),
    Person("carol", "U0CAROL", "Jira admin only (may read Jira backups, not make them)"),
    Person("dave", "U0DAVE", "organization admin only (may read, not make backups)"),
)


def person(name: str) -> Person:
    """The person called `name` (any case); KeyError with a sentence naming everyone."""
    for someone in PEOPLE:
        if someone.name == name.lower():
            return someone
    known = ", ".join(p.name for p in PEOPLE)
    raise KeyError(f"there is no one called {name!r} here (people: {known})")


# Source site -> the empty site of the same product that restores go into.
RESTORE_TARGETS = {"acme-jira": "acme-jira-test", "acme-wiki": "acme-wiki-test"}


@dataclass(frozen=True)
class SiteSize:
    """How much the seeded source site holds."""

    projects: int = 3
    issues: int = 200
    spaces: int = 2
    pages: int = 40
    seed: int = 7

    def data(self) -> SiteData:
        return SiteData.generate(
            self.seed,
            projects=self.projects,
            issues=self.issues,
            spaces=self.spaces,
            pages=self.pages,
        )


def playground_config(source_url: str, empty_url: str, data_dir: Path) -> dict[str, Any]:
    site = {"email": "svc@example.com", "token_env": TOKEN_VARIABLE}
    urls = {"acme-jira": source_url, "acme-wiki": source_url} | {
        target: empty_url for target in RESTORE_TARGETS.values()
    }
    products = {"acme-jira": "jira", "acme-jira-test": "jira"}
    return {
        "channels": {"notifications": NOTIFICATIONS, "approvals": APPROVALS},
        "roles": {
            "source": "config",
            "org_admins": ["alice@example.com", "bob@example.com", "dave@example.com"],
            "app_admins": {
                "jira": ["alice@example.com", "bob@example.com", "carol@example.com"],
                "confluence": ["alice@example.com", "bob@example.com"],
            },
        },
        "storage": {"managed": {"kind": "local", "path": str(data_dir / "backups")}},
        "sites": {
            name: {"product": products.get(name, "confluence"), "url": url, **site}
            for name, url in urls.items()
        },
    }


class Playground:
    """Start with `with Playground(data_dir) as playground:`; everything stops when it ends."""

    def __init__(self, data_dir: Path, size: SiteSize | None = None) -> None:
        self.data_dir = data_dir
        self.size = size or SiteSize()
        self.slack = LocalSlack(emails={p.user_id: p.email for p in PEOPLE})
        self.names = Names({p.user_id: p.name for p in PEOPLE}, CHANNELS)
        self.signing_secret = secrets.token_hex(16)
        self._stack = ExitStack()
        self.context: JobContext
        self.deployment: Deployment
        self.app_url = ""
        self.source_url = ""
        self.empty_url = ""

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        self.source_url = stack.enter_context(running_sandbox(self.size.data()))
        self.empty_url = stack.enter_context(running_sandbox(SiteData.empty(self.size.seed)))
        stack.enter_context(self.slack.serving())
        self.context = self._context()
        client = web_client("xoxb-local-bot-token", f"{self.slack.url}/api/")
        self.deployment = create_deployment(
            self.context, client=client, signing_secret=self.signing_secret
        )
        stack.callback(self.deployment.stop)  # also stops what a failed start began
        self.deployment.start()
        served = stack.enter_context(serving_in_thread(wsgi_app(self.deployment.app)))
        self.app_url = f"{served}{EVENTS_PATH}"
        self._http = stack.enter_context(httpx.Client(timeout=30))

    def _context(self) -> JobContext:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        environ = {TOKEN_VARIABLE: SANDBOX_TOKEN, "BACKUPBOT_DATA_DIR": str(self.data_dir)}
        config = parse_config(
            playground_config(self.source_url, self.empty_url, self.data_dir),
            environ,
            self.data_dir,
        )
        context = open_context(config, Environment.from_environ(environ))
        mark_stranded(context)  # what a console stopped by force left running
        return context

    def person(self, name: str) -> Person:
        return person(name)

    def user(self, name: str) -> SlackUser:
        """`name`'s Slack client, typing in #ops."""
        return SlackUser(
            self.person(name).user_id, self.app_url, self.slack, self.signing_secret, self._http
        )
