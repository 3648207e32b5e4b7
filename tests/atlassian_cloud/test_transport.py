"""SiteClient over real HTTP: retries, the shared pause gate, AIMD, pacing, origins, redirects,
and errors that name the site but never the credentials."""

import asyncio
import base64
import itertools
import random
import time
from email.utils import formatdate

import httpx
import pytest

from atlassian_cloud.errors import (
    AtlassianError,
    AuthenticationFailed,
    NotFound,
    OriginRefused,
    PermissionDenied,
    RateLimited,
    RequestRejected,
    SiteUnavailable,
    UnexpectedResponse,
)
from atlassian_cloud.transport import RatePolicy, RetryPolicy, SiteClient

TOKEN = "tok-SECRET-5f1e2d9c"
CREDENTIALS = base64.b64encode(f"svc@acme.example:{TOKEN}".encode()).decode()
OK = (200, {}, {"ok": True})
MYSELF = "/rest/api/3/myself"


def run(coroutine):
    return asyncio.run(coroutine)


# --- Retry-After and the pause gate ------------------------------------------------------------


def test_a_429_is_retried_after_the_seconds_its_retry_after_names(site, connect, fake_time):
    site.script(MYSELF, (429, {"Retry-After": "3"}, {"message": "slow down"}), OK)

    async def scenario():
        async with connect(site) as client:
            assert await client.get_json(MYSELF) == {"ok": True}
            return client.stats

    stats = run(scenario())
    first, second = site.requests_to(MYSELF)
    assert second.at - first.at == pytest.approx(3.0)
    assert fake_time.sleeps == [pytest.approx(3.0)]
    assert (stats.requests, stats.retries, stats.rate_limited) == (2, 1, 1)


def test_a_retry_after_given_as_an_http_date_is_honoured(site, connect, fake_time):
    wall = 1_700_000_000.0
    site.script(MYSELF, (429, {"Retry-After": formatdate(wall + 5, usegmt=True)}, {}), OK)

    async def scenario():
        async with connect(site, wall_clock=lambda: wall) as client:
            await client.get_json(MYSELF)

    run(scenario())
    first, second = site.requests_to(MYSELF)
    assert second.at - first.at == pytest.approx(5.0)


def test_a_503_with_retry_after_is_retried_after_it(site, connect):
    site.script(MYSELF, (503, {"Retry-After": "2"}, {}), OK)

    async def scenario():
        async with connect(site) as client:
            await client.get_json(MYSELF)
            return client.stats

    stats = run(scenario())
    first, second = site.requests_to(MYSELF)
    assert second.at - first.at == pytest.approx(2.0)
    assert stats.server_errors == 1


def test_a_429_pauses_every_request_of_the_client_not_only_the_one_refused(
    site, connect, fake_time
):
    site.script("/a", (429, {"Retry-After": "7"}, {}), OK)
    site.script("/b", OK)

    async def scenario():
        async with connect(site) as client:
            refused = asyncio.create_task(client.get_json("/a"))
            while client.control.paused_until <= fake_time.now:
                await asyncio.sleep(0)
            refused_at = fake_time.now
            await client.get_json("/b")
            await refused
            return refused_at, client.stats

    refused_at, stats = run(scenario())
    (other,) = site.requests_to("/b")
    assert other.at >= refused_at + 7
    assert stats.rate_limited == 1  # /b waited instead of earning its own 429


def test_a_pause_longer_than_the_retry_budget_is_reported_at_once(site, connect, fake_time):
    site.script(MYSELF, (429, {"Retry-After": "3600"}, {}))

    async def scenario():
        async with connect(site, retry=RetryPolicy(max_total_wait=120)) as client:
            await client.get_json(MYSELF)

    with pytest.raises(RateLimited) as caught:
        run(scenario())
    assert caught.value.retry_after == 3600
    assert len(site.seen) == 1
    assert fake_time.sleeps == []


