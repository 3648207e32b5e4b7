"""Replies as Block Kit messages, inside Slack's limits.

Every message has a plain `text` fallback (notifications and screen readers use it). Limits
(Slack's Block Kit reference): at most 50 blocks a message, section text at most 3000
characters, button text at most 75, a button value at most 2000, context text 3000.
`check_message` is what the tests assert on every message the bot builds; `render` keeps to
the limits by construction (cutting a section rather than having Slack refuse the message).
"""

from typing import Any

from commands.replies import Button, Reply

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 3000  # Slack truncates longer `text`; we never send more
CUT = "\n… (cut to fit Slack's limits)"

Message = dict[str, Any]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION_TEXT)}}


def _button(button: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": button.text[:MAX_BUTTON_TEXT], "emoji": True},
        "action_id": button.action_id,
        "value": button.value[:MAX_BUTTON_VALUE],
    }
    if button.style:
        element["style"] = button.style
    if button.confirm:
        element["confirm"] = {
            "title": {"type": "plain_text", "text": button.confirm.title[:100]},
            "text": {"type": "mrkdwn", "text": button.confirm.text[:300]},
            "confirm": {"type": "plain_text", "text": button.confirm.confirm[:30]},
            "deny": {"type": "plain_text", "text": button.confirm.deny[:30]},
        }
    return element


def render(reply: Reply) -> Message:
    """`{"text": ..., "blocks": [...]}` for chat.postMessage, chat.update or respond()."""
    blocks = [_section(reply.text), *(_section(s) for s in reply.sections)]
    tail: list[dict[str, Any]] = []
    if reply.context:
        tail.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _cut(reply.context, MAX_SECTION_TEXT)}],
            }
        )
    if reply.buttons:
        tail.append({"type": "actions", "elements": [_button(b) for b in reply.buttons[:25]]})
    room = MAX_BLOCKS - len(tail)
    if len(blocks) > room:
        blocks = [*blocks[: room - 1], _section("… more than fits in one message")]
    return {"text": _cut(_plain(reply), MAX_FALLBACK_TEXT), "blocks": blocks + tail}


def _plain(reply: Reply) -> str:
    return "\n".join([reply.text, *reply.sections])


def check_message(message: Message) -> list[str]:
    """Every way `message` breaks Block Kit's rules; empty when it is fine."""
    problems = []
    if not str(message.get("text") or "").strip():
        problems.append("no plain text fallback")
    blocks = message.get("blocks") or []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (at most {MAX_BLOCKS})")
    for number, block in enumerate(blocks):
        if block.get("type") == "section":
            text = block["text"]["text"]
            if len(text) > MAX_SECTION_TEXT:
                problems.append(f"block {number}: section text of {len(text)} characters")
        for element in block.get("elements", []):
            if element.get("type") == "button":
                if len(element["text"]["text"]) > MAX_BUTTON_TEXT:
                    problems.append(f"block {number}: button text too long")
                if len(element.get("value", "")) > MAX_BUTTON_VALUE:
                    problems.append(f"block {number}: button value too long")
    return problems
