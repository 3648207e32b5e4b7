"""RateController: the arithmetic of sharing a site's rate limit, on times given to it."""

import pytest

from atlassian_cloud.transport import RateController, RatePolicy, retry_after_seconds


def test_a_429_halves_concurrency_once_per_congestion_event():
    control = RateController(RatePolicy(initial_concurrency=16))
    control.on_rate_limited(sent_at=10.0, now=10.2)
    control.on_rate_limited(sent_at=10.1, now=10.3)  # in flight when the first 429 came back
    assert control.concurrency == 8
    control.on_rate_limited(sent_at=10.4, now=10.5)  # sent after the decrease: a new event
    assert control.concurrency == 4


def test_concurrency_stays_between_one_and_the_maximum():
    control = RateController(RatePolicy(initial_concurrency=2, max_concurrency=3))
    for step in range(5):
        control.on_rate_limited(sent_at=step + 0.5, now=step + 1.0)
    assert control.concurrency == 1
    for _ in range(100):
        control.on_success()
    assert control.concurrency == 3


def test_without_advertised_limits_a_429_paces_just_below_the_rate_that_provoked_it():
    control = RateController(RatePolicy())
    for i in range(60):  # 60 requests in the last second
        control.record_send(100.0 + i / 60)
    control.on_rate_limited(sent_at=100.9, now=100.99)
    assert control.rate == pytest.approx(60 * 0.85)


def test_a_429_after_too_few_requests_to_measure_does_not_start_pacing():
    control = RateController(RatePolicy())
    control.record_send(100.0)
    control.on_rate_limited(sent_at=100.0, now=100.1)
    assert control.rate is None
    assert control.concurrency == 2  # the in-flight limit still halves


def test_pacing_grows_about_one_percent_a_second_between_429s():
    control = RateController(RatePolicy())
    control.rate = 100.0
    for _ in range(100):  # one second of successes at 100 a second
        control.on_success()
    assert control.rate == pytest.approx(101.0, abs=0.01)


def test_an_advertised_limit_sets_pacing_to_ninety_percent_of_it_and_caps_growth():
    control = RateController(RatePolicy())
    control.on_limit_headers({"x-ratelimit-limit": "50", "x-ratelimit-remaining": "49"}, 1.0)
    assert control.rate == pytest.approx(45.0)
    for _ in range(1000):
        control.on_success()
    assert control.rate == pytest.approx(45.0)


def test_an_advertised_refill_rate_wins_over_the_bucket_size():
    control = RateController(RatePolicy())
    headers = {
        "x-ratelimit-limit": "100",
        "x-ratelimit-fillrate": "20",
        "x-ratelimit-interval-seconds": "2",
    }
    control.on_limit_headers(headers, 1.0)
    assert control.rate == pytest.approx(9.0)  # 90 % of 20 per 2 s


def test_little_remaining_eases_off_at_most_once_a_second():
    control = RateController(RatePolicy())
    low = {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "3"}
    control.on_limit_headers(low, 1.0)
    control.on_limit_headers(low, 1.5)
    assert control.rate == pytest.approx(45.0 * 0.9)
    control.on_limit_headers(low, 2.1)
    assert control.rate == pytest.approx(45.0 * 0.9 * 0.9)


def test_pacing_slots_are_evenly_spaced_and_the_gate_books_none():
    control = RateController(RatePolicy())
    control.rate = 4.0
    assert [control.reserve(10.0)[0] for _ in range(3)] == [10.0, 10.25, 10.5]
    control.pause_until(20.0)
    assert control.reserve(11.0) == (20.0, False)
    assert control.reserve(20.0) == (20.0, True)  # the first slot after the pause is immediate
    assert control.reserve(20.0) == (20.25, True)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:25 GMT"}, 5.0),
        ({"x-ratelimit-reset": "2023-11-14T22:14Z"}, 40.0),
        ({"retry-after": "soon"}, None),
        ({"x-ratelimit-reset": "whenever"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_as_seconds_an_http_date_or_jiras_reset_time(headers, seconds):
    wall = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert retry_after_seconds(headers, wall) == seconds
