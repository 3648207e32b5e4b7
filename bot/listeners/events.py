"""Events: App Home, drawn by the worker."""

from typing import Any

from slack_bolt import App

from bot.inbox import Inbox, Item, Kind


def register(app: App, inbox: Inbox) -> None:
    def app_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            inbox.put(Item(Kind.HOME, dict(event)))

    app.event("app_home_opened")(app_home_opened)
