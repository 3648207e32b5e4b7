"""Slack messages as terminal text, for the demo and the console.

A message the bot sends (a call to `LocalSlack`) becomes a few lines: where it appears (a
channel, a thread, or "only you" for an answer to a command), then its blocks with Slack's
mrkdwn turned into plain text, then its buttons, each with the console command that presses it.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from offline.local_slack import RESPOND_PREFIX, Call

# The emoji the bot uses, as a terminal shows them; any other `:name:` is left as typed.
EMOJI = {
    "white_check_mark": "✅",
    "x": "❌",
    "warning": "⚠️",
    "no_entry": "⛔",
    "stop_button": "⏹️",
    "hourglass": "⏳",
    "hourglass_flowing_sand": "⏳",
    "mag": "🔍",
    "rotating_light": "🚨",
    "leftwards_arrow_with_hook": "↩️",
    "arrow_forward": "▶️",
    "wastebasket": "🗑️",
    "calendar": "📅",
    "arrows_counterclockwise": "🔄",
}

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str
    confirm: str | None  # the question Slack asks before sending the click

    @property
    def word(self) -> str:
        """What to type after `click`: the label's first word, lowercased (`approve`)."""
        return self.label.split()[0].lower() if self.label.split() else self.action_id


@dataclass(frozen=True)
class Shown:
    """A message as a person sees it."""

    where: str  # "#backup-notices", "#backup-approvals (thread)", "only you"
    lines: tuple[str, ...]
    buttons: tuple[Button, ...]
    channel: str | None
    ts: str | None
    edited: bool = False

    def text(self, speaker: str = "backupbot") -> str:
        head = f"[{self.where}] {speaker}{' (edited)' if self.edited else ''}:"
        body = [f"  {line}" if line else "" for line in self.lines]
        for button in self.buttons:
            ask = f" (asks first: {button.confirm})" if button.confirm else ""
            body.append(f"  [{button.label}] -> click {button.word} {button.value}{ask}")
        return "\n".join([head, *body])


@dataclass
class Names:
    """How ids are shown: Slack user and channel ids by name."""

    users: Mapping[str, str] = field(default_factory=dict)  # U... -> alice
    channels: Mapping[str, str] = field(default_factory=dict)  # C... -> backup-notices

    def channel(self, channel_id: str | None) -> str:
        return f"#{self.channels.get(channel_id or '', channel_id or '?')}"


def plain(mrkdwn: str, names: Names) -> str:
    """Slack mrkdwn as plain text: links, mentions, emoji, bold and escaping undone."""

    def link(match: re.Match[str]) -> str:
        target, label = match[1], match[2]
        if target.startswith("@"):
            return "@" + names.users.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return names.channel(target[1:]) if not label else f"#{label}"
        if target.startswith("!"):
            return label or "@" + target[1:]
        return f"{label} ({target})" if label and label != target else target

    text = _LINK.sub(link, mrkdwn)
    text = _EMOJI.sub(lambda m: EMOJI.get(m[1], m[0]), text)
    text = _BOLD.sub(r"\1", text)
    text = text.replace("```", "")
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def _buttons(blocks: list[dict[str, Any]]) -> tuple[Button, ...]:
    found = []
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") != "button":
                continue
            confirm = element.get("confirm")
            found.append(
                Button(
                    element["text"]["text"],
                    element["action_id"],
                    element.get("value", ""),
                    confirm["title"]["text"] if confirm else None,
                )
            )
    return tuple(found)


def _block_lines(blocks: list[dict[str, Any]], names: Names) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            text = block.get("text") or {}
            lines += plain(str(text.get("text", "")), names).splitlines()
            for item in block.get("fields") or []:
                lines += plain(str(item.get("text", "")), names).splitlines()
        elif kind == "context":
            for element in block.get("elements", []):
                lines += ["· " + line for line in plain(element.get("text", ""), names).split("\n")]
        elif kind == "divider":
            lines.append("—" * 20)
    return lines


def show(call: Call, names: Names) -> Shown | None:
    """The message a call puts in front of people; None for calls that show nothing here
    (`users.info`, `auth.test`, App Home)."""
    args = call.args
    if call.method.startswith(RESPOND_PREFIX):
        where, channel = "only you", None
    elif call.method in ("chat.postMessage", "chat.update"):
        channel = args.get("channel")
        where = names.channel(channel) + (" thread" if args.get("thread_ts") else "")
    else:
        return None
    blocks = args.get("blocks") or []
    lines = (
        _block_lines(blocks, names) if blocks else plain(args.get("text", ""), names).split("\n")
    )
    return Shown(
        where,
        tuple(lines),
        _buttons(blocks),
        channel,
        call.ts,
        edited=call.method == "chat.update" or bool(args.get("replace_original")),
    )
