"""The worker: answers what the front acknowledged (`bot.inbox`), on a pool of its own.

Commands are parsed, the person resolved and the handler run; the answer goes back through the
request's response_url, and anything background work reports later follows it there, never
before it. Button clicks decide restore requests or page a list; App Home is drawn.
"""

import logging
import threading
from typing import Any

from slack_bolt.context.respond import Respond

from bot import home
from bot.blocks import render
from bot.identity import UnknownIdentity
from bot.inbox import InboxReader, Item, Kind
from bot.services import Services
from commands import approvals
from commands.actions import Action
from commands.grammar import CommandError, parse
from commands.handlers import MORE_ACTION, Actor
from commands.markup import escape
from commands.replies import Reply
from policy.roles import NotAuthorized

logger = logging.getLogger(__name__)

FOLLOW_UP_WAIT = 10.0  # seconds a follow-up waits for the first answer to be sent
_FAILED = ":x: Something went wrong on my side and nothing was done; the bot's log has the details."


def serve_inbox(services: Services, inbox: InboxReader) -> None:
    """Take items until the None that ends the inbox; each is answered on the answers pool."""
    while (item := inbox.get()) is not None:
        services.answers.submit(dispatch, services, item)


def dispatch(services: Services, item: Item) -> None:
    try:
        if item.kind is Kind.COMMAND:
            answer_command(services, item.body)
        elif item.kind is Kind.ACTION:
            answer_button(services, item.body)
        else:
            client = services.notifier.client
            user = item.body["user"]
            client.views_publish(user_id=user, view=home.view(services, user))
    except Exception:
        # A bug, or Slack unreachable: the log has it; the person sees no half answer.
        logger.exception("answering a %s failed", item.kind)


def _respond(body: dict[str, Any]) -> Respond:
    return Respond(response_url=body.get("response_url"))


# --- /backup ---------------------------------------------------------------------------------


class _Answered(Exception):
    """The request is answered before any handler runs (bad syntax, unknown person)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def answer_command(services: Services, command: dict[str, Any]) -> None:
    respond = _respond(command)
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
        logger.exception("/backup %r failed", command.get("text"))
        reply = Reply(_FAILED)
    try:
        respond(**render(reply), response_type="in_channel" if reply.in_channel else "ephemeral")
    finally:
        answered.set()


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


# --- buttons ---------------------------------------------------------------------------------


def answer_button(services: Services, body: dict[str, Any]) -> None:
    respond = _respond(body)
    action = body["actions"][0]
    try:
        actor = services.identities.actor(body["user"]["id"])
    except UnknownIdentity as unknown:
        reply = Reply(f":warning: {unknown}")
        respond(**render(reply), response_type="ephemeral", replace_original=False)
        return
    if action["action_id"] == MORE_ACTION:
        _more(services, actor, action["value"], respond)
    else:
        _decide(services, actor, body, action, respond)


def _decide(
    services: Services,
    actor: Actor,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
) -> None:
    approve = action["action_id"] == approvals.APPROVE_ACTION
    request_id = action["value"]
    outcome = approvals.click(services.context, request_id, actor, approve=approve)
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    if outcome.message is not None and channel and ts:
        services.notifier.update(channel, ts, render(outcome.message))
    if outcome.to_clicker is not None:
        respond(**render(outcome.to_clicker), response_type="ephemeral", replace_original=False)
    if outcome.start_restore:
        if channel and ts:
            text = f":arrow_forward: Approved by {actor.email}; the restore starts now."
            services.notifier.post(channel, render(Reply(text)), thread_ts=ts)
        services.runner.restore(request_id)


def _more(services: Services, actor: Actor, value: str, respond: Respond) -> None:
    site, include_all, offset = value.split("|")
    try:
        reply = services.handlers.backups_page(site or None, include_all == "1", int(offset), actor)
    except NotAuthorized as refusal:
        reply = Reply(f":no_entry: {refusal.message}")
    respond(**render(reply), response_type="ephemeral", replace_original=False)
