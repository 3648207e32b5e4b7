"""This deployment's own restore-time estimate, shown beside Atlassian's reference objective.

With history, the estimate is the restore's items and bytes at the throughput this deployment
measured for the same app (the slower of the two governs); without it, the number of API
requests the restore plan needs at the site's rate limit. Pure arithmetic on plain numbers.
"""

from dataclasses import dataclass
from datetime import timedelta

OWN_ESTIMATE_LABEL = "this deployment's estimate"


@dataclass(frozen=True)
class Throughput:
    """What past restores of one app achieved, summed over them."""

    items: int
    bytes: int
    seconds: float

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class RestoreEstimate:
    duration: timedelta
    basis: str  # how it was reached, in words

    label = OWN_ESTIMATE_LABEL

    def describe(self) -> str:
        return f"{self.label}: {_human(self.duration)} ({self.basis})"


def estimate_restore(
    *,
    items: int,
    bytes_: int,
    requests: int,
    rate_limit_per_second: float,
    history: Throughput | None,
) -> RestoreEstimate:
    """How long restoring `items` items and `bytes_` bytes should take here."""
    if min(items, bytes_, requests) < 0 or rate_limit_per_second <= 0:
        raise ValueError("counts cannot be negative and the rate limit must be positive")
    if history is not None and history.items > 0 and history.seconds > 0:
        by_items = items / history.items_per_second
        by_bytes = bytes_ / history.bytes_per_second if history.bytes_per_second > 0 else 0.0
        return RestoreEstimate(
            timedelta(seconds=max(by_items, by_bytes)),
            f"measured here: {history.items_per_second:,.0f} items/s over "
            f"{history.items:,} restored items",
        )
    return RestoreEstimate(
        timedelta(seconds=requests / rate_limit_per_second),
        f"{requests:,} API requests at {rate_limit_per_second:g} requests/s; no restore "
        "measured here yet",
    )


def _human(duration: timedelta) -> str:
    seconds = duration.total_seconds()
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
