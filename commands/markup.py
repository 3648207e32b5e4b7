"""Text for Slack: escaping what people and Atlassian wrote, and showing times and sizes."""

from datetime import UTC, datetime, timedelta

from policy.sizes import format_size

__all__ = ["age", "countdown", "escape", "format_size", "instant"]


def escape(text: object) -> str:
    """Slack's three control characters escaped, so text from a person or a site can never
    become `<!channel>`, a mention or a link; backticks are dropped so it cannot break out of
    a code span either."""
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    )


def span(text: object) -> str:
    """A code span of escaped text."""
    return f"`{escape(text)}`"


def duration(delta: timedelta) -> str:
    """`3 d 4 h`, `5 h 12 min`, `12 min`, `40 s`."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def age(moment: datetime, now: datetime) -> str:
    return f"{duration(now - moment)} ago"


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def countdown(expires_at: datetime, now: datetime) -> str:
    """`expires in 13 d 4 h (2026-12-10 14:00 UTC)`, or `expired 2026-...`."""
    if now >= expires_at:
        return f"expired {instant(expires_at)}"
    return f"expires in {duration(expires_at - now)} ({instant(expires_at)})"
