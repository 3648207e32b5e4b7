"""`backupbot console`: chat with the bot in a terminal, as one of the playground's people.

In the spirit of Hubot's shell adapter and Errbot's text mode: what you type goes to the real
Slack app as a signed Slack request (`offline.playground`), and every message the bot sends, in a
channel or only to you, is printed as text with its buttons listed. Messages that arrive while
you type (a backup's notice, a restore's progress) are printed above the line being typed.
"""

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

from commands.usage import SUBCOMMANDS
from offline.chat_text import Button, Shown, show
from offline.local_slack import Call, SlackUser
from offline.playground import CHAT, PEOPLE, Playground, SiteSize

ANSWER_WAIT = 30.0  # seconds to wait for the first answer to a command before prompting again
HISTORY_FILE = "console_history"
HISTORY_LENGTH = 1000
CONSOLE_WORDS = ("as", "people", "click", "help", "quit")

HELP = """\
Type what you would type in Slack, or one of the console's own commands:
  /backup <command>          run a /backup command (`/backup help` lists them all)
  as <name>                  speak as someone else: {people}
  people                     who is here and what each may do
  click <button> [<value>]   press a button of a message, e.g. `click approve rr-ab12cd34`;
                             without a value, the newest message with that button
  help                       this text
  quit                       leave (Ctrl-D too)
Sites: acme-jira and acme-wiki (a seeded sandbox), acme-jira-test and acme-wiki-test (empty,
for restores). The sandbox sites start afresh each time; the database and the backups are kept
in {data_dir}."""


@dataclass
class _Posted:
    """A message with buttons, as last shown."""

    shown: Shown
    order: int


class Console:
    """The console's input loop: `handle` one line at a time; output goes to `out`."""

    def __init__(
        self,
        playground: Playground,
        out: TextIO,
        *,
        speaker: str = "alice",
        redraw: Callable[[], str] | None = None,
    ) -> None:
        self.playground = playground
        self.out = out
        self.speaker = playground.person(speaker).name
        self._redraw = redraw  # the prompt and the half-typed line, when a terminal shows them
        self._lock = threading.Lock()
        self._with_buttons: dict[tuple[str | None, str | None, int], _Posted] = {}
        self._shown = 0
        self.reading = False  # True while the terminal waits for a line
        playground.slack.subscribe(self._delivered)

    @property
    def prompt(self) -> str:
        return f"{self.speaker}> "

    # --- output ----------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        with self._lock:
            self._write(text)

    def _write(self, text: str) -> None:
        if self.reading and self._redraw is not None:
            # Print above the line being typed, then show the prompt and that line again.
            self.out.write(f"\r\x1b[K{text}\n{self._redraw()}")
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def _delivered(self, call: Call) -> None:
        shown = show(call, self.playground.names)
        if shown is None:
            return
        with self._lock:
            self._shown += 1
            if shown.buttons or shown.edited:
                key = (shown.channel, shown.ts, 0 if shown.channel else self._shown)
                self._with_buttons[key] = _Posted(shown, self._shown)
            self._write(shown.text())

    # --- input -----------------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Act on one line; False when the console should end."""
        text = line.strip()
        word, _, rest = text.partition(" ")
        word = word.lower()
        if not text:
            return True
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self.say(self.help())
        elif word == "people":
            self.say(self.people())
        elif word == "as":
            self._switch(rest.strip())
        elif word == "click":
            self._click(rest.split())
        elif word in ("/backup", "backup"):
            self._command(rest.strip())
        elif word.startswith("/"):
            self.say(f"Only /backup is installed here, not {word}. Type `help`.")
        else:
            self.say(f"I do not know {word!r}. Type `/backup help` or `help`.")
        return True

    def help(self) -> str:
        names = ", ".join(p.name for p in PEOPLE)
        return HELP.format(people=names, data_dir=self.playground.data_dir)

    def people(self) -> str:
        lines = [
            f"{'*' if p.name == self.speaker else ' '} {p.name:<6} {p.email:<20} {p.roles}"
            for p in PEOPLE
        ]
        return "\n".join(lines)

    def _switch(self, name: str) -> None:
        try:
            self.speaker = self.playground.person(name).name
        except KeyError as unknown:
            self.say(str(unknown.args[0]))
            return
        self.say(f"You are now {self.speaker}.")

    def _command(self, text: str) -> None:
        name = self._send(lambda user: user.command(text))
        if name is not None:
            # The first answer prints before the next prompt; later ones whenever they come.
            self.playground.slack.first(lambda c: c.method == name, ANSWER_WAIT)

    def _send(self, request: Callable[[SlackUser], str]) -> str | None:
        """Send as the speaker; the name its answers come under, or None (said why)."""
        try:
            return request(self.playground.user(self.speaker))
        except (httpx.HTTPError, RuntimeError) as error:
            self.say(f"The Slack app did not take the request: {error}")
            return None

    def completions(self, before: str) -> list[str]:
        """What the word being typed may become, given the line up to the cursor (Tab)."""
        words = before.split(" ")
        typed, done = words[-1], [w.lower() for w in words[:-1] if w]
        if not done:
            choices = [*CONSOLE_WORDS, "/backup"]
        elif done[0] in ("/backup", "backup") and len(done) == 1:
            choices = [sub.name for sub in SUBCOMMANDS]
        elif done[0] in ("/backup", "backup"):
            config = self.playground.context.config
            choices = [*config.sites, *config.storage]
        elif done == ["as"]:
            choices = [p.name for p in PEOPLE]
        elif done[0] == "click" and len(done) <= 2:
            with self._lock:
                buttons = [b for p in self._with_buttons.values() for b in p.shown.buttons]
            wanted = done[1] if len(done) == 2 else None
            choices = [b.value if wanted else b.word for b in buttons if wanted in (None, b.word)]
        else:
            choices = []
        return sorted({c for c in choices if c.startswith(typed)})

    def _click(self, words: list[str]) -> None:
        if not words or len(words) > 2:
            self.say("Say which button: `click approve rr-ab12cd34` (the value is optional).")
            return
        label = words[0].lower()
        value = words[1].lower() if len(words) == 2 else None
        button, posted = self._find_button(label, value)
        if button is None or posted is None:
            which = f"{label} {value}" if value else label
            self.say(f"No message shows a button `{which}`; the buttons are listed under messages.")
            return
        channel, ts = posted.channel or CHAT, posted.ts or "0"
        sent = time.monotonic()
        name = self._send(lambda user: user.click(button.action_id, button.value, channel, ts))
        if name is None:
            return

        def answered(call: Call) -> bool:
            # An answer to the clicker alone, or the clicked message changing from now on.
            edited = call.method == "chat.update" and call.ts == ts and call.at >= sent
            return call.method == name or edited

        self.playground.slack.first(answered, ANSWER_WAIT)

    def _find_button(self, label: str, value: str | None) -> tuple[Button | None, Shown | None]:
        with self._lock:
            posted = sorted(self._with_buttons.values(), key=lambda p: p.order, reverse=True)
        for entry in posted:
            for button in entry.shown.buttons:
                if button.word == label and (value is None or button.value.lower() == value):
                    return button, entry.shown
        return None, None


