"""The README's claims that code can check: its commands and command reference."""

import re
from pathlib import Path

from commands.usage import overview

README = Path(__file__).resolve().parent.parent / "README.md"


def _code_block_after(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1]
    match = re.search(r"```[a-z]*\n(.*?)```", section, re.DOTALL)
    assert match, f"no code block under '## {heading}'"
    return match.group(1).strip()


def test_the_command_reference_is_the_grammars_usage():
    assert _code_block_after("The /backup commands") == overview()


def test_the_set_up_commands_are_make_demo_and_make_test():
    block = _code_block_after("Set up and try it")
    assert [line.split("#")[0].strip() for line in block.splitlines()] == ["make demo", "make test"]
