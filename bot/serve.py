"""`backupbot serve`: the Slack app in production, with the scheduler and the job runners.

Start-up marks backups and restores that a dead process left In Progress as Failed
("interrupted"), checks the bot token with `auth.test` (one clear line if Slack refuses it),
then serves HTTP (`POST /slack/events`, `GET /healthz`) with waitress, or Socket Mode when
SLACK_APP_TOKEN is set. Ctrl-C or SIGTERM stops serving and lets running work wind down.
"""

import logging
import os
import sys

import waitress
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import SlackUnreachable, check_token, create_deployment, web_client, wsgi_app
from jobs.context import open_deployment
from storage import catalog, restores
from storage.config import Environment

logger = logging.getLogger(__name__)

HTTP_THREADS = 16  # concurrent Slack requests; each is acknowledged at once


def serve(host: str, port: int) -> int:
    environment = Environment.from_environ(os.environ)
    environment.require_slack()
    context = open_deployment()
    with context.sessions.begin() as session:
        now = context.clock()
        stranded = [b.id for b in catalog.mark_interrupted(session, now)]
        stranded += [r.id for r in restores.mark_interrupted(session, now)]
    for job_id in stranded:
        logger.warning("%s: marked Failed: the process running it stopped", job_id)
    assert environment.slack_bot_token is not None
    client = web_client(environment.slack_bot_token.reveal(), environment.slack_api_url)
    try:
        identity = check_token(client)
    except SlackUnreachable as error:
        print(f"backupbot: {error}", file=sys.stderr)
        return 1
    secret = environment.slack_signing_secret
    deployment = create_deployment(
        context, client=client, signing_secret=secret.reveal() if secret else None
    )
    deployment.start()
    print(
        f"backupbot: serving team {identity.get('team')} as {identity.get('user')}",
        file=sys.stderr,
    )
    try:
        if environment.slack_app_token is not None:
            socket = SocketModeHandler(deployment.app, environment.slack_app_token.reveal())
            socket.start()  # type: ignore[no-untyped-call]
        else:
            print(f"backupbot: listening on http://{host}:{port}/slack/events", file=sys.stderr)
            waitress.serve(wsgi_app(deployment.app), host=host, port=port, threads=HTTP_THREADS)
    except KeyboardInterrupt:
        pass
    finally:
        deployment.stop()
    return 0