def test_429s_stop_after_the_attempts_allowed(site, connect):
    site.script(MYSELF, (429, {"Retry-After": "1"}, {"message": "Rate limit exceeded"}))

    async def scenario():
        async with connect(site, retry=RetryPolicy(max_attempts=4)) as client:
            await client.get_json(MYSELF)

    with pytest.raises(RateLimited, match="Rate limit exceeded"):
        run(scenario())
    assert len(site.seen) == 4


# --- adaptive concurrency and pacing -----------------------------------------------------------


def test_requests_in_flight_never_exceed_the_concurrency_limit(connect):
    state = {"now": 0, "most": 0}
    release = asyncio.Event()

    async def app(scope, receive, send):
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        await release.wait()
        state["now"] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def scenario():
        policy = RatePolicy(initial_concurrency=3, max_concurrency=3)
        async with connect(app, rate=policy) as client:
            tasks = [asyncio.create_task(client.get_json("/x")) for _ in range(10)]
            for _ in range(50):
                await asyncio.sleep(0)
            waiting_at_the_client = state["now"]
            release.set()
            await asyncio.gather(*tasks)
            return waiting_at_the_client

    assert run(scenario()) == 3
    assert state["most"] == 3


def test_each_429_halves_the_concurrency_limit_and_successes_grow_it_back(site, connect):
    site.script("/x", *[(429, {"Retry-After": "1"}, {})] * 3, OK)

    async def scenario():
        policy = RatePolicy(initial_concurrency=16, max_concurrency=16)
        async with connect(site, rate=policy) as client:
            await client.get_json("/x")
            after_recovery = client.control.concurrency
            for _ in range(10):
                await client.get_json("/x")
            return after_recovery, client.control.concurrency

    after_recovery, later = run(scenario())
    assert after_recovery == pytest.approx(2 + 1 / 2)  # 16 -> 8 -> 4 -> 2, then one success
    assert 4 < later < 16


def test_requests_are_paced_below_the_limit_the_site_advertises(site, connect):
    limit = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9"}
    site.script("/x", (200, limit, {}))

    async def scenario():
        async with connect(site) as client:
            for _ in range(11):
                await client.get_json("/x")
            return client.control.rate

    rate = run(scenario())
    assert rate == pytest.approx(9.0)  # 90 % of 10 a second
    times = [seen.at for seen in site.seen]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times[1:])]
    assert all(gap == pytest.approx(1 / 9) for gap in gaps)
    assert times[-1] - times[1] == pytest.approx(1.0)


def test_a_site_near_its_limit_makes_the_client_ease_off(site, connect):
    near = {"X-RateLimit-Limit": "10", "X-RateLimit-NearLimit": "true"}
    site.script("/x", (200, near, {}))

    async def scenario():
        async with connect(site) as client:
            await client.get_json("/x")
            return client.control.rate

    # 90 % of the paced 9 a second, plus the success's small additive growth
    assert run(scenario()) == pytest.approx(9.0 * 0.9 + 0.5 / 8.1)


# --- other failures ----------------------------------------------------------------------------


def test_5xx_answers_are_retried_with_jittered_backoff_then_reported(site, connect, fake_time):
    site.script(MYSELF, (500, {}, {"errorMessages": ["Internal server error"], "errors": {}}))

    async def scenario():
        async with connect(site) as client:
            try:
                await client.get_json(MYSELF)
            finally:
                stats = client.stats
        return stats

    with pytest.raises(SiteUnavailable) as caught:
        run(scenario())
    message = str(caught.value)
    assert message.startswith("acme: GET /rest/api/3/myself")
    assert "HTTP 500" in message and "Internal server error" in message
    assert len(site.seen) == 6
    assert len(fake_time.sleeps) == 5
    for attempt, slept in enumerate(fake_time.sleeps, start=1):
        assert 0 <= slept <= 0.5 * 2 ** (attempt - 1)


