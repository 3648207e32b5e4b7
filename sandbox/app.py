"""The sandbox site as an ASGI app: Jira and Confluence routes behind Atlassian's front door.

`create_app(data, options)` serves the routes of `jira_api` and `confluence_api`, and those of
`directory` (the Admin API's user search and the product calls that tell admins apart). In front
of them one middleware does, for every request and in this order: count it, wait the configured
latency (and any injected delay) without blocking the event loop, take a token from the rate
limiter (429 with `Retry-After` when none is left), check auth (Basic with any email and the token
`sandbox-token`; on the Admin API's `/admin/` paths, `Bearer sandbox-token` instead; otherwise
401) and fire injected faults (500, or 503 with `Retry-After`). Refusals of Admin API requests
come in the Admin API's error shape.
When a rate limit is set, every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and,
under a fifth of the budget, `X-RateLimit-NearLimit: true`, as Jira Cloud sends.

State for tests and benchmarks: `app.state.data`, `.options`, `.faults` (switch faults on and
off while serving) and `.stats`, which `GET /__sandbox/stats` also shows (that path needs no
auth and is not counted, limited or faulted).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.confluence_api import ConfluenceApi
from sandbox.confluence_writes import ConfluenceWrites
from sandbox.control import (
    EMAIL_SCOPE_KEY,
    SANDBOX_TOKEN,
    Admission,
    Faults,
    SandboxOptions,
    SandboxStats,
    TokenBucket,
)
from sandbox.data import SiteData
from sandbox.directory import (
    DirectoryApi,
    admin_error_response,
    has_sandbox_bearer,
    is_admin_api,
)
from sandbox.errors import Api, ApiError, FailingItem, api_of, error_response
from sandbox.jira_api import JiraApi
from sandbox.jira_writes import JiraWrites
from sandbox.responses import JSONResponse

CONTROL_PREFIX = "/__sandbox/"
UNAUTHENTICATED = "Client must be authenticated to access this resource."


def authenticated_email(scope: Scope) -> str | None:
    """The email of valid sandbox Basic credentials (any email, the sandbox token), else None."""
    header = dict(scope.get("headers", [])).get(b"authorization", b"")
    scheme, _, encoded = header.partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, separator, token = decoded.partition(":")
    if not separator or not email.strip() or token != SANDBOX_TOKEN:
        return None
    return email.strip()


def _refusal_response(
    path: str, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """An error in the shape of the API the path belongs to (the Admin API has its own)."""
    if is_admin_api(path):
        return admin_error_response(status, message, headers=headers)
    return error_response(path, status, message, headers=headers)


def _rate_headers(admission: Admission) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-ratelimit-limit", str(admission.limit).encode()),
        (b"x-ratelimit-remaining", str(admission.remaining).encode()),
    ]
    if admission.near_limit:
        headers.append((b"x-ratelimit-nearlimit", b"true"))
    return headers


class SandboxMiddleware:
    """Latency, rate limit, auth and injected faults, in front of every API route."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        options: SandboxOptions,
        faults: Faults,
        stats: SandboxStats,
    ) -> None:
        self.app = app
        self.options = options
        self.faults = faults
        self.stats = stats
        self.bucket = TokenBucket(options.rate_limit) if options.rate_limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        stats = self.stats
        stats.requests += 1
        method, path = scope["method"], scope["path"]
        wait = self.options.latency_ms / 1000 + self.faults.take_delay(method, path)
        if wait:
            await anyio.sleep(wait)

        admission = self.bucket.admit() if self.bucket else None
        extra = _rate_headers(admission) if admission else []

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.by_status[message["status"]] += 1
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        response = self._refusal(scope, admission)
        if response is not None:
            await response(scope, receive, send_counted)
            return
        await self.app(scope, receive, send_counted)

    def _refusal(self, scope: Scope, admission: Admission | None) -> Response | None:
        """The answer that stops a request before it reaches its route, if any."""
        method, path = scope["method"], scope["path"]
        if admission and not admission.allowed:
            self.stats.rate_limited += 1
            reset = datetime.now(UTC) + timedelta(seconds=admission.retry_after)
            headers = {
                "Retry-After": str(admission.retry_after),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
            }
            if api_of(path) is Api.JIRA:
                headers["RateLimit-Reason"] = "jira-burst-based"
            return _refusal_response(path, 429, "Rate limit exceeded.", headers)
        if is_admin_api(path):
            # The Admin API takes an organization's API key as a Bearer token, never Basic.
            if not has_sandbox_bearer(scope):
                self.stats.unauthorized += 1
                challenge = {"WWW-Authenticate": 'Bearer realm="sandbox"'}
                return admin_error_response(401, UNAUTHENTICATED, headers=challenge)
        else:
            email = authenticated_email(scope)
            if email is None:
                self.stats.unauthorized += 1
                challenge = {"WWW-Authenticate": 'Basic realm="sandbox"'}
                return error_response(path, 401, UNAUTHENTICATED, headers=challenge)
            scope[EMAIL_SCOPE_KEY] = email
        fault = self.faults.take_fault(method, path)
        if fault is not None:
            self.stats.faults_injected += 1
            if fault.status == 429:
                self.stats.rate_limited += 1
            waits = fault.status in (429, 503)
            headers = {"Retry-After": str(fault.retry_after)} if waits else {}
            message = {429: "Rate limit exceeded.", 503: "Service unavailable."}.get(
                fault.status, "Internal server error."
            )
            return _refusal_response(path, fault.status, message, headers)
        return None


def _api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    if isinstance(error, FailingItem):
        request.app.state.stats.faults_injected += 1
    return error_response(
        request.url.path,
        error.status,
        error.message,
        detail=error.detail,
        field_errors=error.field_errors,
    )


def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        message = f"No resource at {request.url.path} on the sandbox site."
    else:
        message = f"{request.method} is not allowed on {request.url.path}."
    return error_response(request.url.path, error.status_code, message)


def _unexpected(request: Request, _error: Exception) -> Response:
    return error_response(request.url.path, 500, "Internal server error.")


async def _stats(request: Request) -> Response:
    return JSONResponse(request.app.state.stats.as_json())


def create_app(data: SiteData, options: SandboxOptions | None = None) -> Starlette:
    """A sandbox site serving `data`; `options` default to no latency and no rate limit."""
    options = options or SandboxOptions()
    faults = Faults(options.fault_seed)
    stats = SandboxStats(writes=data.writes)
    confluence = ConfluenceApi(data, faults)
    app = Starlette(
        routes=[
            Route(f"{CONTROL_PREFIX}stats", _stats, methods=["GET"]),
            *JiraApi(data, faults).routes(),
            *JiraWrites(data, faults).routes(),
            *confluence.routes(),
            *ConfluenceWrites(confluence).routes(),
            *DirectoryApi(data).routes(),
        ],
        middleware=[Middleware(SandboxMiddleware, options=options, faults=faults, stats=stats)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.data = data
    app.state.options = options
    app.state.faults = faults
    app.state.stats = stats
    return app
