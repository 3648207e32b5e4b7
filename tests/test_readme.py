"""The README's claims that code can check: its commands and command reference."""

import re
import subprocess
import sys
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


def test_every_operator_command_in_the_readme_exists():
    block = _code_block_after("Operator commands")
    for line in block.splitlines():
        words = line.split("#")[0].split()
        assert words[0] == "backupbot"
        command = [w for w in words[1:3] if not w.startswith(("-", "[", "<")) and w.islower()]
        command = command[:2] if command[:1] in (["db"], ["config"], ["catalog"]) else command[:1]
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *command, "--help"],
            capture_output=True, text=True, check=False, cwd=README.parent,
        )  # fmt: skip
        assert done.returncode == 0, f"{line}: {done.stderr}"
