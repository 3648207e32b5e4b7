"""`/backup`: acknowledge at once, then parse, resolve the person and run the handler.

Bolt sends the acknowledgement as the HTTP answer as soon as `ack()` is called; the rest runs
on Bolt's listener pool and answers through `respond` (the command's response_url). Nothing
here takes long: long work is handed to the job runner by the handler.
"""

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import render
from bot.identity import UnknownIdentity
from bot.services import Services
from commands.grammar import CommandError, parse
from commands.markup import escape
from commands.replies import Reply

logger = logging.getLogger(__name__)

COMMAND = "/backup"
_FAILED = ":x: Something went wrong on my side and nothing was done; the bot's log has the details."


def register(app: App, services: Services) -> None:
    def backup_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            reply = answer(services, command, respond)
        except Exception:
            # A bug, not the person's input: they get a plain sentence, the log the details.
            logger.exception("/backup %r failed", command.get("text"))
            reply = Reply(_FAILED)
        respond(**render(reply), response_type="in_channel" if reply.in_channel else "ephemeral")

    app.command(COMMAND)(backup_command)


def answer(services: Services, command: dict[str, Any], respond: Respond) -> Reply:
    try:
        action = parse(command.get("text") or "", services.vocabulary)
    except CommandError as error:
        return Reply(f":warning: {error.message}", (f"```{escape(error.usage)}```",))
    try:
        actor = services.identities.actor(command["user_id"])
    except UnknownIdentity as unknown:
        return Reply(f":warning: {unknown}")

    def later(reply: Reply) -> None:
        respond(**render(reply), response_type="ephemeral", replace_original=False)

    return services.handlers.handle(action, actor, later)
