"""A deployment's life over weeks, in simulated time: schedules fire through the runner, backups
expire, warnings go out, failed runs are retried, daylight-saving changes pass, the process
stops and starts again. Nothing sleeps: the runner's one clock is moved (`Simulation`)."""

import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from policy.frequency import Frequency
from policy.retention import is_restorable
from policy.schedules import RunReason
from policy.statuses import BackupStatus
from sandbox.data import SiteData
from storage import schedules
from storage.models import AuditEntry, Backup, ScheduleRun
from storage.snapshot import backup_folder

HOUR = timedelta(hours=1)
MARCH_1 = datetime(2026, 3, 1, tzinfo=UTC)


def small_site(deployment):
    return deployment(SiteData.generate(7, projects=1, issues=4, spaces=1, pages=3))


def daily(sim, at: time, zone: str = "UTC", site: str = "sb-jira") -> str:
    """A daily schedule made now, as `/backup schedule` makes it."""
    with sim.context.sessions.begin() as session:
        row = schedules.create_schedule(
            session, sim.clock(), site=site, storage="managed", frequency=Frequency.DAILY,
            at=at, zone=zone, on=None, weekday=None, created_by="alice@example.com",
        )  # fmt: skip
        schedule_id = row.id
    sim.runner.schedules.arm(schedule_id)
    return schedule_id


def backups(sim) -> list[Backup]:
    with sim.context.sessions() as session:
        rows = session.query(Backup).order_by(Backup.created_at).all()
        session.expunge_all()
        return rows


def restorable(sim) -> list[Backup]:
    return [b for b in backups(sim) if is_restorable(b.status, b.expires_at, sim.clock())]


def runs(sim, schedule_id) -> list[tuple[str, int, RunReason, datetime]]:
    with sim.context.sessions() as session:
        return [
            (r.slot, r.attempt, r.reason, r.created_at)
            for r in session.query(ScheduleRun)
            .filter_by(schedule_id=schedule_id)
            .order_by(ScheduleRun.id)
        ]


def break_storage(site) -> Path:
    """Every write to managed storage fails from now on (its folder becomes a file)."""
    folder = Path(site.context.config.storage["managed"].path)
    shutil.rmtree(folder, ignore_errors=True)
    folder.write_text("not a folder: every write fails")
    return folder


def test_a_daily_schedule_keeps_14_restorable_backups_and_the_first_expires_on_the_15th(
    deployment, simulation
):
    site = small_site(deployment)
    sim = simulation(site, MARCH_1)
    schedule_id = daily(sim, time(2, 30))

    sim.every(HOUR, datetime(2026, 3, 14, 23, 59, tzinfo=UTC))
    held = restorable(sim)
    assert len(held) == 14
    assert [b.created_at.day for b in held] == list(range(1, 15))
    first = held[0]
    assert first.expires_at == datetime(2026, 3, 15, 2, 30, tzinfo=UTC)

    sim.advance(first.expires_at - timedelta(seconds=1))
    assert first.id in {b.id for b in restorable(sim)}
    sim.advance(datetime(2026, 3, 15, 3, 0, tzinfo=UTC))
    assert [b.status for b in backups(sim) if b.id == first.id] == [BackupStatus.EXPIRED]
    assert list(site.store().list(backup_folder("sb-jira", first.id))) == []
    assert [b.created_at.day for b in restorable(sim)] == list(range(2, 16))

    # one run per day, each the slot's first and only attempt, at 02:30 sharp
    assert [(slot, attempt, reason) for slot, attempt, reason, _ in runs(sim, schedule_id)] == [
        (f"2026-03-{day:02d}", 1, RunReason.SCHEDULED) for day in range(1, 16)
    ]
    assert {at.time() for *_, at in runs(sim, schedule_id)} == {time(2, 30)}
    assert sim.events.warnings == []  # a fresh backup every day: nothing is about to be lost


def test_when_runs_keep_failing_the_last_good_backup_is_warned_about_once_per_lead_loudly(
    deployment, simulation
):
    site = small_site(deployment)
    sim = simulation(site, MARCH_1)
    schedule_id = daily(sim, time(2, 30))
    sim.every(HOUR, datetime(2026, 3, 3, 12, tzinfo=UTC))  # three good backups
    last_good = restorable(sim)[-1]
    break_storage(site)

    sim.every(HOUR, datetime(2026, 3, 18, tzinfo=UTC))

    warned = [(w.backup_id, w.lead_hours, w.last_run_failed) for w in sim.events.warnings]
    assert warned == [(last_good.id, 72, True), (last_good.id, 24, True)]
    with sim.context.sessions() as session:  # each sent by the first pass after its lead time
        sent = session.query(AuditEntry).filter_by(action="expiry warning", outcome="sent").all()
        early = [last_good.expires_at - e.at for e in sent]
    assert len(early) == 2
    assert timedelta(hours=71) < early[0] <= timedelta(hours=72)
    assert timedelta(hours=23) < early[1] <= timedelta(hours=24)
    # every failed slot was tried four times, 30 minutes apart, and no more
    failed = [r for r in runs(sim, schedule_id) if r[0] >= "2026-03-04"]
    assert {slot for slot, *_ in failed} == {f"2026-03-{day:02d}" for day in range(4, 18)}
    day_4 = [(attempt, reason, at.time()) for slot, attempt, reason, at in failed
             if slot == "2026-03-04"]  # fmt: skip
    assert day_4 == [
        (1, RunReason.SCHEDULED, time(2, 30)),
        (2, RunReason.RETRY, time(3, 0)),
        (3, RunReason.RETRY, time(3, 30)),
        (4, RunReason.RETRY, time(4, 0)),
    ]
    assert all(attempt <= 4 for _, attempt, *_ in failed)
    assert restorable(sim) == []  # what the warnings were about


