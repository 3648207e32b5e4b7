"""The /backup command over HTTP, signed as Slack signs it."""

import json
import re
import time
import urllib.parse
from datetime import timedelta

from bot.blocks import check_message
from policy.statuses import BackupStatus
from storage.catalog import finish_backup, queue_backup, start_backup
from storage.models import Backup
from storage.restores import queue_restore


def test_help_answers_with_every_subcommand(bot):
    reply = bot.command("U_ERIN", "help")
    assert "/backup now <site>" in str(reply["blocks"])
    assert check_message(reply) == []
    assert reply["response_type"] == "ephemeral"


def test_a_typo_gets_the_usage_line(bot):
    reply = bot.command("U_ALICE", "nwo acme-jira")
    assert "/backup" in reply["text"]
    assert check_message(reply) == []


def test_a_bad_signature_is_refused_with_401_and_nothing_is_sent_to_slack(bot):
    body = urllib.parse.urlencode(
        {
            "command": "/backup",
            "text": "now acme-jira",
            "user_id": "U_ALICE",
            "response_url": "http://127.0.0.1:9/x",
        }
    ).encode()
    assert bot.post(body, signature="v0=" + "0" * 64).status_code == 401
    stamp = int(time.time()) - 600
    assert bot.post(body, timestamp=stamp).status_code == 401  # stale
    altered = body.replace(b"acme-jira", b"spare-jira")
    assert bot.post(altered, signature=bot.sign(body, int(time.time()))).status_code == 401
    future = int(time.time()) + 600
    assert bot.post(body, timestamp=future).status_code == 401
    time.sleep(0.3)
    assert bot.slack.calls == []


def test_backup_now_answers_at_once_and_the_notice_follows(bot):
    reply = bot.command("U_ALICE", "now acme-jira")
    assert "queued" in reply["text"]
    notice = bot.slack.wait_for("chat.postMessage", lambda a: "Completed" in a.get("text", ""))
    assert notice["channel"] == "C0NOTIFY"
    assert check_message(notice) == []


def test_the_completion_notice_has_counts_sizes_expiry_and_objectives(bot):
    backup_id = bot.backed_up("acme-wiki")
    notice = bot.slack.wait_for("chat.postMessage", lambda a: backup_id in a.get("text", ""))
    text = str(notice["blocks"])
    facts = ("acme-wiki", "Completed", "pages", "data ", "attachments", "managed",
             "expires in 13 d 23 h", "Atlassian's reference objective", "RTO", "RPO")  # fmt: skip
    for fact in facts:
        assert fact in text, fact


def test_list_and_status_show_status_size_age_and_countdown(bot):
    backup_id = bot.backed_up()
    listed = str(bot.command("U_CAROL", "list acme-jira")["blocks"])
    assert backup_id in listed and "Completed" in listed and "expires in 13 d 23 h" in listed
    status = str(bot.command("U_DAVE", f"status {backup_id}")["blocks"])
    for fact in ("Completed", "by alice@example.com", "storage `managed`", "issues", "ago"):
        assert fact in status, fact


def test_a_long_list_is_paginated_with_a_more_button(bot):
    now = bot.context.clock()
    with bot.context.sessions.begin() as session:
        for n in range(20):
            row = queue_backup(session, "acme-wiki", "managed", now - timedelta(hours=n), None)
            start_backup(session, row, now)
            finish_backup(session, row, now, status=BackupStatus.COMPLETED, data_bytes=n,
                          attachment_bytes=0, item_counts={"pages": n}, error=None)  # fmt: skip
    first = bot.command("U_ALICE", "list")
    buttons = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["backups_more"]
    name = bot.click(
        "U_ALICE", "backups_more", buttons[0]["value"], {"channel": "C0CHAT", "ts": "1.1"}
    )
    second = bot.slack.wait_for(name)
    assert "(16–20)" in second["text"]


def test_estimate_labels_atlassians_reference_and_our_own(bot):
    text = str(bot.command("U_ALICE", "estimate jira 70 GB 1 TB")["blocks"])
    assert "Atlassian's reference objective" in text and "more than 12 hours" in text
    assert "This deployment's estimate" in text


def test_cancel_of_a_finished_backup_says_there_is_nothing_to_stop(bot):
    backup_id = bot.backed_up()
    assert "nothing to stop" in bot.command("U_ALICE", f"cancel {backup_id}")["text"]


def test_verify_answers_at_once_and_the_result_follows(bot):
    backup_id = bot.backed_up()
    first = bot.command("U_CAROL", f"verify {backup_id}")
    assert "Verifying" in first["text"]
    # The result goes to the same response_url: the second message posted there.
    result = bot.slack.wait_for(bot.last_response, lambda a: "verified" in a.get("text", ""))
    assert "every SHA-256" in result["text"]


