"""This deployment's restore estimate: measured throughput when there is some, else requests."""

from datetime import timedelta

import pytest

from policy.estimates import Throughput, estimate_restore


def test_without_history_the_estimate_is_requests_over_the_rate_limit():
    estimate = estimate_restore(
        items=10_000, bytes_=5 * 10**6, requests=600, rate_limit_per_second=50, history=None
    )
    assert estimate.duration == timedelta(seconds=12)
    assert estimate.describe() == (
        "this deployment's estimate: about 12 s (600 API requests at 50 requests/s; "
        "no restore measured here yet)"
    )


def test_with_history_the_slower_of_items_and_bytes_governs():
    history = Throughput(items=2_000, bytes=10**6, seconds=40)  # 50 items/s, 25 kB/s
    by_items = estimate_restore(
        items=10_000, bytes_=10**6, requests=1, rate_limit_per_second=50, history=history
    )
    assert by_items.duration == timedelta(seconds=200)
    by_bytes = estimate_restore(
        items=100, bytes_=10**7, requests=1, rate_limit_per_second=50, history=history
    )
    assert by_bytes.duration == timedelta(seconds=400)
    assert "measured here: 50 items/s over 2,000 restored items" in by_bytes.describe()


def test_empty_history_counts_as_none():
    estimate = estimate_restore(
        items=10, bytes_=0, requests=100, rate_limit_per_second=10,
        history=Throughput(items=0, bytes=0, seconds=0),
    )  # fmt: skip
    assert estimate.duration == timedelta(seconds=10)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "about 1 s"), (89, "about 89 s"), (600, "about 10 min"), (7200, "about 2.0 h")],
)
def test_durations_are_shown_rounded(seconds, text):
    estimate = estimate_restore(
        items=0, bytes_=0, requests=int(seconds * 10), rate_limit_per_second=10, history=None
    )
    assert estimate.describe().startswith(f"this deployment's estimate: {text}")


def test_a_non_positive_rate_limit_is_refused():
    with pytest.raises(ValueError, match="rate limit"):
        estimate_restore(items=1, bytes_=1, requests=1, rate_limit_per_second=0, history=None)
