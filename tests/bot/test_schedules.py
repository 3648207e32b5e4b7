"""Schedules from Slack: made, listed with their next run, fired once per slot, removed."""

import re
import shutil
from datetime import timedelta
from pathlib import Path

from policy.statuses import BackupStatus
from storage.catalog import finish_backup, queue_backup, start_backup
from storage.models import Backup, Schedule, ScheduleRun


def schedule_id(reply):
    return re.search(r"sc-[a-z0-9]+", reply["text"]).group(0)


def test_a_daily_schedule_answers_with_its_next_run_in_its_zone_and_in_utc(bot):
    reply = bot.command("U_ALICE", "schedule acme-jira daily at 02:30 tz Europe/Berlin")
    text = str(reply["blocks"])
    assert re.search(
        r"next run \d{4}-\d\d-\d\d 02:30 Europe/Berlin \(\d{4}-\d\d-\d\d 0[01]:30 UTC\)", text
    )
    listed = str(bot.command("U_CAROL", "schedules acme-jira")["blocks"])
    assert schedule_id(reply) in listed and "daily at 02:30 Europe/Berlin" in listed


def test_a_once_schedule_in_the_past_is_refused_with_what_to_do(bot):
    text = bot.command("U_ALICE", "schedule acme-jira once on 2020-01-01 at 10:00")["text"]
    assert "in the past" in text and "/backup now" in text


def test_a_schedule_needs_both_roles(bot):
    assert ":no_entry:" in bot.command("U_CAROL", "schedule acme-jira daily at 02:00")["text"]


def test_a_scheduled_run_backs_up_once_per_slot_even_when_fired_twice(bot):
    reply = bot.command("U_ALICE", "schedule acme-wiki daily at 03:00 tz UTC")
    sid = schedule_id(reply)
    runner = bot.deployment.services.runner
    planned = runner.schedules.next_run_of(sid)
    # Fire the same slot twice, as a restart or a second process could.
    runner.schedules._fire(sid, planned.isoformat())
    runner.schedules._fire(sid, planned.isoformat())
    with bot.context.sessions() as session:
        runs = session.query(ScheduleRun).filter_by(schedule_id=sid).all()
        backups = session.query(Backup).filter_by(schedule_id=sid).all()
        assert [r.slot for r in runs] == [planned.date().isoformat()]
        assert len(backups) == 1 and backups[0].status is BackupStatus.COMPLETED
    assert runner.schedules.next_run_of(sid) == planned + timedelta(days=1)
    notice = bot.slack.wait_for("chat.postMessage", lambda a: backups[0].id in a.get("text", ""))
    assert "Completed" in notice["text"]


def test_unschedule_removes_the_schedule_and_its_planned_run(bot):
    sid = schedule_id(bot.command("U_ALICE", "schedule acme-jira weekly on sun at 23:00"))
    assert "removed" in bot.command("U_BOB", f"unschedule {sid}")["text"]
    assert bot.deployment.services.runner.schedules.next_run_of(sid) is None
    assert "No schedule yet" in bot.command("U_ALICE", "schedules")["text"]


def test_daily_is_refused_for_a_jira_site_beyond_atlassians_rpo_row(bot):
    now = bot.context.clock()
    with bot.context.sessions.begin() as session:
        row = queue_backup(session, "acme-jira", "managed", now - timedelta(days=1), None)
        start_backup(session, row, now - timedelta(days=1))
        finish_backup(
            session,
            row,
            now - timedelta(hours=20),
            status=BackupStatus.COMPLETED,
            data_bytes=241 * 10**9,
            attachment_bytes=0,
            item_counts={},
            error=None,
        )
    text = bot.command("U_ALICE", "schedule acme-jira daily at 02:00")["text"]
    assert "daily backup isn't available for this size" in text and "weekly" in text
    assert "sc-" in bot.command("U_ALICE", "schedule acme-jira weekly on sat at 02:00")["text"]


def test_a_failed_scheduled_backup_is_retried_in_30_minutes_and_the_notice_says_so(bot):
    store = Path(bot.context.config.storage["managed"].path)
    shutil.rmtree(store, ignore_errors=True)
    store.write_text("not a folder: every write fails")
    sid = schedule_id(bot.command("U_ALICE", "schedule acme-wiki daily at 04:00 tz UTC"))
    runner = bot.deployment.services.runner
    planned = runner.schedules.next_run_of(sid)
    before = bot.context.clock()
    runner.schedules._fire(sid, planned.isoformat())
    notice = bot.slack.wait_for("chat.postMessage", lambda a: "Failed" in a.get("text", ""))
    assert "Next automatic retry" in str(notice["blocks"]) and "attempt 2 of 4" in str(
        notice["blocks"]
    )
    retry = runner.scheduler.get_job(f"retry:{sid}:{planned.date().isoformat()}")
    assert list(retry.args) == [sid, planned.date().isoformat(), 2, "retry"]
    assert timedelta(minutes=29) < retry.next_run_time - before <= timedelta(minutes=31)


def test_a_slot_missed_while_the_bot_was_down_runs_once_at_start_up(bot):
    sid = schedule_id(bot.command("U_ALICE", "schedule acme-wiki daily at 00:00 tz UTC"))
    with bot.context.sessions.begin() as session:  # as if made two days ago, never run since
        session.get_one(Schedule, sid).created_at -= timedelta(days=2)
    runner = bot.deployment.services.runner
    runner.start()  # what a restart does: plan every schedule, then catch up
    runner.start()  # and a second start-up finds the slot claimed
    notice = bot.slack.wait_for(
        "chat.postMessage", lambda a: "Completed" in a.get("text", "") and "acme-wiki" in a["text"]
    )
    with bot.context.sessions() as session:
        backups = session.query(Backup).filter_by(schedule_id=sid).all()
    assert len(backups) == 1 and backups[0].id in notice["text"]
    slot = bot.context.clock().date().isoformat()
    assert backups[0].slot == slot
    assert f"{sid}, slot {slot}: a catch-up" in str(notice["blocks"])


def test_an_expiry_warning_is_posted_to_the_sites_channel(bot):
    backup_id = bot.backed_up("acme-wiki")
    with bot.context.sessions.begin() as session:
        row = session.get_one(Backup, backup_id)
        row.expires_at = bot.context.clock() + timedelta(hours=23)
    bot.deployment.services.runner._maintain()
    warning = bot.slack.wait_for(
        "chat.postMessage", lambda a: ":hourglass:" in a.get("text", "") and backup_id in a["text"]
    )
    assert warning["channel"] == "C0NOTIFY"
    assert "newest restorable backup of `acme-wiki`" in warning["text"]
