"""Buttons: Approve and Reject on a restore request, and More on a long backup list."""

from typing import Any

from slack_bolt import Ack, App

from bot.inbox import Inbox, Item, Kind
from commands.approvals import APPROVE_ACTION, REJECT_ACTION
from commands.handlers import MORE_ACTION


def register(app: App, inbox: Inbox) -> None:
    def button(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        inbox.put(Item(Kind.ACTION, dict(body)))

    for action_id in (APPROVE_ACTION, REJECT_ACTION, MORE_ACTION):
        app.action(action_id)(button)