def test_a_5xx_that_clears_returns_the_answer(site, connect):
    site.script(MYSELF, (502, {}, b"bad gateway"), (503, {}, {}), (504, {}, {}), OK)

    async def scenario():
        async with connect(site) as client:
            return await client.get_json(MYSELF), client.stats

    body, stats = run(scenario())
    assert body == {"ok": True}
    assert (stats.server_errors, stats.retries) == (3, 3)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, RequestRejected),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, RequestRejected),
        (410, NotFound),
    ],
)
def test_client_errors_are_raised_without_a_retry(site, connect, status, kind):
    site.script(MYSELF, (status, {}, {"errorMessages": ["nope"]}))

    async def scenario():
        async with connect(site) as client:
            await client.get_json(MYSELF)

    with pytest.raises(kind, match=f"HTTP {status}"):
        run(scenario())
    assert len(site.seen) == 1


def test_an_answer_that_is_not_json_names_the_site_and_the_request(site, connect):
    # Python's parser would take NaN; JSON has no such value, and a backup must not store one.
    site.script(MYSELF, (200, {"Content-Type": "application/json"}, b'{"points": NaN}'))

    async def scenario():
        async with connect(site) as client:
            await client.get_json(MYSELF)

    with pytest.raises(UnexpectedResponse, match="answered with something that is not JSON"):
        run(scenario())


def test_no_answer_hands_on_an_email_address(site, connect):
    user = {"accountId": "a-1", "emailAddress": "ann@acme.example", "email": "ann@acme.example"}
    site.script(MYSELF, (200, {}, {"values": [user], "contact": {"email": "help@acme.example"}}))

    async def scenario():
        async with connect(site) as client:
            return await client.get_json(MYSELF)

    assert run(scenario()) == {
        "values": [{"accountId": "a-1"}],
        "contact": {"email": "help@acme.example"},
    }


def test_a_post_that_may_have_written_is_not_retried_after_a_500(site, connect):
    site.script("/write", (500, {}, {}), OK)

    async def scenario():
        async with connect(site) as client:
            await client.post_json("/write", {"a": 1})

    with pytest.raises(SiteUnavailable):
        run(scenario())
    assert len(site.seen) == 1


def test_an_idempotent_post_is_retried_after_a_500(site, connect):
    site.script("/read", (500, {}, {}), OK)

    async def scenario():
        async with connect(site) as client:
            return await client.post_json("/read", {"a": 1}, idempotent=True)

    assert run(scenario()) == {"ok": True}
    assert [seen.body for seen in site.seen] == [{"a": 1}, {"a": 1}]


def test_connection_failures_are_retried(site, connect, fake_time):
    class FlakyTransport(httpx.AsyncBaseTransport):
        def __init__(self):
            self.inner = httpx.ASGITransport(app=site)
            self.failures = 2

        async def handle_async_request(self, request):
            if self.failures:
                self.failures -= 1
                raise httpx.ConnectError("connection refused", request=request)
            return await self.inner.handle_async_request(request)

    site.script(MYSELF, OK)

    async def scenario():
        client = SiteClient(
            "acme", "https://acme.atlassian.net", "svc@acme.example", TOKEN,
            transport=FlakyTransport(), clock=fake_time.clock, sleep=fake_time.sleep,
        )  # fmt: skip
        async with client:
            return await client.get_json(MYSELF), client.stats

    body, stats = run(scenario())
    assert body == {"ok": True}
    assert (stats.connection_errors, stats.retries) == (2, 2)


# --- origins and redirects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/rest/api/3/myself",
        "//evil.example/rest/api/3/myself",
        "https://acme.atlassian.net@evil.example/rest/api/3/myself",
        "http://acme.atlassian.net/rest/api/3/myself",
        "https://acme.atlassian.net:8443/rest/api/3/myself",
        "https://other.atlassian.net/rest/api/3/myself",
        "https://api.media.atlassian.com/file/1/binary",
    ],
)
def test_urls_off_the_site_origin_are_refused_before_any_request(site, connect, target):
    async def scenario():
        async with connect(site) as client:
            with pytest.raises(OriginRefused, match="acme: refused"):
                await client.get_json(target)
            with pytest.raises(OriginRefused):
                client.download(target)

    run(scenario())
    assert site.seen == []


def test_an_absolute_url_on_the_site_origin_is_accepted(site, connect):
    site.script(MYSELF, OK)

    async def scenario():
        async with connect(site) as client:
            return await client.get_json("https://ACME.atlassian.net:443/rest/api/3/myself")

    assert run(scenario()) == {"ok": True}


