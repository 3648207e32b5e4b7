"""The sandbox's knobs: latency, rate limit and injected faults, and the counters tests read.

`SandboxOptions` is fixed when the app is created. `Faults` is deliberately mutable and lives on
`app.state.faults`, so a test can switch a fault on, make its requests and switch it off again
while the server keeps running. `SandboxStats` (`app.state.stats`, also `GET /__sandbox/stats`)
counts what the server answered.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# The API token every Basic-auth email signs in with (docs/contract.md); public by design.
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105
EMAIL_SCOPE_KEY = "sandbox.email"  # where the middleware leaves the signed-in email for routes
NEAR_LIMIT_FRACTION = 0.2  # Jira says "near limit" when less than a fifth of the budget remains

Matcher = Callable[[str, str], bool]  # (HTTP method, path) -> does the rule apply


@dataclass(frozen=True)
class SandboxOptions:
    """How the server behaves on every request.

    `latency_ms` is added to every response without blocking the event loop. `rate_limit` is a
    token bucket of that many requests refilled at that many per second (0: unlimited).
    `fault_seed` seeds the draws of probabilistic faults, so a run can be repeated.
    """

    latency_ms: int = 0
    rate_limit: int = 0
    fault_seed: int = 0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must not be negative, got {self.latency_ms}")
        if self.rate_limit < 0:
            raise ValueError(f"rate_limit must not be negative, got {self.rate_limit}")


def _matcher(paths: Iterable[str], where: Matcher | None) -> Matcher:
    """Paths match exactly, or by prefix when they end with `*`; no paths and no predicate: all."""
    exact = {p for p in paths if not p.endswith("*")}
    prefixes = tuple(p[:-1] for p in paths if p.endswith("*"))
    if not exact and not prefixes:
        return where or (lambda _method, _path: True)

    def matches(method: str, path: str) -> bool:
        on_path = path in exact or path.startswith(prefixes)
        return on_path and (where is None or where(method, path))

    return matches


@dataclass
class FaultRule:
    """Answer matching requests with `status` (a 5xx), `remaining` more times (None: always)."""

    status: int
    matches: Matcher
    remaining: int | None
    probability: float
    retry_after: int  # seconds, sent with 503


@dataclass
class DelayRule:
    """Hold matching requests `seconds` before answering, `remaining` more times (None: always)."""

    seconds: float
    matches: Matcher
    remaining: int | None


def _take(rule: FaultRule | DelayRule) -> None:
    if rule.remaining is not None:
        rule.remaining -= 1


class Faults:
    """Failures a test switches on: server errors, slow answers, and items that never load.

    A failing issue (by id or key) or failing page (page or blog post id) makes every response that
    would carry that item's content answer 500: for an issue, search pages returning fields other
    than id and key, bulk fetches including it, its comments, changelog fetches including it and
    its attachments' content; for a page, listings with a body format that include it, its
    comments, attachments, labels and restrictions and its attachment downloads. Listings of ids
    and metadata still work, so a client can go round the item and report it.
    """

    def __init__(self, seed: int = 0) -> None:
        self.rules: list[FaultRule] = []
        self.delays: list[DelayRule] = []
        self.failing_issues: set[str] = set()
        self.failing_pages: set[str] = set()
        self._random = random.Random(seed)  # noqa: S311 - fault draws, not secrets
        self._lock = threading.Lock()

    def fail(
        self,
        status: int = 500,
        *,
        paths: Iterable[str] = (),
        where: Matcher | None = None,
        times: int | None = 1,
        probability: float = 1.0,
        retry_after: int = 1,
    ) -> FaultRule:
        """Answer `status` to matching requests, `times` times (None: until cleared).

        A 5xx, or 429 for a rate-limit refusal that does not depend on timing; 429 and 503
        carry `Retry-After`.
        """
        if not (500 <= status <= 599 or status == 429):
            raise ValueError(f"an injected fault is a 5xx or a 429, got {status}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        rule = FaultRule(status, _matcher(paths, where), times, probability, max(1, retry_after))
        with self._lock:
            self.rules.append(rule)
        return rule

    def delay(
        self,
        seconds: float,
        *,
        paths: Iterable[str] = (),
        where: Matcher | None = None,
        times: int | None = None,
    ) -> DelayRule:
        """Answer matching requests `seconds` late (enough to make a client time out)."""
        rule = DelayRule(seconds, _matcher(paths, where), times)
        with self._lock:
            self.delays.append(rule)
        return rule

    def fail_issue(self, id_or_key: str) -> None:
        with self._lock:
            self.failing_issues.add(id_or_key.upper())

    def fail_page(self, content_id: str) -> None:
        with self._lock:
            self.failing_pages.add(content_id)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.delays.clear()
            self.failing_issues.clear()
            self.failing_pages.clear()

    def issue_fails(self, issue_id: str, issue_key: str) -> bool:
        return issue_id in self.failing_issues or issue_key.upper() in self.failing_issues

    def page_fails(self, content_id: str) -> bool:
        return content_id in self.failing_pages

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        """The first live rule matching this request, counted as used; None if none fires."""
        with self._lock:
            for rule in self.rules:
                if rule.remaining == 0 or not rule.matches(method, path):
                    continue
                if self._random.random() >= rule.probability:
                    continue
                _take(rule)
                return rule
        return None

    def take_delay(self, method: str, path: str) -> float:
        """Seconds to hold this request (the sum of matching live delays, each counted used)."""
        total = 0.0
        with self._lock:
            for rule in self.delays:
                if rule.remaining != 0 and rule.matches(method, path):
                    _take(rule)
                    total += rule.seconds
        return total


@dataclass
class SandboxStats:
    """What the server answered, excluding its own `/__sandbox/` endpoints."""

    requests: int = 0
    rate_limited: int = 0
    faults_injected: int = 0
    unauthorized: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)  # what clients changed, by kind

    def as_json(self) -> dict[str, object]:
        return {
            "writes": self.writes.total(),
            "writesByKind": dict(sorted(self.writes.items())),
            "requests": self.requests,
            "rateLimited": self.rate_limited,
            "faultsInjected": self.faults_injected,
            "unauthorized": self.unauthorized,
            "byStatus": {str(status): n for status, n in sorted(self.by_status.items())},
        }


@dataclass(frozen=True)
class Admission:
    """The rate limiter's answer to one request."""

    allowed: bool
    limit: int
    remaining: int  # whole requests left in the bucket after this one
    retry_after: int  # whole seconds before a request would be allowed (at least 1), if refused

    @property
    def near_limit(self) -> bool:
        return self.remaining < self.limit * NEAR_LIMIT_FRACTION


class TokenBucket:
    """`capacity` tokens, refilled continuously at `capacity` per second; a request takes one."""

    def __init__(self, capacity: int, clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1:
            raise ValueError(f"a token bucket needs a capacity of at least 1, got {capacity}")
        self.capacity = capacity
        self._clock = clock
        self._tokens = float(capacity)
        self._updated = clock()
        self._lock = threading.Lock()

    def admit(self) -> Admission:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.capacity)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return Admission(True, self.capacity, int(self._tokens), 0)
            wait = (1.0 - self._tokens) / self.capacity
            return Admission(False, self.capacity, 0, max(1, math.ceil(wait)))
