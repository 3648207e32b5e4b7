"""Latency, rate limit, injected faults and the counters that report them."""

import time

import anyio
import pytest

from sandbox.control import Faults, SandboxOptions, TokenBucket

pytestmark = pytest.mark.anyio

MYSELF = "/rest/api/3/myself"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_refills_at_its_capacity_per_second():
    clock = FakeClock()
    bucket = TokenBucket(4, clock)
    assert [bucket.admit().allowed for _ in range(5)] == [True] * 4 + [False]
    clock.now += 0.25  # a quarter second refills one of four
    assert bucket.admit().allowed
    assert not bucket.admit().allowed
    clock.now += 10  # never more than the capacity
    assert [bucket.admit().allowed for _ in range(5)] == [True] * 4 + [False]


def test_a_refused_request_waits_whole_seconds_and_at_least_one():
    clock = FakeClock()
    bucket = TokenBucket(1, clock)
    bucket.admit()
    refused = bucket.admit()
    assert (refused.allowed, refused.retry_after) == (False, 1)
    slow = TokenBucket(1, clock)
    slow.admit()
    clock.now += 0.999
    assert slow.admit().allowed is False


async def test_a_burst_beyond_the_limit_is_answered_429_with_retry_after(
    make_app, make_client, site
):
    app = make_app(site, rate_limit=10)
    async with make_client(app) as client:
        responses = [await client.get(MYSELF) for _ in range(30)]
        stats = (await client.get("/__sandbox/stats")).json()
    statuses = [r.status_code for r in responses]
    assert statuses[:10] == [200] * 10
    assert 429 in statuses
    assert all(r.headers["x-ratelimit-limit"] == "10" for r in responses)
    # The bucket refills while the burst runs, so counts are checked by their shape.
    served = [r for r in responses if r.status_code == 200]
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in served]
    assert remaining[0] == 9 and remaining[9] <= 1
    for response, left in zip(served, remaining, strict=True):
        expected = "true" if left < 2 else None  # Jira's "near limit": under a fifth left
        assert response.headers.get("x-ratelimit-nearlimit") == expected
    limited = [r for r in responses if r.status_code == 429]
    for response in limited:
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert response.headers["x-ratelimit-nearlimit"] == "true"
        assert response.headers["ratelimit-reason"] == "jira-burst-based"
        assert response.json()["errorMessages"]
    assert app.state.stats.rate_limited == len(limited) == stats["rateLimited"]
    assert stats["requests"] == 30


async def test_the_rate_limit_recovers_after_the_retry_after(make_app, make_client, site):
    async with make_client(make_app(site, rate_limit=5)) as client:
        while (await client.get(MYSELF)).status_code != 429:
            pass
        await anyio.sleep(0.25)  # 5 per second: a quarter second brings a token back
        assert (await client.get(MYSELF)).status_code == 200


async def test_without_a_rate_limit_no_rate_headers_are_sent(client):
    response = await client.get(MYSELF)
    assert "x-ratelimit-limit" not in response.headers


async def test_latency_delays_every_response_without_blocking_others(make_app, make_client, site):
    async with make_client(make_app(site, latency_ms=200)) as client:
        started = time.perf_counter()
        await client.get(MYSELF)
        single = time.perf_counter() - started

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(client.get, MYSELF)
        concurrent = time.perf_counter() - started
    assert single >= 0.2
    assert concurrent < 1.0  # ten at once take about one latency, not ten