def run(data_dir: Path, speaker: str, size: SiteSize) -> int:
    interactive = sys.stdin.isatty()
    history = data_dir / HISTORY_FILE
    readline = _readline(history) if interactive else None
    print(f"backupbot console: starting the sandbox sites and the Slack app ({data_dir}) ...")
    with Playground(data_dir, size) as playground:
        console = Console(
            playground,
            sys.stdout,
            speaker=speaker,
            redraw=(lambda: console.prompt + readline.get_line_buffer()) if readline else None,
        )
        if readline is not None:
            _complete_with(readline, console)
        console.say(
            f"Ready. You are {console.speaker}. Type `/backup help` for the bot's commands and "
            "`help` for the console's."
        )
        try:
            while True:
                console.reading = True
                try:
                    line = input(console.prompt) if interactive else _read_line()
                except KeyboardInterrupt:
                    console.say("")  # Ctrl-C drops the line being typed, as a shell does
                    continue
                except EOFError:
                    console.say("")  # end the prompt's line
                    break
                finally:
                    console.reading = False
                if not interactive:
                    console.say(f"{console.prompt}{line}")
                try:
                    if not console.handle(line):
                        break
                except KeyboardInterrupt:  # Ctrl-C while waiting for an answer: stop waiting
                    console.say("(no longer waiting: an answer still prints when it comes)")
        finally:
            if readline is not None:
                with contextlib.suppress(OSError):  # a history not kept is no reason to fail
                    readline.write_history_file(history)
            console.say("Stopping: running backups and restores are cancelled ...")
    return 0


def _read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def _readline(history: Path):  # type: ignore[no-untyped-def]
    """Line editing and a history kept between sessions, where the platform has readline."""
    try:
        import readline  # noqa: PLC0415 - only for a terminal; not on every platform
    except ImportError:
        return None
    history.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # no history yet, or one that cannot be read
        readline.read_history_file(history)
    readline.set_history_length(HISTORY_LENGTH)
    return readline


def _complete_with(readline, console: Console) -> None:  # type: ignore[no-untyped-def]
    """Tab completes console words, subcommands, sites, people and buttons."""
    found: list[str] = []

    def complete(text: str, state: int) -> str | None:
        if state == 0:
            before = readline.get_line_buffer()[: readline.get_endidx()]
            found[:] = console.completions(before)
        return found[state] if state < len(found) else None

    readline.set_completer_delims(" ")
    readline.set_completer(complete)
    if "libedit" in (readline.__doc__ or ""):  # macOS's readline speaks editline's language
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
