"""What the bot answers, as plain values the Slack layer renders (`bot/blocks.py`).

Every piece of text here is Slack mrkdwn that is already safe: anything that came from a
person or from Atlassian went through `markup.escape`, so it cannot mention a channel or
carry a link.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Confirm:
    """The dialog Slack shows before it sends a button's click."""

    title: str
    text: str
    confirm: str
    deny: str = "Cancel"


@dataclass(frozen=True)
class Button:
    text: str
    action_id: str
    value: str
    style: str | None = None  # "primary" or "danger"
    confirm: Confirm | None = None


@dataclass(frozen=True)
class Reply:
    """A message: `text` is the plain fallback and the first section; `sections` follow."""

    text: str
    sections: tuple[str, ...] = ()
    context: str | None = None  # small print under the message
    buttons: tuple[Button, ...] = ()
    in_channel: bool = False  # False: seen only by the person who asked (ephemeral)
