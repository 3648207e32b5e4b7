"""`/backup`: acknowledged at once; the worker parses, resolves the person and answers."""

from typing import Any

from slack_bolt import Ack, App

from bot.inbox import Inbox, Item, Kind

COMMAND = "/backup"


def register(app: App, inbox: Inbox) -> None:
    def backup_command(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        inbox.put(Item(Kind.COMMAND, dict(command)))

    app.command(COMMAND)(backup_command)
