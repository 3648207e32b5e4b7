"""Buttons: Approve and Reject on a restore request, and More on a long backup list."""

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import render
from bot.identity import UnknownIdentity
from bot.services import Services
from commands import approvals
from commands.handlers import MORE_ACTION
from commands.replies import Reply
from policy.roles import NotAuthorized


def register(app: App, services: Services) -> None:
    def decide(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        services.answers.submit(_decide, services, body, action, respond)

    def more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        services.answers.submit(_more, services, body, action, respond)

    app.action(approvals.APPROVE_ACTION)(decide)
    app.action(approvals.REJECT_ACTION)(decide)
    app.action(MORE_ACTION)(more)


def _decide(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> None:
    approve = action["action_id"] == approvals.APPROVE_ACTION
    try:
        actor = services.identities.actor(body["user"]["id"])
    except UnknownIdentity as unknown:
        respond(
            **render(Reply(f":warning: {unknown}")),
            response_type="ephemeral",
            replace_original=False,
        )
        return
    outcome = approvals.click(services.context, action["value"], actor, approve=approve)
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
        services.runner.restore(action["value"])


def _more(
    services: Services, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> None:
    site, include_all, offset = action["value"].split("|")
    try:
        actor = services.identities.actor(body["user"]["id"])
        reply = services.handlers.backups_page(site or None, include_all == "1", int(offset), actor)
    except UnknownIdentity as unknown:
        reply = Reply(f":warning: {unknown}")
    except NotAuthorized as refusal:
        reply = Reply(f":no_entry: {refusal.message}")
    respond(**render(reply), response_type="ephemeral", replace_original=False)
