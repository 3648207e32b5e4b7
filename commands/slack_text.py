"""Turn the text of a slash command, as Slack sends it, into words.

Slack escapes `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`, and sends mentions and links as
markup such as `<@U123|ann>`, `<!channel>`, `<#C123|ops>` or `<https://x|x>`. Markup is kept as
one word (a user's display name may contain spaces) and marked, so the grammar can refuse it
where a name is expected; everything else is unescaped exactly once.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MAX_COMMAND_LENGTH = 1000

# Control characters and invisible formatting characters (bidi overrides, zero-width joiners)
# make a command look unlike what it does; tabs and line breaks are just white space.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_WHITESPACE_CONTROLS = frozenset("\t\n\r")

_WORD = re.compile(r"<[^<>]*>|[^\s<]+|<")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


class Markup(StrEnum):
    USER_MENTION = "a mention of a person"
    SPECIAL_MENTION = "a mention such as @channel or @here"
    CHANNEL = "a channel link"
    LINK = "a link"


class TextError(ValueError):
    """The text cannot be a command at all (too long, hidden characters)."""


@dataclass(frozen=True)
class Word:
    text: str  # unescaped; for markup, the raw markup (never shown to anyone)
    markup: Markup | None = None


def _markup_kind(raw: str) -> Markup:
    inner = raw[1:-1]
    if inner.startswith("@"):
        return Markup.USER_MENTION
    if inner.startswith("!"):
        return Markup.SPECIAL_MENTION
    if inner.startswith("#"):
        return Markup.CHANNEL
    return Markup.LINK


def unescape(text: str) -> str:
    """Undo Slack's escaping of `&`, `<` and `>`, once (so `&amp;lt;` stays `&lt;`)."""
    return _ENTITY.sub(lambda m: _ENTITIES[m[1]], text)


def check_text(text: str) -> None:
    """Refuse text that is too long or holds characters a person could not see."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise TextError(
            f"That command is {len(text):,} characters long; "
            f"a command can be at most {MAX_COMMAND_LENGTH:,} characters."
        )
    for char in text:
        if char in _WHITESPACE_CONTROLS:
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise TextError(
                f"The command contains a control or invisible character (U+{ord(char):04X}); "
                "type it again without it."
            )


def words(text: str) -> list[Word]:
    """The words of a command; raises TextError for text that cannot be a command."""
    check_text(text)
    result: list[Word] = []
    for match in _WORD.finditer(text):
        raw = match[0]
        if raw.startswith("<") and raw.endswith(">") and len(raw) > 1:
            result.append(Word(raw, _markup_kind(raw)))
        else:
            result.append(Word(unescape(raw)))
    return result
