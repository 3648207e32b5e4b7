"""Bolt listeners, one module per kind (commands, actions, events), each with `register`."""

from slack_bolt import App

from bot.listeners import actions, commands, events
from bot.services import Services


def register_listeners(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)