def test_a_daily_0230_schedule_in_berlin_runs_exactly_once_on_both_daylight_saving_days(
    deployment, simulation
):
    site = small_site(deployment)
    for first_day, expected in [
        # 29 March: 02:30 does not exist (02:00 CET jumps to 03:00 CEST); it runs at 03:30 CEST
        (datetime(2026, 3, 28, tzinfo=UTC), ["01:30", "01:30", "00:30"]),
        # 25 October: 02:30 happens twice (03:00 CEST falls back to 02:00 CET); the first runs
        (datetime(2026, 10, 24, tzinfo=UTC), ["00:30", "00:30", "01:30"]),
    ]:
        sim = simulation(site, first_day - 2 * HOUR)
        schedule_id = daily(sim, time(2, 30), zone="Europe/Berlin")
        sim.every(timedelta(minutes=15), first_day + timedelta(days=3) - 2 * HOUR)
        days = [(first_day + timedelta(days=n)).date().isoformat() for n in range(3)]
        ran = runs(sim, schedule_id)
        assert [(slot, attempt) for slot, attempt, *_ in ran] == [(day, 1) for day in days]
        assert [at.strftime("%H:%M") for *_, at in ran] == expected  # UTC
        sim.close()


def test_after_downtime_a_schedule_catches_up_its_newest_missed_slot_once(deployment, simulation):
    site = small_site(deployment)
    before = simulation(site, MARCH_1)
    schedule_id = daily(before, time(2, 30))
    before.every(HOUR, datetime(2026, 3, 2, 12, tzinfo=UTC))
    before.close()  # down from the 2nd at noon: the 3rd, 4th and 5th go by

    after = simulation(site, datetime(2026, 3, 5, 12, tzinfo=UTC))
    after.runner.start()  # a second start-up finds the catch-up planned, and claims nothing more
    after.every(HOUR, datetime(2026, 3, 6, 12, tzinfo=UTC))

    assert [(slot, reason) for slot, _, reason, _ in runs(after, schedule_id)] == [
        ("2026-03-01", RunReason.SCHEDULED),
        ("2026-03-02", RunReason.SCHEDULED),
        ("2026-03-05", RunReason.CATCH_UP),  # once, at start-up, for the three missed slots
        ("2026-03-06", RunReason.SCHEDULED),
    ]
    caught_up = runs(after, schedule_id)[2]
    assert caught_up[3] == datetime(2026, 3, 5, 12, tzinfo=UTC)
    assert [r.status for r, _ in after.events.finished] == [BackupStatus.COMPLETED] * 2


def test_only_the_lease_holder_plans_schedules_and_a_standby_takes_over_when_it_goes(
    deployment, simulation
):
    site = small_site(deployment)
    first = simulation(site, MARCH_1)
    schedule_id = daily(first, time(2, 30))
    second = simulation(site, MARCH_1)
    assert first.runner.schedules.leading and not second.runner.schedules.leading
    assert second.runner.scheduler.get_job(f"schedule:{schedule_id}") is None
    # a standby still answers when the schedule runs next, by the leader's own rule
    assert second.runner.schedules.next_run_of(schedule_id) == MARCH_1 + timedelta(hours=2.5)

    first.close()  # a clean stop gives the lease up: the standby's next beat takes it
    second.advance(MARCH_1 + timedelta(minutes=1))
    assert second.runner.schedules.leading
    second.advance(datetime(2026, 3, 1, 3, tzinfo=UTC))
    assert [slot for slot, *_ in runs(second, schedule_id)] == ["2026-03-01"]

    # A leader that dies keeps nobody waiting longer than the stale window (3 minutes here).
    third = simulation(site, datetime(2026, 3, 1, 3, tzinfo=UTC))
    assert not third.runner.schedules.leading
    third.advance(datetime(2026, 3, 1, 3, 2, tzinfo=UTC))
    assert not third.runner.schedules.leading  # the holder renewed at 03:00; not stale yet
    third.advance(datetime(2026, 3, 1, 3, 4, tzinfo=UTC))
    assert third.runner.schedules.leading
    # and the old holder, waking up, finds the lease gone and stands down without running
    second.advance(datetime(2026, 3, 1, 3, 5, tzinfo=UTC))
    assert not second.runner.schedules.leading
    assert second.runner.scheduler.get_job(f"schedule:{schedule_id}") is None
