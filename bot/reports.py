"""What the bot posts when background work ends: backup notices, verify results, restore
previews, progress and outcomes (the runner's `RunnerEvents`, rendered and posted)."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from bot.blocks import render
from bot.notifier import Notifier
from commands.approvals import request_message
from commands.markup import countdown, duration, escape, format_size, instant, span
from commands.replies import Reply
from jobs import backup, restore
from jobs.context import JobContext
from jobs.maintenance import ExpiryWarning, SweepReport
from jobs.runner import Preview, RestoreOutcome
from policy.objectives import reference_objectives
from policy.schedules import MAX_ATTEMPTS, RunReason
from policy.statuses import BackupStatus, RestoreStatus
from settings.schema import Config
from storage import restore_requests
from storage.models import Backup, RestoreRequest, ScheduleRun
from storage.snapshot import VerifyReport

FollowUp = Callable[[Reply], None]  # a message back to the person who asked


def notifications_channel(config: Config, site: str | None) -> str | None:
    """Where news of `site` goes: its own channel, else the notifications channel."""
    if site is not None and site in config.sites and config.sites[site].channel:
        return config.sites[site].channel
    return config.channels.notifications if config.channels else None


def approvals_channel(config: Config) -> str | None:
    if config.channels is None:
        return None
    return config.channels.approvals or config.channels.notifications


class Reports:
    def __init__(self, context: JobContext, notifier: Notifier) -> None:
        self.context = context
        self.notifier = notifier

    # --- backups ------------------------------------------------------------------------------

    def backup_finished(self, result: backup.BackupResult, retry_at: datetime | None) -> None:
        with self.context.sessions() as session:
            row = session.get_one(Backup, result.backup_id)
            run = session.scalars(select(ScheduleRun).filter_by(backup_id=row.id)).first()
            reply = backup_notice(row, result, self.context.clock(), retry_at, run)
            site = row.site.name
        channel = notifications_channel(self.context.config, site)
        if channel:
            self.notifier.post(channel, render(reply))

    def verify_finished(
        self, backup_id: str, report: VerifyReport | None, error: str | None, reply: FollowUp
    ) -> None:
        if report is None:
            reply(Reply(f":x: *{backup_id}* could not be verified: {escape(error)}"))
        elif report.ok:
            reply(
                Reply(
                    f":white_check_mark: *{backup_id}* is verified: {report.chunks_checked} "
                    f"chunks and {report.records_checked:,} records; every SHA-256 and the "
                    "manifest's signature match."
                )
            )
        else:
            problems = "\n".join(f"• {escape(p)}" for p in report.problems[:10])
            reply(Reply(f":x: *{backup_id}* is NOT verified", (problems,)))

    # --- restores -----------------------------------------------------------------------------

    def preview_ready(
        self,
        request_id: str | None,
        preview: Preview | None,
        error: str | None,
        reply: FollowUp | None,
    ) -> None:
        if request_id is None:  # `restore ... preview`: back to the person only
            assert reply is not None
            if preview is None:
                reply(Reply(f":x: No preview: {escape(error)}"))
            else:
                reply(preview_reply(preview))
            return
        now = self.context.clock()
        with self.context.sessions() as session:
            request = session.get_one(RestoreRequest, request_id)
            if preview is None:
                message = Reply(
                    f":x: Restore request *{request_id}* cannot go ahead: {escape(error)}",
                    in_channel=True,
                )
            else:
                message = request_message(request, now)
        channel = approvals_channel(self.context.config)
        if channel is None:
            return
        self.notifier.post(
            channel,
            render(message),
            delivered=lambda posted, ts: self._remember(request_id, posted, ts),
        )

    def _remember(self, request_id: str, channel: str, ts: str) -> None:
        with self.context.sessions.begin() as session:
            request = session.get_one(RestoreRequest, request_id)
            restore_requests.attach_message(request, channel, ts)

    def restore_progress(self, request_id: str, progress: restore.Progress) -> None:
        thread = self._thread_of(request_id)
        if thread:
            done, phase = progress.items_done, escape(progress.phase)
            items = "item" if done == 1 else "items"
            text = f":arrows_counterclockwise: {done:,} {items} restored ({phase})"
            self.notifier.post(thread[0], render(Reply(text)), thread_ts=thread[1])

    def restore_finished(self, outcome: RestoreOutcome) -> None:
        reply = restore_notice(outcome)
        thread = self._thread_of(outcome.request_id)
        if thread:
            self.notifier.post(thread[0], render(reply), thread_ts=thread[1])
        with self.context.sessions() as session:
            request = session.get_one(RestoreRequest, outcome.request_id)
            site = request.target_site.name
        channel = notifications_channel(self.context.config, site)
        if channel and (thread is None or channel != thread[0]):
            self.notifier.post(channel, render(reply))

    def swept(self, report: SweepReport) -> None:
        """Expiry warnings go to the site's channel; requests that lapsed have their approval
        messages lose their buttons."""
        now = self.context.clock()
        for warning in report.warnings:
            channel = notifications_channel(self.context.config, warning.site)
            if channel:
                self.notifier.post(channel, render(warning_notice(warning, now)))
        for request_id in report.requests_expired:
            with self.context.sessions() as session:
                request = session.get_one(RestoreRequest, request_id)
                where = (request.slack_channel, request.slack_ts)
                message = request_message(request, now)
            if where[0] and where[1]:
                self.notifier.update(where[0], where[1], render(message))

    def _thread_of(self, request_id: str) -> tuple[str, str] | None:
        with self.context.sessions() as session:
            request = session.get(RestoreRequest, request_id)
            if request is None or not request.slack_channel or not request.slack_ts:
                return None
            return request.slack_channel, request.slack_ts


def scheduled_as(run: ScheduleRun | None) -> str:
    """Which scheduled run a backup was, and why it ran when it did; "" for one on demand."""
    if run is None:
        return ""
    what = f"scheduled run {run.schedule_id}, slot {run.slot}"
    if run.reason is RunReason.CATCH_UP:
        return f"{what}: a catch-up, as no scheduler was running at the slot's time"
    if run.reason is RunReason.RETRY:
        return f"{what}: attempt {run.attempt} of {MAX_ATTEMPTS}"
    return what


def backup_notice(
    row: Backup,
    result: backup.BackupResult,
    now: datetime,
    retry_at: datetime | None = None,
    run: ScheduleRun | None = None,
) -> Reply:
    site, status = row.site.name, result.status
    head = f"*{row.id}* of {span(site)}: *{status}*"
    scheduled = scheduled_as(run)
    if status is BackupStatus.FAILED:
        slot = f" ({scheduled})" if scheduled else ""
        retry = ""
        if retry_at is not None:
            attempt = (row.attempt or 1) + 1
            retry = (
                f" Next automatic retry: {instant(retry_at)} (attempt {attempt} of {MAX_ATTEMPTS})."
            )
        elif row.schedule_id:
            retry = " No retry is left for this slot."
        return Reply(
            f":x: Backup {head}{slot}",
            (f"Reason: {escape(result.error)}.{retry}",),
            in_channel=True,
        )
    if status is BackupStatus.CANCELLED:
        return Reply(f":stop_button: Backup {head}; no partial backup is kept.", in_channel=True)
    took = duration(row.finished_at - row.started_at) if row.finished_at and row.started_at else "?"
    counts = ", ".join(f"{n:,} {k}" for k, n in sorted(result.item_counts.items()))
    reference = reference_objectives(row.site.product, result.data_bytes, result.attachment_bytes)
    lines = [
        f"{sum(result.item_counts.values()):,} items: {counts}",
        f"data {format_size(result.data_bytes)}, "
        f"attachments {format_size(result.attachment_bytes)} "
        f"({row.storage_location.name}), in {took}",
        f"{countdown(row.expires_at, now)}",
        f"Atlassian's reference objective: RTO {reference.rto.describe()}, "
        f"RPO {reference.rpo.describe()}",
    ]
    if scheduled:
        lines.append(scheduled[0].upper() + scheduled[1:])
    sections = ["\n".join(escape(line) if i < 2 else line for i, line in enumerate(lines))]
    icon = ":white_check_mark:"
    if status is BackupStatus.INCOMPLETE:
        icon = ":warning:"
        shown = "\n".join(f"• {escape(f)}" for f in result.first_failures)
        sections.append(
            f"{result.failed_items:,} item(s) could not be backed up; the first:\n{shown}"
        )
    return Reply(f"{icon} Backup {head}", tuple(sections), in_channel=True)


def warning_notice(warning: ExpiryWarning, now: datetime) -> Reply:
    site, backup_id = span(warning.site), warning.backup_id
    head = f"Backup *{backup_id}* of {site} {countdown(warning.expires_at, now)}"
    if warning.last_run_failed:
        return Reply(
            f":rotating_light: {head}, and the newest backup of {site} *Failed*",
            (
                f"When {backup_id} expires, nothing of {site} will be restorable. "
                f"Back it up now: `/backup now {warning.site}`.",
            ),
            in_channel=True,
        )
    return Reply(
        f":hourglass: {head}: it is the newest restorable backup of {site}.", in_channel=True
    )


def preview_reply(preview: Preview) -> Reply:
    summary = preview.summary()
    counts = "\n".join(
        f"{escape(kind)}: "
        + (", ".join(f"{n:,} to {escape(v)}" for v, n in t.items() if n) or "none")
        for kind, t in summary["counts"].items()
    )
    notes = "\n".join(f"• {escape(n)}" for n in summary["notes"][:8]) or "none"
    return Reply(
        f":mag: Preview of restoring *{escape(summary['backup'])}* into {span(summary['to'])} "
        f"({escape(summary['scope'])}); nothing was changed",
        (counts, f"*Conflicts and skips*\n{notes}",
         f"*RTO*: {escape(summary['reference'])}\n{escape(summary['estimate'])}"),
    )  # fmt: skip


def restore_notice(outcome: RestoreOutcome) -> Reply:
    status = outcome.status
    icon = {RestoreStatus.COMPLETED: ":white_check_mark:", RestoreStatus.INCOMPLETE: ":warning:"}
    head = f"{icon.get(status, ':x:')} Restore *{outcome.request_id}*: *{status}*"
    if outcome.result is None:
        return Reply(head, (f"It could not start: {escape(outcome.error)}",), in_channel=True)
    result = outcome.result
    created = ", ".join(f"{n:,} {k}" for k, n in sorted(result.created.items()) if n)
    sections = [f"Created {escape(created or 'nothing')}"]
    if result.failed:
        shown = "\n".join(
            f"• {escape(f.kind)} {escape(f.source_id)}: {escape(f.reason)}"
            for f in result.failed[:5]
        )
        sections.append(f"{len(result.failed)} item(s) not restored; the first:\n{shown}")
    if result.not_reproduced:
        sections.append("Not reproduced: " + escape("; ".join(result.not_reproduced[:5])))
    if status in (RestoreStatus.COMPLETED, RestoreStatus.INCOMPLETE):
        if outcome.differences:
            shown = "\n".join(f"• {escape(d.describe())}" for d in outcome.differences[:5])
            sections.append(f"*Verification*: {len(outcome.differences)} difference(s)\n{shown}")
        else:
            sections.append(
                "*Verification*: the restored items match the backup on everything a restore "
                "reproduces."
            )
    return Reply(head, tuple(sections), in_channel=True)
