"""The one error a configuration problem raises, and how a value is quoted in its messages."""

from __future__ import annotations

from collections.abc import Sequence

_SHOWN_LENGTH = 60


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one "key.path: what is wrong" each."""

    def __init__(self, problems: Sequence[str], source: str = "the configuration") -> None:
        self.problems = tuple(problems)
        self.source = source
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "".join(f"\n  {problem}" for problem in self.problems)
        super().__init__(f"configuration {noun} in {source}:{lines}")


def shown(value: str) -> str:
    """A config value quoted for a message, cut short so a pasted blob cannot flood the output."""
    if len(value) > _SHOWN_LENGTH:
        value = value[: _SHOWN_LENGTH - 3] + "..."
    return repr(value)
