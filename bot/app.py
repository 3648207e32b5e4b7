"""The Slack app: a Bolt `App` wired to this deployment, and the process that serves it.

HTTP mode runs the sync Bolt app through its WSGI adapter in waitress, a threaded WSGI server,
so a slow request never blocks another (the sync Starlette adapters would block an event loop
for up to 3 s a request). Socket Mode, when SLACK_APP_TOKEN is set, uses Bolt's own handler.
The same process runs the job runner (one scheduler per deployment, §5).
"""

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.identity import IdentityResolver, RoleSource, atlassian_roles, config_roles
from bot.listeners import register_listeners
from bot.notifier import Notifier
from bot.reports import Reports, notifications_channel
from bot.services import Services
from commands.handlers import Handlers
from jobs.context import JobContext
from jobs.runner import JobRunner
from storage.config import ConfigRoles

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
ACK_THREADS = 16
ANSWER_THREADS = 8
HEALTH_PATH = "/healthz"


class SlackUnreachable(Exception):
    """`auth.test` failed at start-up: the one line that says why."""


def web_client(token: str, base_url: str) -> WebClient:
    """A WebClient that waits out Slack's 429s (Retry-After) and retries dropped connections."""
    return WebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def check_token(client: WebClient) -> dict[str, Any]:
    """`auth.test`, or SlackUnreachable with one clear line (never the token)."""
    try:
        return dict(client.auth_test().data)  # type: ignore[arg-type]
    except SlackApiError as error:
        reason = error.response.get("error") if error.response else "no answer"
        raise SlackUnreachable(
            f"Slack refused the bot token at start-up (auth.test: {reason}); check "
            "SLACK_BOT_TOKEN and that the app is installed in the workspace."
        ) from None
    except OSError as error:
        raise SlackUnreachable(
            f"Slack could not be reached at start-up (auth.test: {error}); check SLACK_API_URL "
            "and the network."
        ) from None


def role_source(context: JobContext) -> RoleSource:
    roles = context.config.roles
    if isinstance(roles, ConfigRoles):
        return config_roles(roles)
    return atlassian_roles(context, roles)


@dataclass
class Deployment:
    """Everything one running bot is made of; `start`/`stop` own the background threads."""

    app: App
    services: Services

    def start(self) -> None:
        self.services.notifier.start()
        self.services.runner.start()

    def stop(self) -> None:
        self.services.answers.shutdown(wait=True)
        self.services.runner.shutdown(wait=True)
        self.services.notifier.stop()


def create_deployment(
    context: JobContext,
    *,
    client: WebClient,
    signing_secret: str | None,
    roles: RoleSource | None = None,
    workers: int | None = None,
) -> Deployment:
    notifier = Notifier(client)
    reports = Reports(context, notifier)
    runner = JobRunner(context, reports, **({"workers": workers} if workers else {}))
    identities = IdentityResolver(client, roles or role_source(context))
    handlers = Handlers(
        context, runner, channel_of=lambda site: notifications_channel(context.config, site)
    )
    answers = ThreadPoolExecutor(ANSWER_THREADS, thread_name_prefix="answer")
    services = Services(context, runner, identities, notifier, handlers, answers)
    app = App(
        client=client,
        signing_secret=signing_secret,
        # Listeners only acknowledge and hand over (`Services.answers`), so these threads are
        # free within milliseconds; Bolt's default of 5 is too few for a burst of commands.
        listener_executor=ThreadPoolExecutor(ACK_THREADS, thread_name_prefix="bolt"),
        token_verification_enabled=False,  # checked by check_token, with a clear message
        request_verification_enabled=signing_secret is not None,
    )
    allowed = set(context.config.slack.allowed_team_ids)
    if allowed:
        app.middleware(_team_allowlist(allowed))
    register_listeners(app, services)
    return Deployment(app, services)


def _team_allowlist(allowed: set[str]) -> Callable[..., Any]:
    def only_allowed_workspaces(
        body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:
        team = (body.get("team") or {}).get("id") if isinstance(body.get("team"), dict) else None
        team = team or body.get("team_id")
        if team not in allowed:
            logger.warning(
                "refused a request from workspace %s (not in slack.allowed_team_ids)", team
            )
            return BoltResponse(status=403, body="This workspace may not use this app.")
        next()
        return None

    return only_allowed_workspaces


def wsgi_app(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """`POST /slack/events` for Bolt and `GET /healthz` for load balancers."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        return slack(environ, start_response)

    return application
