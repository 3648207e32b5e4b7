"""HTTP to one Atlassian Cloud site: credentials, retries, rate limits and origin checks.

`SiteClient` is the one place backupbot's Atlassian code sends requests. It authenticates with
an account's email and API token (or, for the Admin API, an organization's API key sent as a
Bearer token), sends credentials only to the site's own origin, retries what
is worth retrying (429 and 503 after `Retry-After`, other 5xx, time-outs and connection failures
with full-jitter backoff; never other 4xx), and keeps a busy site healthy: one 429 pauses every
request of the client, the number of requests in flight adapts (AIMD), and when the site
advertises its limit (`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-NearLimit`)
requests are paced just below it instead of being sent until the site says stop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import httpx

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
from atlassian_cloud.records import parse_json

# Jira answers `GET /rest/api/3/attachment/content/{id}` (and Confluence its download links) with
# a redirect to Atlassian's media service, whose URL carries a short-lived token of its own. That
# is the one place credentials-free cross-origin redirects are followed; anything else is refused.
MEDIA_HOSTS = frozenset({"api.media.atlassian.com"})
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=60.0)
_DETAIL_LENGTH = 300
_REDACTED = "[redacted]"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request tries before its error is raised."""

    max_attempts: int = 6  # the first try included
    max_total_wait: float = 120.0  # seconds of retry waiting one request may spend, in all
    backoff_base: float = 0.5  # full jitter: wait uniform(0, min(cap, base * 2**(attempt-1)))
    backoff_cap: float = 30.0


@dataclass(frozen=True)
class RatePolicy:
    """How the client shares a site's rate limit (see `RateController`)."""

    max_concurrency: int = 16
    initial_concurrency: int = 4  # grows by about one per round of successes, up to the max
    pacing_fraction: float = 0.9  # of an advertised limit: headroom for other clients and jitter
    limit_window: float = 1.0  # seconds X-RateLimit-Limit counts over when the site does not say
    decrease_factor: float = 0.85  # of the sending rate, on a 429
    near_limit_factor: float = 0.9  # of the sending rate, when the site says it is near its limit
    min_rate: float = 0.5  # requests per second; pacing never goes slower
    min_samples: int = 10  # sends in the last window needed to learn a rate from a 429


