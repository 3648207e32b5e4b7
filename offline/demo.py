"""`backupbot demo`: the main job end to end, through the real Slack app, with no accounts.

It starts the playground (`offline.playground`: two sandbox sites, a local Slack, the real app on a
loopback port) and plays a short session as Slack would deliver it, printing every message the
bot sends as an admin would see it in Slack:
1. alice backs the Jira and the Confluence site up (`/backup now`), asks how they are doing,
   and the completion notices arrive in #backup-notices with Atlassian's RPO/RTO;
2. alice lists the backups, then asks to restore the Jira backup into the empty site;
   the request and its preview arrive in #backup-approvals with Approve and Reject buttons;
3. alice presses Approve and is refused (a restore needs a second admin); bob approves;
4. the restore runs (progress in the request's thread), is verified against the backup, and
   the empty site is read back to show what is now in it.
Each step checks that the bot did what the transcript shows; the demo exits 0 only if every
step did, and stops everything it started (its data lives in a temporary directory).
"""

import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import httpx

from offline.chat_text import Shown, show
from offline.local_slack import Call
from offline.playground import APPROVALS, NOTIFICATIONS, PEOPLE, RESTORE_TARGETS, Playground
from policy.identifiers import ID_MAX_LENGTH, ID_MIN_LENGTH, IdKind
from sandbox.control import SANDBOX_TOKEN

_ID_BODY = f"[a-z0-9]{{{ID_MIN_LENGTH},{ID_MAX_LENGTH}}}"
BACKUP_ID = re.compile(rf"\b{IdKind.BACKUP}-{_ID_BODY}\b")
REQUEST_ID = re.compile(rf"\b{IdKind.RESTORE_REQUEST}-{_ID_BODY}\b")
BACKUP_TIMEOUT = 60.0
RESTORE_TIMEOUT = 90.0


class StepFailed(Exception):
    """A step of the demo did not do what the transcript shows."""


class Transcript:
    """Prints what people type and every message the bot sends, in the order they happen."""

    def __init__(self, playground: Playground, write: Callable[[str], None]) -> None:
        self.playground = playground
        self._write = write
        self._lock = threading.Lock()
        playground.slack.subscribe(self._delivered)

    def say(self, line: str = "") -> None:
        with self._lock:
            self._write(line)

    def typed(self, who: str, text: str) -> None:
        self.say(f"\n{who}> {text}")

    def _delivered(self, call: Call) -> None:
        shown = show(call, self.playground.names)
        if shown is not None:
            self.say(shown.text())


class Session:
    """The scripted admins, each step waiting for what Slack would show and checking it."""

    def __init__(self, playground: Playground, transcript: Transcript) -> None:
        self.playground = playground
        self.slack = playground.slack
        self.transcript = transcript
        self.last_answer = ""  # where the answers to the last command are recorded

    def command(self, who: str, text: str) -> str:
        """`who` types `/backup <text>`; the text of the bot's first answer."""
        self.transcript.typed(who, f"/backup {text}")
        user = self.playground.user(who)
        self.last_answer = user.command(text)
        return str(self._answer(self.last_answer)["text"])

    def click(self, who: str, button: str, message: Shown) -> str | None:
        """`who` presses `button` on `message`; the text of an answer only they see, or None
        when the bot answers by changing the message instead."""
        found = [b for b in message.buttons if b.word == button]
        if not found or message.channel is None or message.ts is None:
            raise StepFailed(f"the message has no {button!r} button: {message.text()}")
        pressed, ts = found[0], message.ts
        self.transcript.typed(who, f"click {pressed.word} {pressed.value}")
        sent = time.monotonic()
        name = self.playground.user(who).click(
            pressed.action_id, pressed.value, message.channel, ts
        )

        def answered(call: Call) -> bool:
            edited = call.method == "chat.update" and call.ts == ts and call.at >= sent
            return call.method == name or edited

        call = self.slack.first(answered, 30)
        if call is None:
            raise StepFailed(f"the bot did not answer {who}'s click within 30 s")
        return str(call.args.get("text")) if call.method == name else None

    def _answer(self, name: str) -> dict[str, Any]:
        try:
            return self.slack.wait_for(name, timeout=30)
        except TimeoutError:
            raise StepFailed("the bot did not answer within 30 s") from None

    def posted(
        self,
        channel: str,
        where: Callable[[dict[str, Any]], bool],
        timeout: float,
        what: str,
        method: str = "chat.postMessage",
    ) -> Shown:
        """The message posted to `channel` that `where` accepts, as people see it."""
        try:
            self.slack.wait_for(method, lambda a: a.get("channel") == channel and where(a), timeout)
        except TimeoutError:
            raise StepFailed(f"{what} did not arrive within {timeout:.0f} s") from None
        with self.slack.lock:
            calls = [c for c in self.slack.calls if c.method == method]
        call = next(c for c in calls if c.args.get("channel") == channel and where(c.args))
        shown = show(call, self.playground.names)
        assert shown is not None
        return shown


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise StepFailed(what)


def _one(pattern: re.Pattern[str], text: str, what: str) -> str:
    found = pattern.search(text)
    if not found:
        raise StepFailed(f"{what}; the bot said: {text[:300]}")
    return found.group(0)


