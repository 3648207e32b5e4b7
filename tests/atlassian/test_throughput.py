"""Against a site limited like the benchmark's sandbox (a token bucket of 50 requests refilled at
50 a second, 50 ms per answer, advertising its limit as Jira Cloud does), the client uses most
of the limit while almost never being refused. Real time, about two seconds."""

import asyncio
import time

import httpx

from atlassian.transport import SiteClient

LIMIT = 50  # requests a second, and the bucket's size
LATENCY = 0.05
DURATION = 2.0


class TokenBucketSite:
    def __init__(self) -> None:
        self.tokens = float(LIMIT)
        self.refilled_at = time.monotonic()
        self.answered = 0
        self.refused = 0

    def _take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(LIMIT, self.tokens + (now - self.refilled_at) * LIMIT)
        self.refilled_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def __call__(self, scope, receive, send):
        admitted = self._take()
        await asyncio.sleep(LATENCY)
        headers = [
            (b"x-ratelimit-limit", str(LIMIT).encode()),
            (b"x-ratelimit-remaining", str(int(self.tokens)).encode()),
        ]
        if admitted:
            self.answered += 1
            status = 200
        else:
            self.refused += 1
            status = 429
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


def test_the_client_uses_most_of_an_advertised_limit_with_almost_no_429s():
    site = TokenBucketSite()

    async def scenario():
        client = SiteClient(
            "bench", "http://sandbox.test", "svc@acme.example", "sandbox-token",
            transport=httpx.ASGITransport(app=site),
        )  # fmt: skip
        async with client:
            stop = time.monotonic() + DURATION

            async def worker():
                while time.monotonic() < stop:
                    await client.get_json("/rest/api/3/myself")

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(32)))
            return time.monotonic() - started, client.stats

    elapsed, stats = asyncio.run(scenario())
    assert site.answered / elapsed >= 0.8 * LIMIT
    assert stats.rate_limited <= 0.02 * stats.requests