@dataclass
class TransportStats:
    """Counters for benchmarks and progress reports; every HTTP exchange counts once."""

    requests: int = 0  # exchanges sent, retries and redirect hops included
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers
    timeouts: int = 0
    connection_errors: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    waited_seconds: float = 0.0  # held back by the pause gate, pacing or backoff

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class RateController:
    """The client-side view of a site's rate limit; pure bookkeeping on times it is given.

    - Pause gate: a 429 (or a 503 with `Retry-After`) closes the gate for every request of the
      client until the time the site named; sending others meanwhile would only earn more 429s.
    - Concurrency (AIMD): the in-flight limit halves on a 429 and grows by 1/limit per success,
      so by about one per round trip, between 1 and `max_concurrency`.
    - Pacing: requests leave at most `rate` per second, evenly spaced. The rate is set to
      `pacing_fraction` of a limit the site advertises; without one it is learnt from 429s (the
      sending rate of the last second, when at least `min_samples` requests make it, times
      `decrease_factor`) and creeps up again by about 1% a second (at least 0.5 request/s a
      second) until the next 429, so the sawtooth stays close to the site's limit.
      `X-RateLimit-NearLimit: true`, or less than 10% of the limit remaining, eases the rate
      off (by `near_limit_factor`, once a window) before the site starts refusing.
    A 429 to a request sent before the last decrease is the same congestion event, and does not
    shrink anything again.
    """

    def __init__(self, policy: RatePolicy) -> None:
        self.policy = policy
        self.concurrency = float(max(1, min(policy.initial_concurrency, policy.max_concurrency)))
        self.rate: float | None = None  # requests per second; None: not paced
        self.ceiling: float | None = None  # pacing_fraction x the advertised limit
        self.paused_until = -math.inf
        self._next_slot = -math.inf
        self._last_decrease = -math.inf
        self._last_ease = -math.inf
        self._sends: deque[float] = deque()

    # --- admission ---------------------------------------------------------------------------

    @property
    def advertised_limit(self) -> float | None:
        """Requests per second the site says it allows, once a response has said so."""
        return self.ceiling / self.policy.pacing_fraction if self.ceiling is not None else None

    def reserve(self, now: float) -> tuple[float, bool]:
        """When a request may leave: `(time, True)` books a pacing slot at that time,
        `(time, False)` means the gate is closed until then and no slot was booked."""
        if now < self.paused_until:
            return self.paused_until, False
        if self.rate is None:
            return now, True
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self.rate
        return slot, True

    def record_send(self, now: float) -> None:
        self._sends.append(now)
        self._forget_sends(now)

    def pause_until(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    # --- feedback ----------------------------------------------------------------------------

    def on_success(self) -> None:
        self.concurrency = min(
            float(self.policy.max_concurrency), self.concurrency + 1.0 / self.concurrency
        )
        if self.rate is not None:
            per_second = max(0.5, 0.01 * self.rate)
            grown = self.rate + per_second / self.rate  # `rate` successes a second
            self.rate = min(grown, self.ceiling) if self.ceiling is not None else grown

    def on_rate_limited(self, sent_at: float, now: float) -> None:
        if sent_at <= self._last_decrease:
            return
        self._last_decrease = now
        self.concurrency = max(1.0, self.concurrency / 2.0)
        known = [r for r in (self.rate, self.ceiling, self._observed_rate(now)) if r]
        if known:
            self.rate = max(self.policy.min_rate, min(known) * self.policy.decrease_factor)

    def on_limit_headers(self, headers: Mapping[str, str], now: float) -> None:
        limit = _number(headers.get("x-ratelimit-limit"))
        if limit is not None and limit > 0:
            # Jira Cloud's burst limits are per second; Data Center-style headers say the
            # refill explicitly, and win when present.
            fill = _number(headers.get("x-ratelimit-fillrate"))
            interval = _number(headers.get("x-ratelimit-interval-seconds"))
            per_second = fill / interval if fill and interval else limit / self.policy.limit_window
            self.ceiling = per_second * self.policy.pacing_fraction
            if self.rate is None or self.rate > self.ceiling:
                self.rate = self.ceiling
        near = headers.get("x-ratelimit-nearlimit", "").strip().lower() == "true"
        remaining = _number(headers.get("x-ratelimit-remaining"))
        low = limit is not None and remaining is not None and remaining < 0.1 * limit
        if (near or low) and now - self._last_ease >= self.policy.limit_window:
            self._last_ease = now
            current = self.rate or self._observed_rate(now)
            if current:
                self.rate = max(self.policy.min_rate, current * self.policy.near_limit_factor)

    # --- measurement -------------------------------------------------------------------------

    def _observed_rate(self, now: float) -> float | None:
        """Requests sent in the last window, per second; None when the window overlaps a pause
        (a count taken across a pause would understate what the site accepts)."""
        window = self.policy.limit_window
        if self.paused_until > now - window:
            return None
        self._forget_sends(now)
        if len(self._sends) < self.policy.min_samples:
            return None  # too few to say what the site accepts: a 429 then is not our rate's
        return len(self._sends) / window

    def _forget_sends(self, now: float) -> None:
        horizon = now - self.policy.limit_window
        while self._sends and self._sends[0] <= horizon:
            self._sends.popleft()


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def retry_after_seconds(headers: Mapping[str, str], wall_now: float) -> float | None:
    """Seconds the site asked us to wait: `Retry-After` as seconds or an HTTP date, else Jira's
    `X-RateLimit-Reset` (ISO 8601, e.g. 2024-05-01T10:15Z); None when it did not say."""
    value = headers.get("retry-after")
    if value is not None:
        seconds = _number(value)
        if seconds is not None:
            return max(0.0, seconds)
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - wall_now)
    reset = headers.get("x-ratelimit-reset")
    if reset is not None:
        try:
            when = datetime.fromisoformat(reset.strip())
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - wall_now)
    return None


