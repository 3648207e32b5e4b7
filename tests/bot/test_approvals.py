"""Two-person restore approval, driven through the app exactly as Slack drives it."""

import re
import threading
from datetime import timedelta

from bot.blocks import check_message
from bot.identity import config_roles
from policy.statuses import RestoreRequestStatus, RestoreStatus
from settings.schema import ConfigRoles
from storage.models import Restore, RestoreRequest

APPROVE = "restore_approve"
REJECT = "restore_reject"


def requested(bot, backup_id, target="spare-jira", user="U_ALICE"):
    reply = bot.command(user, f"restore {backup_id} to {target}")
    request_id = re.search(r"rr-[a-z0-9]+", reply["text"]).group(0)
    message = bot.slack.wait_for(
        "chat.postMessage",
        lambda a: a.get("channel") == "C0APPROVE" and request_id in a.get("text", ""),
    )
    return request_id, {**message, "ts": ts_of(bot, request_id)}


def ts_of(bot, request_id):
    def stored():
        with bot.context.sessions() as session:
            return session.get_one(RestoreRequest, request_id).slack_ts

    for _ in range(200):
        if stored():
            return stored()
        threading.Event().wait(0.02)
    raise AssertionError("the approval message's ts was never stored")


def request_row(bot, request_id):
    with bot.context.sessions() as session:
        return session.get_one(RestoreRequest, request_id)


def answered(bot, name):
    return bot.slack.wait_for(name)["text"]


def test_full_scenario_backup_request_refused_self_approval_second_admin_restores(bot):
    backup_id = bot.backed_up()
    request_id, message = requested(bot, backup_id)
    assert check_message(message) == []
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (APPROVE, request_id),
        (REJECT, request_id),
    ]
    assert "confirm" in buttons[0]
    shown = str(message["blocks"])
    for fact in (backup_id, "spare-jira", "alice@example.com", "Preview", "RTO", "lapses"):
        assert fact in shown

    assert "yourself" in answered(bot, bot.click("U_ALICE", APPROVE, request_id, message))
    assert "yourself" in answered(bot, bot.click("U_ALICE2", APPROVE, request_id, message))
    assert "organization admin" in answered(bot, bot.click("U_CAROL", APPROVE, request_id, message))
    assert request_row(bot, request_id).status is RestoreRequestStatus.PENDING

    bot.click("U_BOB", APPROVE, request_id, message)
    update = bot.slack.wait_for("chat.update", lambda a: "Approved" in a.get("text", ""))
    assert update["ts"] == message["ts"]
    assert not any(b["type"] == "actions" for b in update["blocks"])
    done = bot.slack.wait_for(
        "chat.postMessage",
        lambda a: a.get("thread_ts") == message["ts"] and "Completed" in a.get("text", ""),
        timeout=120,
    )
    assert "Verification" in str(done["blocks"])
    assert check_message(done) == []
    with bot.context.sessions() as session:
        assert session.get_one(Restore, request_id).status is RestoreStatus.COMPLETED
    assert request_row(bot, request_id).approver == "bob@example.com"


def test_simultaneous_approvals_start_exactly_one_restore(bot):
    backup_id = bot.backed_up()
    request_id, message = requested(bot, backup_id)
    clicks = [
        threading.Thread(target=bot.click, args=(user, APPROVE, request_id, message))
        for user in ("U_BOB", "U_DAVE", "U_BOB", "U_BOB")
    ]
    # U_DAVE is no Jira admin: refused; the three clicks by Bob race each other.
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    bot.slack.wait_for(
        "chat.postMessage",
        lambda a: (
            a.get("thread_ts") == message["ts"]
            and "Restore" in a.get("text", "")
            and ("Completed" in a["text"] or "Incomplete" in a["text"])
        ),
        timeout=120,
    )
    starts = [
        a for a in bot.slack.of("chat.postMessage") if "the restore starts now" in a.get("text", "")
    ]
    assert len(starts) == 1


def test_a_rejected_request_cannot_be_approved_afterwards(bot):
    backup_id = bot.backed_up()
    request_id, message = requested(bot, backup_id)
    bot.click("U_BOB", REJECT, request_id, message)
    bot.slack.wait_for("chat.update", lambda a: "Rejected" in a.get("text", ""))
    late = bot.click("U_BOB", APPROVE, request_id, message)
    assert "already decided" in answered(bot, late)
    assert request_row(bot, request_id).status is RestoreRequestStatus.REJECTED


def test_a_withdrawn_request_cannot_be_approved(bot):
    backup_id = bot.backed_up()
    request_id, message = requested(bot, backup_id)
    assert "withdrawn" in bot.command("U_ALICE", f"cancel {request_id}")["text"]
    assert "already decided" in answered(bot, bot.click("U_BOB", APPROVE, request_id, message))


def test_an_expired_request_cannot_be_approved(bot):
    backup_id = bot.backed_up()
    request_id, message = requested(bot, backup_id)
    with bot.context.sessions.begin() as session:
        row = session.get_one(RestoreRequest, request_id)
        row.expires_at = row.created_at + timedelta(seconds=1)
    bot_clock_later = row.created_at + timedelta(minutes=1)
    assert bot_clock_later  # the real clock is already past a 1-second expiry
    threading.Event().wait(1.1)
    assert "expired" in answered(bot, bot.click("U_BOB", APPROVE, request_id, message))
    assert request_row(bot, request_id).status is RestoreRequestStatus.EXPIRED


def test_an_approver_who_has_lost_a_role_since_is_refused(bot):
    backup_id = bot.backed_up()
    request_id, message = requested(bot, backup_id)
    identities = bot.deployment.services.identities
    without_jira = ConfigRoles.model_validate(
        {"source": "config", "org_admins": ["bob@example.com"], "app_admins": {"jira": []}}
    )
    identities._roles_of.source = config_roles(without_jira)  # Bob is no Jira admin any more
    identities.forget()
    assert "not a Jira admin" in answered(bot, bot.click("U_BOB", APPROVE, request_id, message))
    assert request_row(bot, request_id).status is RestoreRequestStatus.PENDING


def test_maintenance_expires_a_lapsed_request_and_its_message_loses_its_buttons(bot):
    backup_id = bot.backed_up()
    request_id, message = requested(bot, backup_id)
    with bot.context.sessions.begin() as session:
        row = session.get_one(RestoreRequest, request_id)
        row.expires_at = row.created_at + timedelta(seconds=1)
    threading.Event().wait(1.1)
    bot.deployment.services.runner._maintain()
    update = bot.slack.wait_for("chat.update", lambda a: "Expired" in a.get("text", ""))
    assert update["ts"] == message["ts"]
    assert not any(b["type"] == "actions" for b in update["blocks"])
    assert request_row(bot, request_id).status is RestoreRequestStatus.EXPIRED
