"""App Home: per site, how much would be lost if it were lost now, what can be restored, and
the restore requests waiting for a decision. Shown to admins only (reading needs a role)."""

from typing import Any

from bot.blocks import MAX_BLOCKS, MAX_SECTION_TEXT
from bot.identity import UnknownIdentity
from bot.services import Services
from commands.markup import age, countdown, duration, escape, format_size, instant, span
from policy.roles import Activity, is_authorized
from policy.statuses import BackupStatus
from storage import catalog, restore_requests, schedules

RESTORABLE_SHOWN = 5  # per site


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}}


def view(services: Services, slack_user: str) -> dict[str, Any]:
    try:
        actor = services.identities.actor(slack_user)
    except UnknownIdentity as unknown:
        return {"type": "home", "blocks": [_section(f":warning: {unknown}")]}
    if not is_authorized(Activity.SITES, actor.roles, None):
        text = "backupbot shows its backups to organization admins and Jira or Confluence admins."
        return {"type": "home", "blocks": [_section(text)]}
    context = services.context
    now = context.clock()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Backups"}}
    ]
    with context.sessions() as session:
        for name, site in sorted(context.config.sites.items()):
            if not is_authorized(Activity.LIST, actor.roles, site.product):
                continue
            backups = catalog.backups_with_data(session, name)
            completed = next((b for b in backups if b.status is BackupStatus.COMPLETED), None)
            if completed is None:
                exposure = "no Completed backup yet: if the site were lost now, all of it would be"
            else:
                exposure = (
                    f"last Completed {completed.id} {age(completed.created_at, now)}: if the site "
                    f"were lost now, {duration(now - completed.created_at)} of changes "
                    "would be lost"
                )
            restorable = [
                f"• {b.id} *{b.status}*, {format_size(b.data_bytes or 0)}, "
                f"{countdown(b.expires_at, now)}"
                for b in backups
                if b.expires_at > now
            ][:RESTORABLE_SHOWN]
            planned = [
                at
                for row in schedules.active_schedules(session, name)
                if (at := services.runner.schedules.next_run_of(row.id)) is not None
            ]
            upcoming = instant(min(planned)) if planned else "none scheduled"
            text = (
                f"*{span(name)}* ({site.product.label}): {exposure}.\n"
                f"Next scheduled run: {upcoming}.\n"
                + ("\n".join(restorable) if restorable else "No restorable backup.")
            )
            blocks.append(_section(text))
        waiting = restore_requests.pending(session, now)
        lines = [
            f"• *{r.id}*: {r.backup_id} into {span(r.target_site.name)}, asked by "
            f"{escape(r.requested_by)}, {countdown(r.expires_at, now).replace('expires', 'lapses')}"
            for r in waiting[:10]
        ]
    blocks.append(
        {"type": "header", "text": {"type": "plain_text", "text": "Waiting for approval"}}
    )
    blocks.append(_section("\n".join(lines) if lines else "No restore request is waiting."))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