async def test_a_fault_answers_500_the_given_number_of_times(app, client):
    app.state.faults.fail(500, paths=[MYSELF], times=2)
    statuses = [(await client.get(MYSELF)).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert (await client.get("/rest/api/3/project/search")).status_code == 200
    assert app.state.stats.faults_injected == 2


async def test_a_503_fault_says_when_to_retry(app, client):
    app.state.faults.fail(503, paths=["/wiki/api/v2/*"], retry_after=7)
    response = await client.get("/wiki/api/v2/spaces")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"


async def test_faults_match_by_predicate_until_cleared(app, client):
    app.state.faults.fail(500, where=lambda method, _path: method == "POST", times=None)
    assert (
        await client.post("/rest/api/3/search/jql", json={"jql": "project = ENG"})
    ).status_code == 500
    assert (await client.get(MYSELF)).status_code == 200
    app.state.faults.clear()
    assert (
        await client.post("/rest/api/3/search/jql", json={"jql": "project = ENG"})
    ).status_code == 200


def test_probable_faults_fire_about_as_often_as_asked_and_repeatably():
    def draws(seed: int) -> list[bool]:
        faults = Faults(seed)
        faults.fail(500, probability=0.3, times=None)
        return [faults.take_fault("GET", "/x") is not None for _ in range(1000)]

    assert draws(1) == draws(1)
    assert 200 < sum(draws(1)) < 400


@pytest.mark.parametrize("options", [{"latency_ms": -1}, {"rate_limit": -5}])
def test_negative_knobs_are_refused(options):
    with pytest.raises(ValueError):
        SandboxOptions(**options)


@pytest.mark.parametrize("status", [200, 404, 400])
def test_only_server_errors_and_429_can_be_injected(status):
    with pytest.raises(ValueError):
        Faults().fail(status)


async def test_an_injected_429_carries_retry_after_and_counts_as_rate_limited(app, client):
    app.state.faults.fail(429, paths=["/rest/api/3/myself"], retry_after=2)
    answer = await client.get("/rest/api/3/myself")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "2"
    assert app.state.stats.rate_limited == 1
    assert (await client.get("/rest/api/3/myself")).status_code == 200


async def test_a_failing_issue_fails_whatever_carries_it(app, client, site):
    issue = site.issue(7)
    app.state.faults.fail_issue(issue.key.lower())
    fetch = await client.post(
        "/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": [issue.id, site.issue_head(8).id]}
    )
    others = await client.post(
        "/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": [site.issue_head(8).id]}
    )
    comments = await client.get(f"/rest/api/3/issue/{issue.id}/comment")
    changelog = await client.post(
        "/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": [issue.key]}
    )
    jql = f"project = {issue.head.project.key}"
    ids = await client.get("/rest/api/3/search/jql", params={"jql": jql, "maxResults": 100})
    fields = await client.get(
        "/rest/api/3/search/jql", params={"jql": jql, "maxResults": 100, "fields": "summary"}
    )
    assert [fetch.status_code, comments.status_code, changelog.status_code] == [500] * 3
    assert fields.status_code == 500
    assert others.status_code == ids.status_code == 200
    assert app.state.stats.faults_injected == 4


async def test_a_failing_page_fails_whatever_carries_its_content(app, client, site):
    page = site.content_meta(1)
    app.state.faults.fail_page(page.id)
    listing = f"/wiki/api/v2/spaces/{page.space.id}/pages"
    assert (await client.get(listing, params={"body-format": "storage"})).status_code == 500
    assert (await client.get(listing)).status_code == 200
    for part in ("labels", "attachments", "footer-comments", "inline-comments"):
        assert (await client.get(f"/wiki/api/v2/pages/{page.id}/{part}")).status_code == 500
    restrictions = f"/wiki/rest/api/content/{page.id}/restriction/byOperation"
    assert (await client.get(restrictions)).status_code == 500
    other = site.content_meta(2).id
    assert (await client.get(f"/wiki/api/v2/pages/{other}/labels")).status_code == 200


async def test_a_delay_holds_the_matching_requests_only(app, client):
    app.state.faults.delay(0.3, paths=[MYSELF], times=1)
    started = time.perf_counter()
    await client.get(MYSELF)
    delayed = time.perf_counter() - started
    started = time.perf_counter()
    await client.get(MYSELF)
    assert delayed >= 0.3 > time.perf_counter() - started


async def test_stats_count_requests_by_status_and_are_not_counted_themselves(
    app, client, make_client
):
    await client.get(MYSELF)
    await client.get("/rest/api/3/nothing")
    async with make_client(app, auth=None) as anonymous:
        await anonymous.get(MYSELF)
        stats = (await anonymous.get("/__sandbox/stats")).json()
        again = (await anonymous.get("/__sandbox/stats")).json()
    assert stats == again
    assert stats["requests"] == 3
    assert stats["byStatus"] == {"200": 1, "401": 1, "404": 1}
    assert stats["unauthorized"] == 1
