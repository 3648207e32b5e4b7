"""Bolt listeners, one module per kind (commands, actions, events), each with `register`.

A listener acknowledges and puts the request in the inbox, nothing else: the worker answers.
"""

from slack_bolt import App

from bot.inbox import Inbox
from bot.listeners import actions, commands, events


def register_listeners(app: App, inbox: Inbox) -> None:
    commands.register(app, inbox)
    actions.register(app, inbox)
    events.register(app, inbox)
