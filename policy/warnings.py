"""Expiry warnings (issue 6): which lead time, if any, a backup's warning is due at now.

A warning is announced once per lead time. When the bot was not running as one lead time
passed and a shorter one has passed too, only the most urgent is announced (the others count
as said), so a restart does not post a burst of stale warnings.
"""

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from policy.retention import require_aware


def due_lead(
    expires_at: datetime, now: datetime, lead_hours: Sequence[int], announced: Collection[int]
) -> tuple[int | None, list[int]]:
    """`(lead to announce now or None, leads to record as said)` for one backup."""
    require_aware(expires_at, "expires_at")
    if require_aware(now, "now") >= expires_at:
        return None, []
    passed = [h for h in lead_hours if now >= expires_at - timedelta(hours=h)]
    fresh = [h for h in passed if h not in announced]
    if not fresh:
        return None, []
    return min(passed), fresh
