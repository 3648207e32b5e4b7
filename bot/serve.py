"""`backupbot serve`: the Slack app in production, with the scheduler and the job runners.

Two processes. The front (this one) checks each request's signature, acknowledges it and puts
it in the inbox; the worker (a child process) answers, and runs the scheduler, the backups and
restores and the notifier. Python threads share one interpreter lock, so a worker busy with
eight backups would slow acknowledgements down if both lived in one process; apart, the front
answers Slack within its 3 seconds whatever the worker does.

Start-up marks backups and restores that a dead process left In Progress as Failed
("interrupted") and checks the bot token with `auth.test` (one clear line if Slack refuses
it); then HTTP (`POST /slack/events`, `GET /healthz`) with waitress, or Socket Mode when
SLACK_APP_TOKEN is set. Ctrl-C or SIGTERM stops serving; the worker then finishes what the
inbox holds and running work winds down.
"""

import logging
import multiprocessing
import os
import signal
import sys
from typing import Any

import waitress
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import (
    SlackUnreachable,
    build_services,
    check_token,
    create_app,
    start_services,
    stop_services,
    web_client,
    wsgi_app,
)
from bot.worker import serve_inbox
from jobs.context import mark_stranded, open_deployment
from settings.environment import Environment

logger = logging.getLogger(__name__)

HTTP_THREADS = 16  # concurrent Slack requests; each is only acknowledged here
WORKER_STOP_SECONDS = 60


def serve(host: str, port: int) -> int:
    environment = Environment.from_environ(os.environ)
    environment.require_slack()
    context = open_deployment()  # config and migrations: problems surface here, before forking
    for job_id in mark_stranded(context):
        logger.warning("%s: marked Failed: the process running it stopped", job_id)
    assert environment.slack_bot_token is not None
    client = web_client(environment.slack_bot_token.reveal(), environment.slack_api_url)
    try:
        identity = check_token(client)
    except SlackUnreachable as error:
        print(f"backupbot: {error}", file=sys.stderr)
        return 1

    spawn = multiprocessing.get_context("spawn")
    inbox: Any = spawn.Queue()
    worker = spawn.Process(target=run_worker, args=(inbox,), name="backupbot-worker")
    worker.start()
    secret = environment.slack_signing_secret
    app = create_app(
        client,
        secret.reveal() if secret else None,
        inbox,
        context.config.slack.allowed_team_ids,
    )
    print(
        f"backupbot: serving team {identity.get('team')} as {identity.get('user')}",
        file=sys.stderr,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if environment.slack_app_token is not None:
            socket = SocketModeHandler(app, environment.slack_app_token.reveal())
            socket.start()  # type: ignore[no-untyped-call]
        else:
            print(f"backupbot: listening on http://{host}:{port}/slack/events", file=sys.stderr)
            waitress.serve(
                wsgi_app(app, healthy=worker.is_alive), host=host, port=port, threads=HTTP_THREADS
            )
    except KeyboardInterrupt:
        pass
    finally:
        inbox.put(None)
        worker.join(WORKER_STOP_SECONDS)
        if worker.is_alive():
            worker.terminate()
    return 0


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_worker(inbox: Any) -> None:
    """The worker process: everything but acknowledging. Module-level, so `spawn` can start it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the front decides when to stop
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("jobs.scheduling").setLevel(logging.INFO)  # who runs the scheduler
    environment = Environment.from_environ(os.environ)
    assert environment.slack_bot_token is not None
    context = open_deployment()
    client = web_client(environment.slack_bot_token.reveal(), environment.slack_api_url)
    services = build_services(context, client)
    start_services(services)
    try:
        serve_inbox(services, inbox)
    finally:
        stop_services(services)
