"""The Slack app: a Bolt `App` wired to this deployment, and the process that serves it.

HTTP mode runs the sync Bolt app through its WSGI adapter in waitress, a threaded WSGI server,
so a slow request never blocks another (the sync Starlette adapters would block an event loop
for up to 3 s a request). Socket Mode, when SLACK_APP_TOKEN is set, uses Bolt's own handler.
`backupbot serve` (bot/serve.py) runs the front and the worker in two processes.
"""

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
from waitress.server import create_server

from bot.identity import IdentityResolver, RoleSource, atlassian_roles, config_roles
from bot.inbox import Inbox, Item
from bot.listeners import register_listeners
from bot.notifier import Notifier
from bot.reports import Reports, notifications_channel
from bot.services import Services
from bot.worker import serve_inbox
from commands.handlers import Handlers
from jobs.context import JobContext
from jobs.runner import JobRunner
from settings.schema import ConfigRoles

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
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


def build_services(
    context: JobContext,
    client: WebClient,
    *,
    roles: RoleSource | None = None,
    workers: int | None = None,
) -> Services:
    """The worker's side: job runner, notifier, identities and handlers."""
    notifier = Notifier(client)
    reports = Reports(context, notifier)
    runner = JobRunner(context, reports, **({"workers": workers} if workers else {}))
    identities = IdentityResolver(client, roles or role_source(context))
    handlers = Handlers(
        context, runner, channel_of=lambda site: notifications_channel(context.config, site)
    )
    answers = ThreadPoolExecutor(ANSWER_THREADS, thread_name_prefix="answer")
    return Services(context, runner, identities, notifier, handlers, answers)


def start_services(services: Services) -> None:
    services.notifier.start()
    services.runner.start()


def stop_services(services: Services) -> None:
    services.answers.shutdown(wait=True)
    services.runner.shutdown(wait=True)
    services.notifier.stop()


def create_app(
    client: WebClient,
    signing_secret: str | None,
    inbox: Inbox,
    allowed_team_ids: Iterable[str] = (),
) -> App:
    """The front's side: checks signatures and workspaces, acknowledges, fills the inbox."""
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,  # checked by check_token, with a clear message
        request_verification_enabled=signing_secret is not None,
        # A listener only acknowledges and enqueues, so it runs on the request's own thread
        # and the HTTP answer leaves when it returns: no hand-over to Bolt's listener pool,
        # whose wait for the acknowledgement polls every 10 ms.
        process_before_response=True,
    )
    allowed = set(allowed_team_ids)
    if allowed:
        app.middleware(_team_allowlist(allowed))
    register_listeners(app, inbox)
    return app


@dataclass
class Deployment:
    """Front and worker in one process, as threads joined by a `queue.Queue`: for tests and
    the console (`backupbot serve` puts the worker in a process of its own)."""

    app: App
    services: Services
    inbox: "queue.Queue[Item | None]"
    _thread: threading.Thread | None = None

    def start(self) -> None:
        start_services(self.services)
        self._thread = threading.Thread(
            target=serve_inbox, args=(self.services, self.inbox), name="worker", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.inbox.put(None)
        if self._thread is not None:
            self._thread.join(30)
        stop_services(self.services)


def create_deployment(
    context: JobContext,
    *,
    client: WebClient,
    signing_secret: str | None,
    roles: RoleSource | None = None,
    workers: int | None = None,
) -> Deployment:
    services = build_services(context, client, roles=roles, workers=workers)
    inbox: queue.Queue[Item | None] = queue.Queue()
    app = create_app(client, signing_secret, inbox, context.config.slack.allowed_team_ids)
    return Deployment(app, services, inbox)


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


@contextmanager
def serving_in_thread(
    application: Callable[..., Iterable[bytes]], host: str = "127.0.0.1", threads: int = 4
) -> Iterator[str]:
    """Serve a WSGI app with waitress on a free port of `host`, on a thread of this process,
    until the block ends; yields the base URL (for the demo, the console and tests)."""
    server = create_server(application, host=host, port=0, threads=threads)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.effective_port}"  # type: ignore[union-attr]  # one socket
    finally:

        def close_everything() -> None:
            # Run by waitress's own loop (a trigger thunk): closing its sockets from another
            # thread would leave its select() waiting on a closed descriptor.
            for channel in list(server._map.values()):  # type: ignore[union-attr]  # all of them
                channel.close()

        server.trigger.pull_trigger(close_everything)  # type: ignore[union-attr]
        thread.join(10)
        if thread.is_alive():
            logger.warning("the HTTP server's loop did not stop within 10 s")
        # Its request threads, which run() stops only on KeyboardInterrupt, and requests in
        # flight: they finish before the caller stops what they hand work to.
        server.task_dispatcher.shutdown(timeout=10)


def wsgi_app(
    app: App, healthy: Callable[[], bool] = lambda: True
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """`POST /slack/events` for Bolt and `GET /healthz` for load balancers (503 when the
    worker that answers is gone)."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            ok = healthy()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n" if ok else b"the worker is not running\n"]
        return slack(environ, start_response)

    return application