def test_a_restore_preview_changes_nothing_and_comes_back_to_the_asker(bot):
    backup_id = bot.backed_up()
    bot.command("U_ALICE", f"restore {backup_id} to spare-jira preview")
    result = bot.slack.wait_for(bot.last_response, lambda a: "Preview" in a.get("text", ""))
    assert "nothing was changed" in result["text"]
    assert bot.slack.of("chat.postMessage")[-1]["channel"] == "C0NOTIFY"  # no approval posted


def test_text_from_atlassian_cannot_mention_a_channel_or_link(bot):
    backup_id = bot.backed_up()
    with bot.context.sessions.begin() as session:
        row = session.get_one(Backup, backup_id)
        row.error = "<!channel> look at <https://evil.example|this>"
    text = str(bot.command("U_ALICE", f"status {backup_id}")["blocks"])
    assert "<!channel>" not in text and "<https://" not in text
    assert "&lt;!channel&gt;" in text


def test_slack_answering_429_on_post_message_is_waited_out_and_the_notice_arrives(bot):
    bot.slack.fail_next(
        "chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": "1"}
    )
    backup_id = bot.backed_up()
    for _ in range(500):
        posts = [
            c
            for c in bot.slack.calls
            if c.method == "chat.postMessage" and backup_id in c.args.get("text", "")
        ]
        if len(posts) == 2:
            break
        time.sleep(0.02)
    refused, delivered = posts  # the same message again, once Retry-After had passed
    assert delivered.args["text"] == refused.args["text"]
    assert delivered.at - refused.at >= 0.9


def test_app_home_shows_exposure_restorable_backups_and_pending_approvals(bot):
    backup_id = bot.backed_up()
    event = {
        "token": "x", "team_id": "T0TEAM", "api_app_id": "A1", "type": "event_callback",
        "event_id": "Ev1", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": "U_BOB", "channel": "D1", "tab": "home"},
    }  # fmt: skip
    body = json.dumps(event).encode()
    answer = bot.http.post(
        f"{bot.url}/slack/events",
        content=body,
        headers={"Content-Type": "application/json",
                 "X-Slack-Request-Timestamp": str(int(time.time())),
                 "X-Slack-Signature": bot.sign(body, int(time.time()))},
    )  # fmt: skip
    assert answer.status_code == 200
    view = bot.slack.wait_for("views.publish")
    assert view["user_id"] == "U_BOB"
    shown = str(view["view"]["blocks"])
    assert backup_id in shown and "of changes would be lost" in shown
    assert "Waiting for approval" in shown


def test_healthz_answers_for_load_balancers(bot):
    answer = bot.http.get(f"{bot.url}/healthz")
    assert answer.status_code == 200 and answer.text == "ok\n"


def test_sites_lists_every_configured_site_with_its_app_and_storage(bot):
    text = str(bot.command("U_DAVE", "sites")["blocks"])
    for site in ("acme-jira", "acme-wiki", "spare-jira", "spare-wiki"):
        assert f"`{site}`" in text
    assert "Confluence" in text and "storage `managed`" in text


def test_estimate_of_a_site_uses_its_last_backup(bot):
    assert "no finished backup yet" in bot.command("U_ALICE", "estimate acme-wiki")["text"]
    backup_id = bot.backed_up("acme-wiki")
    text = str(bot.command("U_ALICE", "estimate acme-wiki")["blocks"])
    assert f"sizes of {backup_id}" in text and "Atlassian's reference objective" in text


def test_approvals_lists_the_requests_waiting(bot):
    assert "No restore request" in bot.command("U_ALICE", "approvals")["text"]
    backup_id = bot.backed_up()
    request = re.search(r"rr-[a-z0-9]+", bot.command("U_ALICE", f"restore {backup_id}")["text"])
    listed = str(bot.command("U_DAVE", "approvals")["blocks"])
    assert request.group(0) in listed and "asked by alice@example.com" in listed


def test_cancel_of_a_queued_backup_cancels_it_before_it_starts(bot):
    with bot.context.sessions.begin() as session:
        queued = queue_backup(session, "acme-jira", "managed", bot.context.clock(), None)
        backup_id = queued.id
    assert "cancelled before it started" in bot.command("U_BOB", f"cancel {backup_id}")["text"]
    with bot.context.sessions() as session:
        assert session.get_one(Backup, backup_id).status is BackupStatus.CANCELLED


def test_a_site_being_restored_into_is_not_backed_up_until_the_restore_ends(bot):
    with bot.context.sessions.begin() as session:
        restore = queue_restore(
            session, bot.backed_up(), "acme-jira", bot.context.clock(), scope=None,
            requested_by="alice@example.com",
        )  # fmt: skip
        restore_id = restore.id
    text = bot.command("U_ALICE", "now acme-jira")["text"]
    assert f"the restore {restore_id} into acme-jira is under way" in text