def test_same_origin_redirects_are_followed_with_credentials(site, connect):
    site.script("/old", (302, {"Location": "/new?x=1"}, {}))
    site.script("/new", OK)

    async def scenario():
        async with connect(site, token=TOKEN) as client:
            return await client.get_json("/old")

    assert run(scenario()) == {"ok": True}
    assert [seen.path for seen in site.seen] == ["/old", "/new"]
    assert all(seen.headers["authorization"] == f"Basic {CREDENTIALS}" for seen in site.seen)
    assert site.seen[1].query == [("x", "1")]


def test_attachment_content_follows_the_media_redirect_without_the_authorization_header(
    site, connect
):
    media = "https://api.media.atlassian.com/file/f-1/binary?token=media-jwt&client=c-1"
    site.script("/rest/api/3/attachment/content/10001", (303, {"Location": media}, {}))
    site.script("/file/f-1/binary", (200, {"Content-Type": "image/png"}, b"\x89PNG" * 50_000))

    async def scenario():
        async with connect(site, token=TOKEN) as client:
            url = "https://acme.atlassian.net/rest/api/3/attachment/content/10001"
            chunks = [chunk async for chunk in client.download(url, chunk_size=65_536)]
            return chunks, client.stats

    chunks, stats = run(scenario())
    assert b"".join(chunks) == b"\x89PNG" * 50_000
    assert len(chunks) > 1  # streamed, not read whole
    on_site, on_media = site.seen
    assert on_site.host == "acme.atlassian.net"
    assert on_site.headers["authorization"] == f"Basic {CREDENTIALS}"
    assert on_media.host == "api.media.atlassian.com"
    assert "authorization" not in on_media.headers
    assert on_media.query == [("token", "media-jwt"), ("client", "c-1")]
    assert stats.bytes_received >= 200_000


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/steal",
        "http://api.media.atlassian.com/file/f-1/binary",  # the media service, but not over TLS
        "https://api.media.atlassian.com.evil.example/file/f-1/binary",
    ],
)
def test_redirects_to_any_other_origin_are_refused(site, connect, location):
    site.script("/rest/api/3/attachment/content/10001", (302, {"Location": location}, {}))

    async def scenario():
        async with connect(site) as client:
            url = "/rest/api/3/attachment/content/10001"
            return [chunk async for chunk in client.download(url)]

    with pytest.raises(OriginRefused, match="not followed"):
        run(scenario())
    assert [seen.host for seen in site.seen] == ["acme.atlassian.net"]


# --- credentials stay secret -------------------------------------------------------------------


def test_the_api_token_never_appears_in_an_error_or_a_repr(site, fake_time):
    def echo(status):
        def answer(seen):
            said = f"{seen.headers.get('authorization')} {TOKEN}"
            return status, {}, {"errorMessages": [said], "errors": {"token": said}}

        return answer

    for status in (400, 401, 403, 404, 500):
        site.script(f"/{status}", echo(status))
    site.script("/429", (429, {"Retry-After": "1"}, {"message": f"token {TOKEN}"}))

    class LeakyTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            if request.url.path == "/unreachable":
                raise httpx.ConnectError(f"refused {request.headers['authorization']} {TOKEN}")
            return await httpx.ASGITransport(app=site).handle_async_request(request)

    async def scenario():
        client = SiteClient(
            "acme", "https://acme.atlassian.net", "svc@acme.example", TOKEN,
            transport=LeakyTransport(), clock=fake_time.clock, sleep=fake_time.sleep,
            retry=RetryPolicy(max_attempts=2),
        )  # fmt: skip
        errors: list[AtlassianError] = []
        async with client:
            for path in ("/400", "/401", "/403", "/404", "/500", "/429", "/unreachable"):
                try:
                    await client.get_json(path)
                except AtlassianError as error:
                    errors.append(error)
            try:
                await client.get_json(f"https://evil.example/?token={TOKEN}")
            except AtlassianError as error:
                errors.append(error)
        return client, errors

    client, errors = run(scenario())
    assert len(errors) == 8
    shown = [repr(client), str(client)] + [text for e in errors for text in (str(e), repr(e))]
    shown += [str(e.detail) for e in errors]
    for text in shown:
        assert TOKEN not in text
        assert CREDENTIALS not in text
    assert "[redacted]" in str(errors[1])  # the site's echo was kept, the secret was not