def back_up_both_sites(session: Session) -> dict[str, str]:
    made = {}
    for source in RESTORE_TARGETS:
        answer = session.command("alice", f"now {source}")
        made[source] = _one(BACKUP_ID, answer, f"/backup now {source} gave no backup id")
    status = session.command("alice", f"status {made['acme-jira']}")
    _expect(made["acme-jira"] in status, f"/backup status did not show {made['acme-jira']}")
    refusal = session.command("carol", "now acme-wiki")
    _expect(
        "Confluence admin" in refusal, f"carol, no Confluence admin, was not refused: {refusal}"
    )
    for backup_id in made.values():

        def completed(args: dict[str, Any], backup_id: str = backup_id) -> bool:
            return backup_id in args.get("text", "") and "Completed" in args.get("text", "")

        notice = session.posted(
            NOTIFICATIONS,
            completed,
            BACKUP_TIMEOUT,
            f"the completion notice of {backup_id}",
        )
        shown = "\n".join(notice.lines)
        _expect("RTO" in shown and "RPO" in shown, f"{backup_id}'s notice gives no RPO/RTO")
    return made


def preview_one_space(session: Session, backup_id: str, target: str) -> None:
    """A granular restore, previewed: nothing is written and no approval is needed."""
    answer = session.command("alice", f"restore {backup_id} to {target} only space:DOCS preview")
    _expect("preview" in answer.lower(), f"no preview was promised: {answer}")
    try:
        preview = session.slack.wait_for(
            session.last_answer, lambda a: "DOCS" in str(a.get("blocks")), timeout=30
        )
    except TimeoutError:
        raise StepFailed("the preview of space DOCS did not arrive within 30 s") from None
    _expect("Preview" in str(preview.get("blocks")), "the preview shows no plan")


def request_restore(session: Session, backup_id: str, target: str) -> tuple[str, Shown]:
    answer = session.command("alice", "list")
    _expect(backup_id in answer, f"/backup list does not show {backup_id}")
    answer = session.command("alice", f"restore {backup_id} to {target}")
    request_id = _one(REQUEST_ID, answer, "/backup restore gave no request id")
    message = session.posted(
        APPROVALS,
        lambda a: request_id in a.get("text", ""),
        30,
        f"the approval request {request_id}",
    )
    shown = "\n".join(message.lines)
    _expect("Preview" in shown, f"{request_id}'s request shows no preview")
    _expect({"approve", "reject"} <= {b.word for b in message.buttons}, "no Approve/Reject")
    return request_id, message


def approve_and_restore(session: Session, request_id: str, message: Shown) -> None:
    refusal = session.click("alice", "approve", message) or ""
    _expect("yourself" in refusal, f"alice approving her own request was not refused: {refusal}")
    session.click("bob", "approve", message)
    session.posted(
        APPROVALS,
        lambda a: request_id in a.get("text", "") and "Approved" in a.get("text", ""),
        30,
        f"{request_id} marked approved",
        method="chat.update",
    )
    session.posted(
        APPROVALS,
        lambda a: a.get("thread_ts") == message.ts and "restored (" in a.get("text", ""),
        RESTORE_TIMEOUT,
        f"the progress of {request_id}",
    )
    done = session.posted(
        APPROVALS,
        lambda a: (
            a.get("thread_ts") == message.ts
            and "Restore" in a.get("text", "")
            and ("Completed" in a.get("text", "") or "Failed" in a.get("text", ""))
        ),
        RESTORE_TIMEOUT,
        f"the outcome of {request_id}",
    )
    shown = "\n".join(done.lines)
    _expect("Completed" in shown, f"{request_id} did not complete")
    _expect("Verification" in shown, f"{request_id}'s outcome has no verification summary")
    _expect(
        "match the backup on everything" in shown, f"{request_id}'s verification found differences"
    )


def show_target(session: Session, transcript: Transcript) -> None:
    """Read the restored site back over its REST API, as an admin would look at it."""
    url = session.playground.empty_url
    try:
        answer = httpx.get(
            f"{url}/rest/api/3/project/search", auth=("svc@example.com", SANDBOX_TOKEN), timeout=30
        )
        answer.raise_for_status()
        projects = [p["key"] for p in answer.json().get("values", [])]
    except (httpx.HTTPError, ValueError, KeyError) as error:
        raise StepFailed(f"acme-jira-test could not be read back: {error}") from None
    transcript.say(
        f"\n(acme-jira-test, read back over its REST API: projects {', '.join(projects)})"
    )
    _expect(bool(projects), "the restore target still has no project")


def play(playground: Playground, transcript: Transcript) -> None:
    """The session; StepFailed names the first step that did not do what it shows."""
    transcript.say(
        f"backupbot demo: the real Slack app on {playground.app_url}, sent signed requests by "
        f"a local Slack; sandbox sites on {playground.source_url} (acme-jira, acme-wiki) and "
        f"{playground.empty_url} (empty: acme-jira-test, acme-wiki-test)."
    )
    for person in PEOPLE[:3]:
        transcript.say(f"  {person.name}: {person.roles}")
    session = Session(playground, transcript)
    backups = back_up_both_sites(session)
    preview_one_space(session, backups["acme-wiki"], RESTORE_TARGETS["acme-wiki"])
    request_id, message = request_restore(
        session, backups["acme-jira"], RESTORE_TARGETS["acme-jira"]
    )
    approve_and_restore(session, request_id, message)
    show_target(session, transcript)


def run(out: TextIO = sys.stdout) -> int:
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="backupbot-demo-") as directory,
        Playground(Path(directory)) as playground,
    ):
        transcript = Transcript(playground, lambda line: print(line, file=out, flush=True))
        try:
            play(playground, transcript)
        except StepFailed as failure:
            transcript.say(f"\ndemo: FAILED: {failure}")
            return 1
    print(f"\ndemo: OK in {time.monotonic() - started:.0f} s", file=out)
    return 0
