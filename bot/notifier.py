"""Posting to channels: at most one message per second per channel, retried, never lost
silently.

Slack allows about one message a second per channel; bursts (eight backups ending together)
queue here instead of earning 429s. The WebClient itself retries 429s after `Retry-After` and
connection errors (slack_sdk's retry handlers); a post that still fails is retried here a few
times with a growing pause, then logged with the message's text so nothing vanishes unseen.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import Message

logger = logging.getLogger(__name__)

MIN_INTERVAL = 1.0  # seconds between two messages to one channel
ATTEMPTS = 4
RETRY_PAUSE = 2.0  # seconds, doubled after each failed attempt

Delivered = Callable[[str, str], None]  # (channel, ts) of the posted message


@dataclass
class _Post:
    channel: str
    message: Message
    thread_ts: str | None = None
    update_ts: str | None = None  # chat.update of this message instead of a new one
    delivered: Delivered | None = None
    attempt: int = 1


@dataclass
class Notifier:
    client: WebClient
    min_interval: float = MIN_INTERVAL
    retry_pause: float = RETRY_PAUSE
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _queue: "queue.Queue[_Post | None]" = field(default_factory=queue.Queue)
    _last: dict[str, float] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Send what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        delivered: Delivered | None = None,
    ) -> None:
        self._queue.put(_Post(channel, message, thread_ts, None, delivered))

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._queue.put(_Post(channel, message, update_ts=ts))

    def flush(self) -> None:
        """Wait until every queued message is sent or given up (tests, shutdown)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            post = self._queue.get()
            try:
                if post is None:
                    return
                self._send(post)
            finally:
                self._queue.task_done()

    def _send(self, post: _Post) -> None:
        while True:
            wait = self._last.get(post.channel, -1e9) + self.min_interval - self.clock()
            if wait > 0:
                self.sleep(wait)
            self._last[post.channel] = self.clock()
            try:
                answer = self._call(post)
            except SlackApiError as error:
                reason = error.response.get("error") if error.response else str(error)
                if post.attempt >= ATTEMPTS or reason in _PERMANENT:
                    logger.error(
                        "could not post to %s after %d attempt(s) (%s); the message was: %s",
                        post.channel, post.attempt, reason, post.message.get("text"),
                    )  # fmt: skip
                    return
            except OSError as error:
                if post.attempt >= ATTEMPTS:
                    logger.error(
                        "could not post to %s (%s); the message was: %s",
                        post.channel, error, post.message.get("text"),
                    )  # fmt: skip
                    return
            else:
                if post.delivered is not None:
                    post.delivered(str(answer.get("channel") or post.channel), str(answer["ts"]))
                return
            logger.warning(
                "posting to %s failed; attempt %d of %d", post.channel, post.attempt, ATTEMPTS
            )
            self.sleep(self.retry_pause * 2 ** (post.attempt - 1))
            post.attempt += 1

    def _call(self, post: _Post) -> Any:
        if post.update_ts is not None:
            return self.client.chat_update(channel=post.channel, ts=post.update_ts, **post.message)
        return self.client.chat_postMessage(
            channel=post.channel, thread_ts=post.thread_ts, **post.message
        )


# Answers no retry can change: the channel or the bot's access is wrong.
_PERMANENT = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
     "missing_scope", "msg_too_long", "invalid_blocks", "message_not_found", "cant_update_message"}
)  # fmt: skip
