"""A Slack workspace on this machine, for the demo, the console and the tests.

Two halves of what Slack does for a real deployment:
- `LocalSlack` is Slack's side of the conversation: a real HTTP server answering the Web API
  methods the bot calls (`auth.test`, `users.info`, `chat.postMessage`, `chat.update`,
  `views.publish`, ...) and the response_url of each command and click, recording every call
  and telling subscribers about it.
- `SlackUser` is a person's Slack client: it sends `/backup ...` and button clicks to the app's
  `POST /slack/events` as Slack does, form-encoded and signed with the signing secret (the
  signature made by slack_sdk's own `SignatureVerifier`), so the app's whole request path runs.
"""

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

import httpx
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

TEAM_ID = "T0LOCAL"
BOT_USER_ID = "UBACKUPBOT"
RESPOND_PREFIX = "respond/"  # calls to a response_url are recorded as "respond/<n>"


@dataclass(frozen=True)
class Call:
    """One request the bot made to Slack: the Web API method (or `respond/<n>`) and its
    arguments, JSON-decoded."""

    method: str
    args: dict[str, Any]
    ts: str | None = None  # the message's ts, for chat.postMessage (given) and chat.update
    at: float = field(default_factory=time.monotonic)


Answer = tuple[int, dict[str, str], dict[str, Any]]  # status, headers, JSON body


@dataclass
class LocalSlack:
    """Slack's Web API and response_url endpoints, recording what the bot sends."""

    emails: dict[str, str] = field(default_factory=dict)  # Slack user id -> profile email
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Answer]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _subscribers: list[Callable[[Call], None]] = field(default_factory=list)
    _ts: Iterator[int] = field(default_factory=lambda: count(1001))
    _responses: Iterator[int] = field(default_factory=lambda: count(1))

    # --- what tests and tools ask of it ----------------------------------------------------------

    def subscribe(self, callback: Callable[[Call], None]) -> None:
        """Call `callback` with every call the bot makes from now on, as it is made."""
        with self.lock:
            self._subscribers.append(callback)

    def response_url(self) -> tuple[str, str]:
        """A fresh response_url, and the method name its calls are recorded under."""
        name = f"{RESPOND_PREFIX}{next(self._responses)}"
        return f"{self.url}/{name}", name

    def fail_next(self, method: str, status: int, body: dict[str, Any], **headers: str) -> None:
        """Answer the next call of `method` with this instead (errors, 429s)."""
        with self.lock:
            self.failures.setdefault(method, []).append((status, headers, body))

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c.args for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """The arguments of the first call of `method` matching `where`, waiting up to
        `timeout` seconds (TimeoutError naming every call made so far)."""
        call = self.first(lambda c: c.method == method and where(c.args), timeout)
        if call is None:
            with self.lock:
                seen = [(c.method, str(c.args.get("text") or "")[:200]) for c in self.calls]
            raise TimeoutError(f"no {method} call matched within {timeout} s; calls: {seen}")
        return call.args

    def first(self, where: Callable[[Call], bool], timeout: float) -> Call | None:
        """The first call `where` accepts, waiting up to `timeout` seconds; None if none came.
        A call is listed only once every subscriber has seen it; calls answered with a
        `fail_next` failure are listed too (tests count them) but reach no subscriber."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = next((c for c in self.calls if where(c)), None)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(0.02)

    # --- Slack's answers -------------------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any]) -> Answer:
        with self.lock:
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            call = Call(method, args, ts if method.startswith("chat.") else None)
            subscribers = list(self._subscribers)
            queued = self.failures.get(method)
            failure = queued.pop(0) if queued else None
        if failure is None:  # a refused call reached no one
            for subscriber in subscribers:
                try:
                    subscriber(call)
                except Exception:  # a subscriber's bug must not cost the bot its answer
                    logger.exception("a subscriber failed on %s", method)
        with self.lock:  # after the subscribers: whoever waits for it finds it already shown
            self.calls.append(call)
        if failure is not None:
            return failure
        if method == "auth.test":
            body = {"ok": True, "user_id": BOT_USER_ID, "team_id": TEAM_ID, "bot_id": "B0LOCAL"}
            body |= {"team": "local", "user": "backupbot"}
            return 200, {}, body
        if method == "users.info":
            user = args.get("user")
            profile = {"email": self.emails[user]} if user in self.emails else {}
            return 200, {}, {"ok": True, "user": {"id": user, "profile": profile}}
        if method in ("chat.postMessage", "chat.update"):
            return 200, {}, {"ok": True, "channel": args.get("channel"), "ts": ts}
        return 200, {}, {"ok": True}

    @contextmanager
    def serving(self, host: str = "127.0.0.1") -> Iterator["LocalSlack"]:
        """Serve on a free loopback port (`self.url`) until the block ends."""
        server = ThreadingHTTPServer((host, 0), _handler(self))
        server.daemon_threads = True
        self.url = f"http://{host}:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, name="local-slack", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def _handler(slack: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                args = json.loads(raw) if raw else {}
            else:  # the Web API's form encoding: structured arguments arrive as JSON strings
                args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
            method = self.path.lstrip("/").removeprefix("api/").split("?")[0]
            status, headers, body = slack.answer(method, args)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            """Quiet: every call is recorded in `LocalSlack.calls` instead."""

    return Handler


@dataclass
class SlackUser:
    """A person's Slack client: slash commands and button clicks, signed as Slack signs them."""

    user_id: str
    app_url: str  # where the app serves POST /slack/events
    slack: LocalSlack
    signing_secret: str
    http: httpx.Client
    channel: str = "C0CHAT"  # the channel the person types in
    team_id: str = TEAM_ID

    def command(self, text: str, command: str = "/backup") -> str:
        """Send `<command> <text>`; the name under which its answers are recorded."""
        respond, name = self.slack.response_url()
        form = {
            "token": "unused", "team_id": self.team_id, "team_domain": "local",
            "channel_id": self.channel, "channel_name": "ops", "user_id": self.user_id,
            "user_name": self.user_id.lower(), "command": command, "text": text,
            "api_app_id": "A0LOCAL", "response_url": respond, "trigger_id": "1.2.3",
        }  # fmt: skip
        self._post(urllib.parse.urlencode(form).encode())
        return name

    def click(self, action_id: str, value: str, channel: str, ts: str, text: str = "") -> str:
        """Press a button of the message `ts` in `channel`; the name its answers go under."""
        respond, name = self.slack.response_url()
        payload = {
            "type": "block_actions", "team": {"id": self.team_id}, "user": {"id": self.user_id},
            "api_app_id": "A0LOCAL", "trigger_id": "1.2.3", "response_url": respond,
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": ts},
            "message": {"ts": ts, "text": text},
            "actions": [{"type": "button", "action_id": action_id, "value": value,
                         "block_id": "b", "action_ts": "1"}],
        }  # fmt: skip
        self._post(urllib.parse.urlencode({"payload": json.dumps(payload)}).encode())
        return name

    def _post(self, body: bytes) -> None:
        answer = post_signed(self.http, self.app_url, body, self.signing_secret)
        if answer.status_code != 200:
            raise RuntimeError(f"the app answered {answer.status_code}: {answer.text[:200]}")


def post_signed(
    http: httpx.Client,
    url: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST `body` to the app's events URL with Slack's headers, signed with `secret` (or with
    the given, perhaps wrong, `signature` and `timestamp`)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    if signature is None:
        signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
        assert signature is not None  # None only without a secret
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    return http.post(url, content=body, headers=headers)
