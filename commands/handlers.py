"""What each /backup subcommand does: an Action and the person asking -> a Reply.

The roles are checked here, at the moment of the request (docs/rules.md), against the app of
the site, backup, schedule or request concerned; every command and its outcome goes to the
audit log. Long work is handed to the job runner and the answer says what will follow.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands import actions as a
from commands.markup import age, countdown, escape, format_size, instant, span
from commands.replies import Button, Reply
from commands.usage import BY_NAME, CONCEPT_TOPICS, overview, usage_of
from jobs import backup
from jobs.context import JobContext
from jobs.runner import JobRunner, scope_of
from policy.estimates import estimate_restore
from policy.frequency import Frequency
from policy.identifiers import IdKind, id_kind
from policy.objectives import reference_objectives
from policy.products import Product
from policy.restore import RestoreRefused, check_backup, check_target
from policy.roles import Activity, NotAuthorized, Roles, authorize
from policy.schedules import DailyVerdict, check_daily, local_instant
from policy.statuses import (
    ACTIVE_BACKUP_STATUSES,
    RESTORABLE_BACKUP_STATUSES,
    BackupStatus,
    RestoreRequestStatus,
)
from storage import audit, restore_requests, schedules
from storage.catalog import BackupAlreadyActive, SiteBeingRestored, backups_with_data
from storage.models import AuditEntry, Backup, Restore, RestoreRequest, Schedule, Site
from storage.restores import restore_throughput

FollowUp = Callable[[Reply], None]

PAGE_SIZE = 15  # backups per message: well inside Block Kit's limits
MORE_ACTION = "backups_more"


@dataclass(frozen=True)
class Actor:
    """The person asking, as resolved from Slack: their Atlassian identity and roles now."""

    slack_user: str
    email: str
    roles: Roles


class _Refusal(Exception):
    """A request that cannot go on, with the sentence that says why."""


@dataclass
class Handlers:
    context: JobContext
    runner: JobRunner
    channel_of: Callable[[str], str | None] = lambda _site: None  # where a site's news goes

    def handle(self, action: a.Action, actor: Actor, later: "FollowUp") -> Reply:
        """The immediate answer; `later` carries what background work reports afterwards
        to the same person (a verify's result, a preview)."""
        handler = getattr(self, f"_{type(action).__name__}")
        try:
            reply: Reply = handler(action, actor, later)
        except NotAuthorized as refusal:
            self._audit(actor, action, "refused", {"reason": refusal.message})
            return Reply(f":no_entry: {refusal.message}")
        except _Refusal as refusal:
            self._audit(actor, action, "refused", {"reason": str(refusal)})
            return Reply(str(refusal))
        self._audit(actor, action, "ok")
        return reply

    # --- reading --------------------------------------------------------------------------------

    def _Help(self, action: a.Help, _: Actor, later: FollowUp) -> Reply:
        if action.topic in BY_NAME:
            sub = BY_NAME[action.topic]
            return Reply(f"*{sub.name}*: {sub.summary}", (f"```{usage_of(sub.name)}```",))
        if action.topic in CONCEPT_TOPICS:
            return Reply(
                f"*{action.topic}*: {CONCEPT_TOPICS[action.topic]}", (_topic(action.topic),)
            )
        return Reply(
            "*backupbot* backs up and restores your Atlassian sites.", (f"```{overview()}```",)
        )

    def _ListSites(self, action: a.ListSites, actor: Actor, later: FollowUp) -> Reply:
        self._require(actor, action.activity, None)
        sites = self.context.config.sites
        if not sites:
            return Reply("No site is configured yet: add one under `sites:` in the config.")
        lines = [
            f"{span(name)}: {site.product.label}, {escape(site.url)}, storage {span(site.storage)}"
            for name, site in sorted(sites.items())
        ]
        return Reply(f"*{len(sites)} site(s)*", ("\n".join(lines),))

    def _ListBackups(self, action: a.ListBackups, actor: Actor, later: FollowUp) -> Reply:
        product = self._site_product(action.site) if action.site else None
        self._require(actor, action.activity, product)
        return self.backups_page(action.site, action.include_all, 0, actor)

    def backups_page(self, site: str | None, include_all: bool, offset: int, actor: Actor) -> Reply:
        """One page of `list`; its More button asks for the next."""
        if site is None:
            self._require(actor, Activity.LIST, None)
        now = self.context.clock()
        with self.context.sessions() as session:
            query = select(Backup).join(Site).order_by(Backup.created_at.desc(), Backup.id)
            if site:
                query = query.where(Site.name == site)
            if not include_all:
                shown = sorted(ACTIVE_BACKUP_STATUSES | RESTORABLE_BACKUP_STATUSES)
                query = query.where(Backup.status.in_(shown), Backup.expires_at > now)
            rows = session.scalars(query.offset(offset).limit(PAGE_SIZE + 1)).all()
            lines = [_backup_line(b, now) for b in rows[:PAGE_SIZE]]
        if not lines:
            what = f" of {span(site)}" if site else ""
            return Reply(
                f"No backup{what} to show." + ("" if include_all else " (`all` shows every backup)")
            )
        title = (
            f"*Backups{' of ' + span(site) if site else ''}* ({offset + 1}–{offset + len(lines)})"
        )
        buttons: tuple[Button, ...] = ()
        if len(rows) > PAGE_SIZE:
            value = f"{site or ''}|{int(include_all)}|{offset + PAGE_SIZE}"
            buttons = (Button("More", MORE_ACTION, value),)
        return Reply(title, ("\n".join(lines),), buttons=buttons)

    def _ShowStatus(self, action: a.ShowStatus, actor: Actor, later: FollowUp) -> Reply:
        now = self.context.clock()
        with self.context.sessions() as session:
            found = self._backup(session, action.backup_id)
            self._require(actor, action.activity, found.site.product)
            lines = [
                f"*{found.id}* of {span(found.site.name)} ({found.site.product.label}): "
                f"*{found.status}*",
                f"created {instant(found.created_at)} ({age(found.created_at, now)})"
                + (f" by {escape(found.requested_by)}" if found.requested_by else " on schedule"),
                f"storage {span(found.storage_location.name)}; {countdown(found.expires_at, now)}",
            ]
            if found.data_bytes is not None:
                lines.append(
                    f"data {format_size(found.data_bytes)}, attachments "
                    f"{format_size(found.attachment_bytes or 0)} (by reference unless copied)"
                )
            if found.item_counts:
                counts = ", ".join(f"{n:,} {k}" for k, n in sorted(found.item_counts.items()))
                lines.append(f"items: {counts}")
            if found.error:
                lines.append(f"reason: {escape(found.error)}")
            if found.schedule_id:
                lines.append(
                    f"schedule {found.schedule_id}, slot {found.slot}, attempt {found.attempt}"
                )
        return Reply(lines[0], ("\n".join(lines[1:]),))

    def _ListApprovals(self, action: a.ListApprovals, actor: Actor, later: FollowUp) -> Reply:
        self._require(actor, action.activity, None)
        now = self.context.clock()
        with self.context.sessions() as session:
            waiting = restore_requests.pending(session, now)
            lines = [
                f"*{r.id}*: {r.backup_id} into {span(r.target_site.name)}, "
                f"{escape(r.scope or 'the whole backup')}, asked by {escape(r.requested_by)}, "
                f"{countdown(r.expires_at, now).replace('expires', 'lapses')}"
                for r in waiting[:PAGE_SIZE]
            ]
        if not lines:
            return Reply("No restore request is waiting for approval.")
        more = f"\n… and {len(waiting) - PAGE_SIZE} more" if len(waiting) > PAGE_SIZE else ""
        return Reply(f"*{len(waiting)} restore request(s) waiting*", ("\n".join(lines) + more,))

    def _EstimateSize(self, action: a.EstimateSize, actor: Actor, later: FollowUp) -> Reply:
        self._require(actor, action.activity, action.product)
        return self._estimate(action.product, action.data_bytes, action.attachment_bytes, None)

    def _EstimateSite(self, action: a.EstimateSite, actor: Actor, later: FollowUp) -> Reply:
        product = self._site_product(action.site)
        self._require(actor, action.activity, product)
        with self.context.sessions() as session:
            last = next(iter(backups_with_data(session, action.site)), None)
            if last is None:
                return Reply(
                    f"{span(action.site)} has no finished backup yet, so its size is unknown: "
                    f"try `/backup estimate {product.value} <data-size> [<attachment-size>]`."
                )
            items = sum((last.item_counts or {}).values())
            sizes = (last.data_bytes or 0, last.attachment_bytes or 0)
            basis = f"sizes of {last.id}"
        return self._estimate(product, *sizes, (items, basis))

    def _estimate(
        self, product: Product, data: int, attachments: int, known: tuple[int, str] | None
    ) -> Reply:
        reference = reference_objectives(product, data, attachments)
        with self.context.sessions() as session:
            history = restore_throughput(session, product)
        items = known[0] if known else max(1, data // 5_000)  # about 5 KB of JSON an item
        own = estimate_restore(
            items=items,
            bytes_=data + attachments,
            requests=items,  # about one write an item
            rate_limit_per_second=10.0,
            history=history,
        )
        basis = known[1] if known else "the sizes given"
        return Reply(
            f"*Recovery objectives for {product.label}* ({format_size(data)} of data, "
            f"{format_size(attachments)} of attachments; {escape(basis)})",
            (
                f"*Atlassian's reference objective* (for its own backup and restore): "
                f"RTO {reference.rto.describe()}; RPO {reference.rpo.describe()}",
                f"*{own.label.capitalize()}*: RTO {own.describe().split(': ', 1)[1]}",
            ),
        )

    def _ShowAudit(self, action: a.ShowAudit, actor: Actor, later: FollowUp) -> Reply:
        self._require(actor, action.activity, None)
        with self.context.sessions() as session:
            rows = audit.recent(session, action.limit)
            lines = [
                f"{instant(r.at)} {escape(r.actor)}: {_what(r)} → {escape(r.outcome)}" for r in rows
            ]
        if not lines:
            return Reply("The audit log is empty.")
        return Reply(f"*The last {len(lines)} audit entries*", tuple(_split_lines(lines)))

    # --- changing ---------------------------------------------------------------------------

    def _BackupNow(self, action: a.BackupNow, actor: Actor, later: FollowUp) -> Reply:
        product = self._site_product(action.site)
        self._require(actor, action.activity, product)
        try:
            queued = backup.queue(self.context, action.site, action.storage, actor.email)
        except BackupAlreadyActive as busy:
            raise _Refusal(
                f":hourglass: {escape(busy)}: wait for it, or `/backup cancel` it."
            ) from None
        except SiteBeingRestored as restoring:
            raise _Refusal(f":hourglass: {escape(restoring)}.") from None
        self.runner.backup(queued.id)
        channel = self.channel_of(action.site)
        where = f" in <#{channel}>" if channel else ""
        return Reply(
            f":arrow_forward: Backup *{queued.id}* of {span(action.site)} is queued; "
            f"I will post{where} when it ends.",
        )

    def _Cancel(self, action: a.Cancel, actor: Actor, later: FollowUp) -> Reply:
        kind = id_kind(action.target_id)
        if kind is IdKind.BACKUP:
            return self._cancel_backup(action.target_id, actor)
        return self._cancel_request(action.target_id, actor)

    def _cancel_backup(self, backup_id: str, actor: Actor) -> Reply:
        with self.context.sessions.begin() as session:
            found = self._backup(session, backup_id)
            self._require(actor, Activity.CANCEL, found.site.product)
            if found.status is BackupStatus.QUEUED and not self.runner.is_running(backup_id):
                found.status, found.error = BackupStatus.CANCELLED, f"cancelled by {actor.email}"
                found.finished_at = self.context.clock()
                return Reply(f":stop_button: Backup *{backup_id}* was cancelled before it started.")
            if not found.status.is_active:
                raise _Refusal(f"Backup *{backup_id}* is {found.status}: there is nothing to stop.")
        self.runner.cancel(backup_id)
        return Reply(f":stop_button: Backup *{backup_id}* is stopping; no partial backup is kept.")

    def _cancel_request(self, request_id: str, actor: Actor) -> Reply:
        now = self.context.clock()
        with self.context.sessions.begin() as session:
            request = self._request(session, request_id)
            self._require(actor, Activity.CANCEL, request.target_site.product)
            if request.status is RestoreRequestStatus.PENDING:
                decision = restore_requests.decide(
                    session, request_id, now, status=RestoreRequestStatus.WITHDRAWN,
                    decided_by=actor.email,
                )  # fmt: skip
                if decision.won:
                    return Reply(
                        f":leftwards_arrow_with_hook: Restore request *{request_id}* is withdrawn."
                    )
            running = session.get(Restore, request_id)
            if running is None or not running.status.is_active:
                raise _Refusal(
                    f"Restore request *{request_id}* is {request.status}"
                    + (f" and its restore {running.status}" if running else "")
                    + ": there is nothing to stop."
                )
        self.runner.cancel(request_id)
        return Reply(
            f":stop_button: The restore *{request_id}* is stopping after the item in hand."
        )

    def _Verify(self, action: a.Verify, actor: Actor, later: FollowUp) -> Reply:
        with self.context.sessions() as session:
            found = self._backup(session, action.backup_id)
            self._require(actor, action.activity, found.site.product)
            if not found.status.holds_data:
                raise _Refusal(
                    f"Backup *{found.id}* is {found.status}: it holds no data to verify."
                )
        self.runner.verify(action.backup_id, later)
        return Reply(
            f":mag: Verifying *{action.backup_id}*: every chunk's SHA-256 and the manifest's "
            "signature. The result follows here."
        )

    def _Restore(self, action: a.Restore, actor: Actor, later: FollowUp) -> Reply:
        now = self.context.clock()
        with self.context.sessions() as session:
            found = self._backup(session, action.backup_id)
            product = found.site.product
            self._require(actor, action.activity, product)
            target = action.target_site or found.site.name
            try:
                check_backup(found.id, found.status, found.expires_at, now)
                target_config = self.context.config.sites.get(target)
                check_target(product, target, target_config.product if target_config else None)
            except RestoreRefused as refused:
                raise _Refusal(f":no_entry: {escape(refused)}") from None
        scope = action.scope.to_text() if action.scope else None
        if action.preview:
            self.runner.preview(action.backup_id, target, scope_of(scope), later)
            return Reply(
                f":mag: Preparing a preview of restoring *{action.backup_id}* into "
                f"{span(target)}; nothing will change. It follows here."
            )
        ttl = timedelta(hours=self.context.config.approvals.request_ttl_hours)
        with self.context.sessions.begin() as session:
            request = restore_requests.create_request(
                session, now, backup_id=action.backup_id, target_site=target, scope=scope,
                requested_by=actor.email, requested_by_slack=actor.slack_user, ttl=ttl,
            )  # fmt: skip
            request_id = request.id
        self.runner.prepare_request(request_id)
        return Reply(
            f":hourglass_flowing_sand: Restore request *{request_id}* is created. I am preparing "
            "its preview; it then goes to the approvals channel, where a second admin must "
            "approve it."
        )

    def _CreateSchedule(self, action: a.CreateSchedule, actor: Actor, later: FollowUp) -> Reply:
        site = self.context.config.sites[action.site]
        self._require(actor, action.activity, site.product)
        zone = action.timezone or self.context.config.timezone
        storage = action.storage or site.storage
        now = self.context.clock()
        recurrence = action.recurrence
        warning = None
        if isinstance(recurrence, a.Once):
            when = local_instant(recurrence.on, action.at, zone)
            if when <= now:
                raise _Refusal(
                    f"{recurrence.on.isoformat()} at {action.at.strftime('%H:%M')} {escape(zone)} "
                    "is in the past: pick a later time, or `/backup now` to back up at once."
                )
        if isinstance(recurrence, a.Daily):
            verdict = self._daily_verdict(action.site)
            if not verdict.allowed:
                raise _Refusal(
                    f":no_entry: A daily schedule of {span(action.site)}: {verdict.message}."
                )
            warning = verdict.message
        with self.context.sessions.begin() as session:
            row = schedules.create_schedule(
                session, now, site=action.site, storage=storage, frequency=action.frequency,
                at=action.at, zone=zone, on=getattr(recurrence, "on", None),
                weekday=int(recurrence.weekday) if isinstance(recurrence, a.Weekly) else None,
                created_by=actor.email,
            )  # fmt: skip
            schedule_id = row.id
        first = self.runner.schedules.arm(schedule_id)
        lines = [f"storage {span(storage)}; next run {_when(first, zone)}"]
        if warning:
            lines.append(f":warning: {warning}.")
        return Reply(
            f":calendar: Schedule *{schedule_id}*: {span(action.site)} "
            f"{escape(recurrence.to_text())} at {action.at.strftime('%H:%M')} {escape(zone)}",
            ("\n".join(lines),),
        )

    def _daily_verdict(self, site: str) -> DailyVerdict:
        with self.context.sessions() as session:
            last = next(iter(backups_with_data(session, site)), None)
            if last is None:
                return check_daily(self._site_product(site), None, None, None)
            took = (
                last.finished_at - last.started_at if last.finished_at and last.started_at else None
            )
            return check_daily(last.site.product, last.data_bytes, last.attachment_bytes, took)

    def _ListSchedules(self, action: a.ListSchedules, actor: Actor, later: FollowUp) -> Reply:
        product = self._site_product(action.site) if action.site else None
        self._require(actor, action.activity, product)
        with self.context.sessions() as session:
            rows = schedules.active_schedules(session, action.site)
            lines = [_schedule_line(row, self.runner.schedules.next_run_of(row.id)) for row in rows]
        if not lines:
            return Reply("No schedule yet: `/backup schedule <site> daily at 02:00` makes one.")
        return Reply(f"*{len(lines)} schedule(s)*", tuple(_split_lines(lines)))

    def _Unschedule(self, action: a.Unschedule, actor: Actor, later: FollowUp) -> Reply:
        with self.context.sessions.begin() as session:
            schedule = session.get(Schedule, action.schedule_id)
            if schedule is None or schedule.removed_at is not None:
                raise _Refusal(
                    f"There is no schedule *{action.schedule_id}*: `/backup schedules` lists them."
                )
            self._require(actor, action.activity, schedule.site.product)
            schedule.removed_at = self.context.clock()
        self.runner.schedules.disarm(action.schedule_id)
        return Reply(f":wastebasket: Schedule *{action.schedule_id}* is removed; its backups stay.")

    # --- shared ---------------------------------------------------------------------------

    def _require(self, actor: Actor, activity: Activity, product: Product | None) -> None:
        authorize(activity, actor.roles, product)

    def _site_product(self, site: str) -> Product:
        return self.context.config.sites[site].product

    def _backup(self, session: Session, backup_id: str) -> Backup:
        found = session.get(Backup, backup_id)
        if found is None:
            raise _Refusal(f"There is no backup *{backup_id}*: `/backup list` shows them.")
        return found

    def _request(self, session: Session, request_id: str) -> RestoreRequest:
        found = session.get(RestoreRequest, request_id)
        if found is None:
            raise _Refusal(
                f"There is no restore request *{request_id}*: "
                "`/backup approvals` lists those waiting."
            )
        return found

    def _audit(
        self, actor: Actor, action: a.Action, outcome: str, detail: dict[str, Any] | None = None
    ) -> None:
        with self.context.sessions.begin() as session:
            audit.record(
                session, self.context.clock(), actor=actor.email, slack_user=actor.slack_user,
                action=action.activity.value, target=action.to_text(), outcome=outcome,
                detail=detail,
            )  # fmt: skip


def _backup_line(b: Backup, now: Any) -> str:
    size = f", {format_size(b.data_bytes)}" if b.data_bytes is not None else ""
    return (
        f"*{b.id}* {span(b.site.name)} *{b.status}*{size}, {age(b.created_at, now)}, "
        f"{countdown(b.expires_at, now)}"
    )


def _when(instant: datetime | None, zone: str) -> str:
    """`2026-12-01 02:00 Europe/Berlin (01:00 UTC)`, or that it will not run again."""
    if instant is None:
        return "none (it will not run again)"
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {zone} ({instant.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


def _schedule_line(row: Schedule, next_at: datetime | None) -> str:
    recurrence = {
        Frequency.ONCE: f"once on {row.on_date}",
        Frequency.DAILY: "daily",
        Frequency.WEEKLY: f"weekly on {a.Weekday(row.weekday or 0).token}",
    }[row.frequency]
    return (
        f"*{row.id}* {span(row.site.name)} {recurrence} at {row.at_time} {escape(row.timezone)}, "
        f"to {span(row.storage_location.name)}; next run {_when(next_at, row.timezone)}; "
        f"by {escape(row.created_by)}"
    )


def _what(entry: AuditEntry) -> str:
    """A command's own text when it was one (`now acme-jira`), else the action and target."""
    target = entry.target or ""
    if target.split(" ", 1)[0] == entry.action:
        return escape(target)
    return escape(f"{entry.action} {target}".strip())


def _split_lines(lines: list[str], limit: int = 2900) -> list[str]:
    """Lines joined into sections of at most `limit` characters (Slack allows 3000)."""
    sections, current = [], ""
    for line in lines:
        if current and len(current) + 1 + len(line) > limit:
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:limit]
    if current:
        sections.append(current)
    return sections


def _topic(name: str) -> str:
    if name == "roles":
        return (
            "Reading (`sites`, `list`, `status`, `schedules`, `approvals`, `estimate`, `verify`) "
            "needs an organization admin or an admin of the app. Changing (`now`, `schedule`, "
            "`unschedule`, `cancel`, `restore`, Approve/Reject) needs *both*. `audit` is for "
            "organization admins. A restore needs a second admin's approval."
        )
    if name == "retention":
        return (
            "Managed storage keeps a backup 14 days: it expires on the 15th day. A backup in your "
            "organization's S3 bucket can be restored for 30 days after it was made."
        )
    return (
        "Atlassian's reference objective is the RTO/RPO Atlassian states for its own backup and "
        "restore, by data and attachment size. This deployment's estimate comes from restores "
        "measured here, or from the API requests a restore needs at the site's rate limit."
    )
