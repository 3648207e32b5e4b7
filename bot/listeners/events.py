"""Events: App Home."""

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import home
from bot.services import Services


def register(app: App, services: Services) -> None:
    def app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        client.views_publish(user_id=event["user"], view=home.view(services, event["user"]))

    app.event("app_home_opened")(app_home_opened)
