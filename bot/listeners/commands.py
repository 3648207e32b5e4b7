"""`/backup`: acknowledge at once, then parse, resolve the person and run the handler.

Bolt sends the acknowledgement as the HTTP answer as soon as `ack()` is called; the rest runs
on Bolt's listener pool and answers through `respond` (the command's response_url). Nothing
here takes long: long work is handed to the job runner by the handler.
"""

import logging
import threading
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import render
from bot.identity import UnknownIdentity
from bot.services import Services
from commands.actions import Action
from commands.grammar import CommandError, parse
from commands.handlers import Actor
from commands.markup import escape
from commands.replies import Reply

logger = logging.getLogger(__name__)

COMMAND = "/backup"
FOLLOW_UP_WAIT = 10.0  # seconds a follow-up waits for the first answer to be sent
_FAILED = ":x: Something went wrong on my side and nothing was done; the bot's log has the details."


def register(app: App, services: Services) -> None:
    def backup_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        services.answers.submit(reply_to, services, command, respond)

    app.command(COMMAND)(backup_command)


def reply_to(services: Services, command: dict[str, Any], respond: Respond) -> None:
    answered = threading.Event()

    def later(reply: Reply) -> None:
        # Background work may end before the first answer is out: keep them in order.
        answered.wait(FOLLOW_UP_WAIT)
        respond(**render(reply), response_type="ephemeral", replace_original=False)

    try:
        reply = services.handlers.handle(*_request(services, command), later)
    except _Answered as early:
        reply = early.reply
    except Exception:
        # A bug, not the person's input: they get a plain sentence, the log the details.
        logger.exception("/backup %r failed", command.get("text"))
        reply = Reply(_FAILED)
    try:
        respond(**render(reply), response_type="in_channel" if reply.in_channel else "ephemeral")
    finally:
        answered.set()


class _Answered(Exception):
    """The request is answered before any handler runs (bad syntax, unknown person)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def _request(services: Services, command: dict[str, Any]) -> tuple[Action, Actor]:
    try:
        action = parse(command.get("text") or "", services.vocabulary)
    except CommandError as error:
        raise _Answered(
            Reply(f":warning: {error.message}", (f"```{escape(error.usage)}```",))
        ) from None
    try:
        return action, services.identities.actor(command["user_id"])
    except UnknownIdentity as unknown:
        raise _Answered(Reply(f":warning: {unknown}")) from None