@dataclass(frozen=True)
class _Failure:
    """An attempt that may be worth repeating; `delay` None means "back off with jitter"."""

    error: AtlassianError
    retryable: bool
    delay: float | None = None
    pause_all: bool = False  # the site asked for a pause: hold every request of the client


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


class SiteClient:
    """An async HTTP client for ONE Atlassian Cloud site (Jira and Confluence share an origin).

    Paths are relative to the origin (`/rest/api/3/...`, `/wiki/api/v2/...`); absolute URLs are
    accepted only on that origin. Use as an async context manager, or call `aclose()`.
    `email` None sends `api_token` as `Authorization: Bearer` (Atlassian's Admin API keys) instead
    of Basic `email:token`.
    `clock`, `sleep`, `wall_clock` and `rng` are injectable so tests measure waits exactly.
    """

    def __init__(
        self,
        site: str,
        base_url: str,
        email: str | None,
        api_token: str,
        *,
        retry: RetryPolicy | None = None,
        rate: RatePolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
        rng: random.Random | None = None,
        credential_free_hosts: Iterable[str] = MEDIA_HOSTS,
        user_agent: str = "backupbot",
    ) -> None:
        parsed = httpx.URL(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
            raise ValueError(f"{site}: the site URL must be http(s)://host[:port]")
        self.site = site
        # Only the origin counts: Confluence lives under /wiki of the same origin, and a path in
        # the configured URL must not widen or narrow where credentials may go.
        self.origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
        self._origin_key = _origin(parsed)
        if email is None:
            credentials = api_token
            self._authorization = f"Bearer {api_token}"
        else:
            credentials = base64.b64encode(f"{email}:{api_token}".encode()).decode("ascii")
            self._authorization = f"Basic {credentials}"
        self._bearer = email is None
        self._secrets = tuple(s for s in (api_token, credentials) if len(s) >= 4)
        self.retry = retry or RetryPolicy()
        self.control = RateController(rate or RatePolicy())
        self.stats = TransportStats()
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._credential_free_hosts = frozenset(h.lower() for h in credential_free_hosts)
        self._in_flight = 0
        self._slots = asyncio.Condition()
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # every hop is checked here; see `_fetch`
            headers={"Accept": "application/json", "User-Agent": user_agent},
        )

    def __repr__(self) -> str:
        return f"SiteClient(site={self.site!r}, origin={self.origin!r})"

    async def __aenter__(self) -> SiteClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- public requests ---------------------------------------------------------------------

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a JSON document."""
        response = await self._fetch("GET", path, params=params)
        return self._decode(response, "GET")

    async def post_json(self, path: str, body: Any, *, idempotent: bool = False) -> Any:
        """POST a JSON body and return the JSON answer. Only `idempotent` POSTs (reads such as
        bulkfetch) are retried after a 5xx or time-out: a write may already have happened."""
        response = await self._fetch("POST", path, json_body=body, idempotent=idempotent)
        return self._decode(response, "POST")

    async def put_json(self, path: str, body: Any) -> Any:
        """PUT a JSON body and return the JSON answer (None when there is none). A PUT sets a
        state, so sending it again after a 5xx or time-out is safe: it is retried."""
        response = await self._fetch("PUT", path, json_body=body, idempotent=True)
        return self._decode(response, "PUT")

    async def delete(self, path: str) -> None:
        """DELETE what `path` names (retried: deleting twice leaves the same state)."""
        await self._fetch("DELETE", path, idempotent=True)

    async def post_multipart(
        self,
        path: str,
        files: Mapping[str, tuple[str, bytes, str]],
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """POST a multipart/form-data body (`files`: field -> (file name, bytes, media type))
        with extra `headers`, such as Atlassian's `X-Atlassian-Token: no-check` that uploads
        need; not retried after a 5xx or time-out, since the upload may have happened."""
        response = await self._fetch(
            "POST", path, files=files, extra_headers=headers, idempotent=False
        )
        return self._decode(response, "POST")

    async def get_page(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, str | None]:
        """GET one page of a cursor-paged list: `(body, next_url)`, `next_url` from the `Link:
        <...>; rel="next"` header (Confluence v2), else `_links.next`; None on the last page."""
        response = await self._fetch("GET", path, params=params)
        body = self._decode(response, "GET")
        next_link = response.links.get("next", {}).get("url")
        if not next_link and isinstance(body, dict):
            links = body.get("_links")
            if isinstance(links, dict) and isinstance(links.get("next"), str):
                next_link = links["next"]
        return body, next_link or None

    def download(self, url: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Stream a content URL of this site. The origin is checked now, before any request;
        a failure after the first chunk raises `SiteUnavailable` (no silent truncation)."""
        resolved = self._resolve(url)
        return self._stream(resolved, chunk_size)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # --- URLs and redirects ------------------------------------------------------------------

    def _resolve(self, target: str) -> httpx.URL:
        url = httpx.URL(urljoin(self.origin + "/", target))
        if _origin(url) != self._origin_key:
            raise OriginRefused(
                self.site,
                f"refused {self._describe(url)}: it is not on {self.origin}, and this site's "
                "credentials are only sent to its own origin",
            )
        return url

    def _describe(self, url: httpx.URL) -> str:
        """The URL for a message: its path on this origin, or origin + path elsewhere; never
        the query, which may carry cursors or a media token."""
        path = url.raw_path.decode("ascii").split("?", 1)[0]  # as sent: ids stay encoded
        if _origin(url) == self._origin_key:
            return path
        return f"{url.scheme}://{url.host}{path}"

    async def _fetch(
        self,
        method: str,
        target: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        stream: bool = False,
    ) -> httpx.Response:
        url = target if isinstance(target, httpx.URL) else self._resolve(target)
        on_site = True
        for _hop in range(MAX_REDIRECTS + 1):
            response = await self._exchange(
                method,
                url,
                params=params,
                json_body=json_body,
                files=files,
                extra_headers=extra_headers,
                idempotent=idempotent,
                stream=stream,
                on_site=on_site,
            )
            if response.status_code not in _REDIRECTS or "location" not in response.headers:
                return response
            await response.aclose()
            status = response.status_code
            location = httpx.URL(urljoin(str(url), response.headers["location"]))
            # A same-origin hop keeps the credentials. Anything else is refused unless it is
            # Atlassian's media service, where the redirect URL carries its own short-lived
            # token: the request goes there WITHOUT our Authorization header (the site's API
            # token never reaches another origin), and once off-site the chain stays
            # unauthenticated, so a redirect cannot steer a credentialed request anywhere.
            if not (on_site and _origin(location) == self._origin_key):
                media = location.scheme == "https" and location.host in self._credential_free_hosts
                if not media:
                    raise OriginRefused(
                        self.site,
                        f"{method} {self._describe(url)} redirected to "
                        f"{self._describe(location)}, which is not on {self.origin}; not followed",
                    )
                on_site = False
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, json_body, files = "GET", None, None
            params = None  # the Location carries its own query
            url = location
        raise UnexpectedResponse(
            self.site, f"was redirected more than {MAX_REDIRECTS} times", method=method
        )

    # --- one request, with retries -----------------------------------------------------------

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        idempotent: bool,
        stream: bool,
        on_site: bool,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        path = self._describe(url)
        headers = {"Authorization": self._authorization} if on_site else {}
        if on_site and extra_headers:
            headers = {**extra_headers, **headers}
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            request = self._client.build_request(
                method, url, params=params, json=json_body, files=files, headers=headers
            )
            if files:
                request.read()  # a multipart body is a stream: buffered, so it can be counted
            # The site's limiter does not govern the media service: only on-site requests take
            # a place in flight, wait at the pause gate and are paced.
            sent_at = await self._admit(method, path) if on_site else self._clock()
            try:
                outcome = await self._attempt(
                    request, sent_at, path, idempotent=idempotent, stream=stream, on_site=on_site
                )
            finally:
                await self._leave(on_site)
            if isinstance(outcome, httpx.Response):
                return outcome
            delay = outcome.delay if outcome.delay is not None else self._backoff(attempt)
            over_budget = waited + delay > self.retry.max_total_wait
            if on_site and outcome.pause_all:
                # Everyone waits, not just this request (see RateController); a pause longer
                # than the budget makes the others give up at once instead of asking again.
                self.control.pause_until(self._clock() + delay)
            if not outcome.retryable or attempt >= self.retry.max_attempts or over_budget:
                raise outcome.error
            self.stats.retries += 1
            waited += delay
            gated = on_site and self.control.paused_until > self._clock()
            if delay > 0 and not gated:
                self.stats.waited_seconds += delay
                await self._sleep(delay)

    async def _attempt(
        self,
        request: httpx.Request,
        sent_at: float,
        path: str,
        *,
        idempotent: bool,
        stream: bool,
        on_site: bool,
    ) -> httpx.Response | _Failure:
        """Send once: the response when it is a success or a redirect, a `_Failure` when it is
        worth retrying, and raise the error when retrying cannot help."""
        method = request.method
        self.stats.requests += 1
        self.stats.bytes_sent += len(request.content)
        try:
            response = await self._client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            self.stats.timeouts += 1
            return _Failure(
                SiteUnavailable(
                    self.site, f"timed out ({type(exc).__name__})", method=method, path=path
                ),
                # Connecting never reached the site, so even a write may be tried again.
                retryable=idempotent or isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout),
            )
        except httpx.TransportError as exc:
            self.stats.connection_errors += 1
            reason = self._redact(str(exc)) or type(exc).__name__
            return _Failure(
                SiteUnavailable(
                    self.site, f"could not be reached ({reason})", method=method, path=path
                ),
                retryable=idempotent or isinstance(exc, httpx.ConnectError),
            )
        now = self._clock()
        if on_site:
            self.control.on_limit_headers(response.headers, now)
        status = response.status_code
        if status < 400:
            if on_site and status < 300:
                self.control.on_success()
            if not stream:
                self.stats.bytes_received += len(response.content)
            return response
        if stream:
            await response.aread()
            await response.aclose()
        self.stats.bytes_received += len(response.content)
        detail = self._detail(response)
        asked = retry_after_seconds(response.headers, self._wall_clock())
        if status == 429:
            self.stats.rate_limited += 1
            if on_site:
                self.control.on_rate_limited(sent_at, now)
            limited = RateLimited(
                self.site,
                "was refused: the site's rate limit was reached",
                method=method,
                path=path,
                status=status,
                detail=detail,
                retry_after=asked,
            )
            # A 429 was not processed, so any request may be sent again.
            return _Failure(limited, retryable=True, delay=asked, pause_all=True)
        if status >= 500:
            self.stats.server_errors += 1
            error = SiteUnavailable(
                self.site,
                "failed on the site's side",
                method=method,
                path=path,
                status=status,
                detail=detail,
            )
            if status == 503 and asked is not None:
                # "Come back in N seconds": the site as a whole is saturated, and did not act.
                return _Failure(error, retryable=True, delay=asked, pause_all=True)
            return _Failure(error, retryable=idempotent)
        raise self._client_error(method, path, status, detail)

    async def _admit(self, method: str, path: str) -> float:
        """Wait for a place in flight, the pause gate and a pacing slot; return the send time."""
        async with self._slots:
            while self._in_flight >= max(1, int(self.control.concurrency)):
                await self._slots.wait()
            self._in_flight += 1
        try:
            while True:
                now = self._clock()
                at, booked = self.control.reserve(now)
                if not booked and at - now > self.retry.max_total_wait:
                    raise RateLimited(
                        self.site,
                        f"was not sent: the site asked for a pause of {at - now:.0f} s, longer "
                        "than the retry budget",
                        method=method,
                        path=path,
                        retry_after=at - now,
                    )
                if at > now:
                    self.stats.waited_seconds += at - now
                    await self._sleep(at - now)
                if booked and self.control.paused_until <= self._clock():
                    break
        except BaseException:
            await self._leave(True)
            raise
        sent_at = self._clock()
        self.control.record_send(sent_at)
        return sent_at

    async def _leave(self, on_site: bool) -> None:
        if not on_site:
            return
        async with self._slots:
            self._in_flight -= 1
            self._slots.notify_all()

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.retry.backoff_cap, self.retry.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, ceiling)

    # --- responses ---------------------------------------------------------------------------

    async def _stream(self, url: httpx.URL, chunk_size: int) -> AsyncIterator[bytes]:
        response = await self._fetch("GET", url, stream=True)
        received = 0
        try:
            async for chunk in response.aiter_bytes(chunk_size):
                received += len(chunk)
                self.stats.bytes_received += len(chunk)
                yield chunk
        except httpx.HTTPError as exc:
            raise SiteUnavailable(
                self.site,
                f"download broke off after {received} bytes ({type(exc).__name__})",
                method="GET",
                path=self._describe(response.request.url),
            ) from exc
        finally:
            await response.aclose()

    def _decode(self, response: httpx.Response, method: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return parse_json(response.content)
        except ValueError:
            raise UnexpectedResponse(
                self.site,
                "answered with something that is not JSON",
                method=method,
                path=self._describe(response.request.url),
                status=response.status_code,
            ) from None

    def _object(self, value: Any, method: str, path: str) -> dict[str, Any]:
        """`value` when it is a JSON object, else `UnexpectedResponse`: for the readers."""
        if not isinstance(value, dict):
            raise UnexpectedResponse(
                self.site, "answered without the JSON object its API describes", method=method,
                path=path,
            )  # fmt: skip
        return value

    def _list(self, value: Any, method: str, path: str) -> list[dict[str, Any]]:
        """`value` when it is a list of JSON objects, else `UnexpectedResponse`."""
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise UnexpectedResponse(
                self.site, "answered without the list its API describes", method=method, path=path
            )
        return value

    def _client_error(self, method: str, path: str, status: int, detail: str | None) -> Exception:
        kind: type[AtlassianError]
        if status == 401:
            credential = "API key" if self._bearer else "email and API token"
            kind, what = AuthenticationFailed, f"was refused: check the site's {credential}"
        elif status == 403:
            kind, what = PermissionDenied, "was refused: the account lacks permission"
        elif status in (404, 410):
            kind, what = NotFound, "found nothing"
        else:
            kind, what = RequestRejected, "was rejected"
        return kind(self.site, what, method=method, path=path, status=status, detail=detail)

    def _detail(self, response: httpx.Response) -> str | None:
        """Atlassian's own words for an error, from any of its products' error shapes."""
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        parts: list[str] = []
        if isinstance(body, dict):
            messages = body.get("errorMessages")  # Jira
            if isinstance(messages, list):
                parts += [str(m) for m in messages]
            errors = body.get("errors")
            if isinstance(errors, dict):  # Jira, by field
                parts += [f"{key}: {value}" for key, value in errors.items()]
            elif isinstance(errors, list):  # Confluence v2
                for item in errors:
                    if isinstance(item, dict):
                        words = [str(item[k]) for k in ("title", "detail") if item.get(k)]
                        parts.append(" - ".join(words) or str(item.get("code", "")))
            for key in ("message", "error"):  # Confluence v1, the media service, gateways
                if isinstance(body.get(key), str):
                    parts.append(body[key])
        elif response.headers.get("content-type", "").startswith("text/plain"):
            parts.append(response.text.strip())
        text = self._redact("; ".join(p for p in parts if p).strip())
        if len(text) > _DETAIL_LENGTH:
            text = text[: _DETAIL_LENGTH - 3] + "..."
        return text or None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text