# --- stats and real sockets --------------------------------------------------------------------


def test_stats_count_what_was_sent_and_received(site, connect):
    site.script("/read", OK)

    async def scenario():
        async with connect(site) as client:
            await client.post_json("/read", {"issueIdsOrKeys": ["1"]}, idempotent=True)
            await client.get_json("/read")
            return client.stats.as_dict()

    stats = run(scenario())
    assert stats["requests"] == 2
    assert stats["bytes_sent"] == len(b'{"issueIdsOrKeys":["1"]}')
    assert stats["bytes_received"] == 2 * len(b'{"ok":true}')
    assert stats["rate_limited"] == stats["server_errors"] == stats["retries"] == 0


def test_over_real_sockets_a_time_out_a_429_and_a_503_are_retried(uvicorn_server):
    calls = {"n": 0}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(0.4)  # longer than the client's read time-out
        status, headers = {2: (429, [(b"retry-after", b"1")]), 3: (503, [])}.get(
            calls["n"], (200, [])
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"n": %d}' % calls["n"]})

    slept: list[float] = []

    async def sleep(seconds):
        slept.append(seconds)

    async def scenario(base_url):
        client = SiteClient(
            "acme", base_url, "svc@acme.example", TOKEN, timeout=0.1, sleep=sleep,
            rng=random.Random(1),
        )  # fmt: skip
        async with client:
            return await client.get_json("/rest/api/3/myself"), client.stats

    with uvicorn_server(app) as base_url:
        body, stats = run(scenario(base_url))
    assert body == {"n": 4}
    assert (stats.timeouts, stats.rate_limited, stats.server_errors) == (1, 1, 1)
    assert stats.retries == 3


def test_a_download_cut_short_raises_instead_of_returning_a_truncated_file(uvicorn_server):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        headers = [(b"content-length", b"100000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x" * 1000, "more_body": True})
        raise RuntimeError("the server fell over mid-file")

    async def scenario(base_url):
        async with SiteClient("acme", base_url, "svc@acme.example", TOKEN) as client:
            return [chunk async for chunk in client.download("/download/attachments/1/a.bin")]

    with uvicorn_server(app) as base_url, pytest.raises(SiteUnavailable, match="broke off"):
        run(scenario(base_url))


def test_the_site_url_must_be_an_origin_without_credentials():
    with pytest.raises(ValueError, match="http"):
        SiteClient("acme", "ftp://acme.atlassian.net", "e@x.io", TOKEN)
    with pytest.raises(ValueError) as caught:
        SiteClient("acme", f"https://svc:{TOKEN}@acme.atlassian.net", "e@x.io", TOKEN)
    assert TOKEN not in str(caught.value)
    client = SiteClient("acme", "https://acme.atlassian.net/wiki/", "e@x.io", TOKEN)
    assert client.origin == "https://acme.atlassian.net"
    run(client.aclose())


def test_time_is_only_measured_with_the_injected_clock(site, connect, fake_time):
    # Guard for the tests above: a real 3-second wait would show here.
    site.script(MYSELF, (429, {"Retry-After": "3"}, {}), OK)
    started = time.monotonic()

    async def scenario():
        async with connect(site) as client:
            await client.get_json(MYSELF)

    run(scenario())
    assert time.monotonic() - started < 1.0


def test_after_a_pause_longer_than_the_budget_other_requests_give_up_without_asking(site, connect):
    site.script("/a", (429, {"Retry-After": "3600"}, {}))
    site.script("/b", OK)

    async def scenario():
        async with connect(site) as client:
            with pytest.raises(RateLimited):
                await client.get_json("/a")
            with pytest.raises(RateLimited, match="asked for a pause of 3600 s"):
                await client.get_json("/b")

    run(scenario())
    assert [seen.path for seen in site.seen] == ["/a"]
