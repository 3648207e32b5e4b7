"""What can go wrong when backupbot talks to an Atlassian Cloud site, as typed exceptions.

Every message names the site and what failed (method, path without its query, HTTP status and
Atlassian's own error text when it gave one) so an admin can act on it from a Slack message.
No message ever carries the API token or the Authorization header: the transport redacts both
before an error is built, and the errors keep no reference to requests or responses.
"""

from __future__ import annotations


class AtlassianError(Exception):
    """A request to an Atlassian site failed; `str()` is a sentence an admin can read."""

    def __init__(
        self,
        site: str,
        what: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.site = site
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        request = f"{method} {path} " if method and path else ""
        message = f"{site}: {request}{what}"
        if status is not None:
            message += f" (HTTP {status})"
        if detail:
            message += f": {detail}"
        super().__init__(message)


class AuthenticationFailed(AtlassianError):
    """401: the email and API token were not accepted (wrong, revoked or expired token)."""


class PermissionDenied(AtlassianError):
    """403: the account is known but may not see or do this."""


class NotFound(AtlassianError):
    """404 or 410: the item does not exist, or the account cannot see that it does."""


class RequestRejected(AtlassianError):
    """Another 4xx: the site refused the request as built; retrying cannot help."""


class RateLimited(AtlassianError):
    """429 after every allowed retry, or a wait longer than the retry budget allows."""

    def __init__(
        self,
        site: str,
        what: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(site, what, method=method, path=path, status=status, detail=detail)
        self.retry_after = retry_after  # seconds the site asked for, when it said


class SiteUnavailable(AtlassianError):
    """5xx, time-outs or connection failures that outlasted the retries."""


class OriginRefused(AtlassianError):
    """A URL outside the site's own origin: refused before any request, so credentials stay home."""


class UnexpectedResponse(AtlassianError):
    """The site answered, but not with what its API describes (not JSON, or the wrong shape)."""
