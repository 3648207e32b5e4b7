"""Posting to channels: one message per second per channel, retried, never lost silently."""

import logging

from bot.app import web_client
from bot.notifier import Notifier


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def notifier(fake_slack, clock):
    client = web_client("xoxb-x", f"{fake_slack.url}/api/")
    return Notifier(client, clock=clock.time, sleep=clock.sleep, retry_pause=2.0)


def test_messages_to_one_channel_leave_at_most_one_a_second(fake_slack):
    clock = Clock()
    posts = notifier(fake_slack, clock)
    posts.start()
    for n in range(3):
        posts.post("C1", {"text": f"message {n}"})
    posts.post("C2", {"text": "another channel"})
    posts.flush()
    posts.stop()
    assert [a["text"] for a in fake_slack.of("chat.postMessage")] == [
        "message 0", "message 1", "message 2", "another channel",
    ]  # fmt: skip
    assert clock.sleeps == [1.0, 1.0]  # C2 did not wait for C1


def test_a_post_slack_keeps_failing_is_retried_then_logged_with_its_text(fake_slack, caplog):
    for _ in range(4):
        fake_slack.fail_next("chat.postMessage", 200, {"ok": False, "error": "internal_error"})
    clock = Clock()
    posts = notifier(fake_slack, clock)
    posts.start()
    with caplog.at_level(logging.ERROR, logger="bot.notifier"):
        posts.post("C1", {"text": "backup bk-abc123 Completed"})
        posts.flush()
    posts.stop()
    assert len(fake_slack.of("chat.postMessage")) == 4
    assert "backup bk-abc123 Completed" in caplog.text and "4 attempt(s)" in caplog.text


def test_a_post_that_fails_once_is_delivered_by_the_retry(fake_slack):
    fake_slack.fail_next("chat.postMessage", 200, {"ok": False, "error": "internal_error"})
    clock = Clock()
    posts = notifier(fake_slack, clock)
    posts.start()
    posts.post("C1", {"text": "hello"})
    posts.flush()
    posts.stop()
    assert len(fake_slack.of("chat.postMessage")) == 2
    assert 2.0 in clock.sleeps
