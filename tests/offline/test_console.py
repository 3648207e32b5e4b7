"""`backupbot console`: a person at a terminal, chatting with the real Slack app."""

import io
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offline.console import Console
from offline.playground import Playground, SiteSize

SMALL = SiteSize(projects=2, issues=20, spaces=1, pages=8)


class Terminal:
    """A process on a pseudo-terminal: what it prints, and lines typed into it."""

    def __init__(self, *command: str, cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
            close_fds=True, start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.screen = ""
        self._read_to = 0  # what `expect` has matched so far

    def expect(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first match of `pattern` in what was printed since the last match."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.compile(pattern).search(self.screen, self._read_to)
            if found:
                self._read_to = found.end()
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not printed in {timeout} s:\n{self.screen}")
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the process ended and closed the terminal
                    time.sleep(0.1)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPBOT_")}
    environment |= {"TERM": "xterm", "HOME": str(tmp_path)}
    opened = Terminal(
        sys.executable, "-m", "cli.main", "console", "--data-dir", str(tmp_path / "data"),
        "--issues", "20", "--pages", "8", cwd=tmp_path, env=environment,
    )  # fmt: skip
    yield opened
    opened.close()


def test_at_a_terminal_alice_backs_up_and_bob_approves_her_restore(terminal, tmp_path):
    terminal.expect(r"Ready\. You are alice\.")
    terminal.expect("alice> ")
    terminal.type("help")
    terminal.expect(r"click <button> \[<value>\]")
    terminal.expect("alice> ")

    terminal.type("/backup now acme-jira")
    backup_id = terminal.expect(r"Backup (bk-[a-z0-9]+) of `acme-jira` is queued")[1]
    terminal.expect(
        rf"\[#backup-notices\] backupbot:\s+✅ Backup {backup_id} of `acme-jira`: Completed"
    )

    terminal.type(f"/backup restore {backup_id} to acme-jira-test")
    request = terminal.expect(r"Restore request (rr-[a-z0-9]+) is created")[1]
    terminal.expect(
        rf"\[Approve\] -> click approve {request} \(asks first: Approve this restore\?\)"
    )

    terminal.type(f"click approve {request}")
    terminal.expect(f"You asked for {request} yourself: a second admin must approve it")
    os.write(terminal.master, b"as b\t")  # readline's Tab completes the name
    terminal.type("")
    terminal.expect("You are now bob.")
    terminal.type("click approve")  # the newest message with an Approve button
    terminal.expect(rf"Restore request {request}: ✅ Approved by bob@example.com")
    terminal.expect(rf"✅ Restore {request}: Completed", timeout=90)
    terminal.expect("Verification: the restored items match the backup")

    terminal.type("quit")
    assert terminal.process.wait(60) == 0
    history = (tmp_path / "data" / "console_history").read_text()
    assert f"click approve {request}" in history  # readline's history, kept for next time
    assert "Traceback" not in terminal.screen


@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    with Playground(tmp_path_factory.mktemp("console"), SMALL) as started:
        yield started


def console(playground) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(playground, out), out


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("as zed", "there is no one called 'zed' here (people: alice, bob, carol, dave)"),
        ("click approve rr-nothing1", "No message shows a button `approve rr-nothing1`"),
        ("click", "Say which button: `click approve rr-ab12cd34`"),
        ("/deploy now", "Only /backup is installed here, not /deploy"),
        ("frobnicate", "I do not know 'frobnicate'. Type `/backup help` or `help`."),
    ],
)
def test_the_console_says_what_was_wrong_with_a_line(playground, line, answer):
    shell, out = console(playground)
    assert shell.handle(line) is True
    assert answer in out.getvalue()
    assert shell.speaker == "alice"


def test_the_console_input_loop_runs_commands_through_the_app_as_the_chosen_person(playground):
    shell, out = console(playground)
    shell.handle("as Carol")
    assert shell.prompt == "carol> "
    shell.handle("/backup now acme-wiki")  # carol administers Jira only
    assert "needs you to be both an organization admin and a Confluence admin" in out.getvalue()
    shell.handle("backup now acme-jria")  # the leading slash may be left out
    assert "There is no site `acme-jria`. Did you mean `acme-jira`?" in out.getvalue()
    shell.handle("people")
    assert re.search(r"^\* carol ", out.getvalue(), re.MULTILINE)
    assert shell.handle("quit") is False


def test_tab_completes_console_words_subcommands_sites_and_people(playground):
    shell, _ = console(playground)
    assert shell.completions("") == ["/backup", "as", "click", "help", "people", "quit"]
    assert shell.completions("/backup re") == ["restore"]
    assert shell.completions("/backup sched") == ["schedule", "schedules"]
    assert shell.completions("/backup now acme-w") == ["acme-wiki", "acme-wiki-test"]
    assert shell.completions("as b") == ["bob"]
    assert shell.completions("click ") == []  # no message with a button yet


def _console_command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "console", *args], capture_output=True, text=True,
        cwd=cwd, env=environment, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )  # fmt: skip


def test_console_options_that_cannot_work_are_refused_in_one_line_before_anything_starts(
    tmp_path,
):
    unknown = _console_command("--as", "zed", cwd=tmp_path)
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "backupbot: --as: there is no one called 'zed' here (people: alice, bob, carol, dave)",
    )
    (tmp_path / "a-file").write_text("")
    unusable = _console_command("--data-dir", str(tmp_path / "a-file"), cwd=tmp_path)
    assert unusable.returncode == 2
    assert unusable.stderr.startswith(f"backupbot: cannot use {tmp_path / 'a-file'} for the")
    assert "Traceback" not in unknown.stderr + unusable.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing was started


def test_as_bob_in_any_case_starts_the_console_as_bob_and_end_of_input_ends_it(tmp_path):
    started = _console_command(
        "--as", "Bob", "--data-dir", str(tmp_path / "data"), "--issues", "5", "--pages", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert "Ready. You are bob." in started.stdout
    assert started.stdout.rstrip().endswith(
        "Stopping: running backups and restores are cancelled ..."
    )
