"""Error answers in the shape each Atlassian API uses, so clients parse them as they would live.

Jira REST answers `{"errorMessages": [...], "errors": {}}`; Confluence REST v2 answers
`{"errors": [{"status", "code", "title", "detail"}]}`; Confluence REST v1 answers
`{"statusCode", "data", "message", "reason"}`. Which one is chosen by the request path.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from http import HTTPStatus

from sandbox.responses import JSONResponse

CONFLUENCE_V2_PREFIX = "/wiki/api/v2"
CONFLUENCE_PREFIX = "/wiki"

_V2_CODES = {
    400: "INVALID_REQUEST_PARAMETER",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class Api(Enum):
    JIRA = "jira"
    CONFLUENCE_V2 = "confluence-v2"
    CONFLUENCE_V1 = "confluence-v1"


def api_of(path: str) -> Api:
    if path.startswith(CONFLUENCE_V2_PREFIX + "/") or path == CONFLUENCE_V2_PREFIX:
        return Api.CONFLUENCE_V2
    if path.startswith(CONFLUENCE_PREFIX + "/"):
        return Api.CONFLUENCE_V1
    return Api.JIRA


class ApiError(Exception):
    """A request the sandbox refuses, as the real API would: status and a human message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        detail: str | None = None,
        field_errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.field_errors = dict(field_errors or {})


def error_body(
    api: Api,
    status: int,
    message: str,
    detail: str | None = None,
    field_errors: Mapping[str, str] | None = None,
) -> dict[str, object]:
    if api is Api.CONFLUENCE_V2:
        code = _V2_CODES.get(status, HTTPStatus(status).name)
        return {"errors": [{"status": status, "code": code, "title": message, "detail": detail}]}
    if api is Api.CONFLUENCE_V1:
        return {
            "statusCode": status,
            "data": {
                "authorized": status not in (401, 403),
                "valid": status != 400,
                "allowedInReadOnlyMode": True,
                "errors": [],
                "successful": False,
            },
            "message": message,
            "reason": HTTPStatus(status).phrase,
        }
    # Jira puts a message about one field under `errors`, keyed by the field, and no message then.
    if field_errors:
        return {"errorMessages": [], "errors": dict(field_errors)}
    return {"errorMessages": [message], "errors": {}}


def error_response(
    path: str,
    status: int,
    message: str,
    *,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
    field_errors: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(api_of(path), status, message, detail, field_errors),
        status_code=status,
        headers=headers,
    )


class FailingItem(ApiError):
    """An injected fault: an item that `Faults` marks as never loading (always a 500)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message)
