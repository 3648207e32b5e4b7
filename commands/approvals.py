"""Two-person restore approval: the request's message, and what a click on Approve or Reject
does (docs/rules.md).

A click counts only if the person holds both roles *now*, is not the requester (compared by
email, so a second Slack account does not help), and the request is still pending and
unexpired; Approve also needs the backup to be restorable still. The decision itself is the
database's compare-and-set, so exactly one of simultaneous clicks wins.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.handlers import Actor
from commands.markup import countdown, escape, instant, span
from commands.replies import Button, Confirm, Reply
from jobs.context import JobContext
from policy.restore import RestoreRefused, check_backup
from policy.roles import Activity, NotAuthorized, authorize
from policy.statuses import RestoreRequestStatus
from storage import audit, restore_requests
from storage.models import RestoreRequest

# Action ids are part of the contract (docs/contract.md): the button value is the request id.
APPROVE_ACTION = "restore_approve"
REJECT_ACTION = "restore_reject"
MAX_NOTES = 8


@dataclass(frozen=True)
class ClickOutcome:
    """`to_clicker`: an ephemeral answer; `message`: the request's message as it should now
    read (None: unchanged); `start_restore`: this click approved it."""

    to_clicker: Reply | None
    message: Reply | None
    start_restore: bool = False


def request_message(request: RestoreRequest, now: datetime) -> Reply:
    """The approvals channel's message for a request, with buttons while it is pending."""
    backup = request.backup
    preview: dict[str, Any] = request.preview or {}
    lines = [
        f"*Backup*: {backup.id} of {span(backup.site.name)} ({backup.site.product.label}), "
        f"created {instant(backup.created_at)}, {countdown(backup.expires_at, now)}",
        f"*Into*: {span(request.target_site.name)}; *scope*: "
        f"{escape(request.scope or 'the whole backup')}",
        f"*Requested by*: {escape(request.requested_by)}",
    ]
    sections = ["\n".join(lines)]
    if preview:
        counts = preview.get("counts") or {}
        shown = [
            f"{escape(kind)}: "
            + (", ".join(f"{n:,} to {escape(verb)}" for verb, n in tally.items() if n) or "none")
            for kind, tally in counts.items()
        ]
        attachments = preview.get("attachments") or {}
        shown.append(
            "attachments: " + ", ".join(f"{n:,} {escape(k)}" for k, n in attachments.items())
        )
        sections.append("*Preview*\n" + "\n".join(shown))
        notes = [escape(n) for n in (preview.get("notes") or [])[:MAX_NOTES]]
        cannot = [escape(c) for c in preview.get("cannot_reproduce") or []]
        if notes or cannot:
            sections.append(
                "*Conflicts and skips*\n"
                + "\n".join(f"• {n}" for n in notes or ["none"])
                + "\n*Cannot be reproduced*\n"
                + "\n".join(f"• {c}" for c in cannot or ["nothing"])
            )
        sections.append(
            f"*RTO*: {escape(preview.get('reference', ''))}\n{escape(preview.get('estimate', ''))}"
        )
    status = request.status
    if status is RestoreRequestStatus.PENDING:
        title = f":rotating_light: *Restore request {request.id}* needs a second admin's approval"
        context = f"This request lapses {countdown(request.expires_at, now)[8:]}."
        buttons = (
            Button(
                "Approve",
                APPROVE_ACTION,
                request.id,
                style="primary",
                confirm=Confirm(
                    "Approve this restore?",
                    f"{request.id} will write into {request.target_site.name} now.",
                    "Approve",
                ),
            ),
            Button("Reject", REJECT_ACTION, request.id, style="danger"),
        )
        return Reply(title, tuple(sections), context=context, buttons=buttons, in_channel=True)
    decided = {
        RestoreRequestStatus.APPROVED: (
            f":white_check_mark: *Approved* by {escape(request.approver)}"
        ),
        RestoreRequestStatus.REJECTED: f":x: *Rejected* by {escape(request.approver)}",
        RestoreRequestStatus.WITHDRAWN: ":leftwards_arrow_with_hook: *Withdrawn* by the requester",
        RestoreRequestStatus.EXPIRED: ":hourglass: *Expired* without a decision",
    }[status]
    when = f" at {instant(request.decided_at)}" if request.decided_at else ""
    title = f"*Restore request {request.id}*: {decided}{when}"
    return Reply(title, tuple(sections), in_channel=True)


def click(context: JobContext, request_id: str, actor: Actor, *, approve: bool) -> ClickOutcome:
    activity = Activity.APPROVE if approve else Activity.REJECT
    verb = "approve" if approve else "reject"
    now = context.clock()
    with context.sessions.begin() as session:
        request = session.get(RestoreRequest, request_id)
        if request is None:
            return ClickOutcome(Reply(f"There is no restore request {escape(request_id)}."), None)

        def refuse(reason: str) -> ClickOutcome:
            audit.record(
                session, now, actor=actor.email, slack_user=actor.slack_user, action=verb,
                target=request_id, outcome="refused", detail={"reason": reason},
            )  # fmt: skip
            return ClickOutcome(Reply(f":no_entry: {reason}"), None)

        try:
            authorize(activity, actor.roles, request.target_site.product)
        except NotAuthorized as refusal:
            return refuse(refusal.message)
        if actor.email.lower() == request.requested_by.lower():
            return refuse(f"You asked for {request_id} yourself: a second admin must {verb} it.")
        if request.status is not RestoreRequestStatus.PENDING:
            return ClickOutcome(Reply(_already(request)), request_message(request, now))
        if request.expires_at <= now:
            restore_requests.expire_overdue(session, now)
            return ClickOutcome(
                Reply(f"{request_id} expired {instant(request.expires_at)}: ask again."),
                request_message(request, now),
            )
        if approve:
            backup = request.backup
            try:
                check_backup(backup.id, backup.status, backup.expires_at, now)
            except RestoreRefused as refused:
                return refuse(escape(refused))
        status = RestoreRequestStatus.APPROVED if approve else RestoreRequestStatus.REJECTED
        decision = restore_requests.decide(
            session, request_id, now, status=status, decided_by=actor.email
        )
        if not decision.won:
            return ClickOutcome(Reply(_already(decision.request)), None)
        audit.record(
            session, now, actor=actor.email, slack_user=actor.slack_user, action=verb,
            target=request_id, outcome=str(status),
        )  # fmt: skip
        return ClickOutcome(None, request_message(decision.request, now), start_restore=approve)


def _already(request: RestoreRequest) -> str:
    who = f" by {escape(request.approver)}" if request.approver else ""
    return f"{request.id} was already decided: *{request.status}*{who}."
