"""Reading a Jira Cloud site through REST v3: projects, issues, comments, changelogs, attachments.

Each listing is an async iterator that fetches one page at a time, so callers hold a page, never
a site. Page sizes are the largest each endpoint allows: 100 projects a page, 5000 ids a page
from `/search/jql` when only `id` is asked for, 100 issues a bulkfetch, changelogs of up to 1000
issues a request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atlassian_cloud.errors import NotFound, RequestRejected, UnexpectedResponse
from atlassian_cloud.records import JSONObject
from atlassian_cloud.transport import SiteClient

API = "/rest/api/3"
PROJECT_PAGE = 100  # /project/search: "Must be less than or equal to 100"
ISSUE_ID_PAGE = 5000  # /search/jql: the most it returns, reached when only id or key is asked
BULKFETCH_BATCH = 100  # /issue/bulkfetch: "You can request up to 100 issues"
CHANGELOG_BATCH = 1000  # /changelog/bulkfetch: issueIdsOrKeys has maxItems 1000
CHANGELOG_PAGE = 1000  # /changelog/bulkfetch: maxResults default 1000 (maximum 10000)
COMMENT_PAGE = 100  # /issue/{id}/comment: the default page size
PROJECT_EXPAND = "description,lead,issueTypes"
ADMINISTER = "ADMINISTER"  # the global permission "Administer Jira": a Jira (app) admin


@dataclass(frozen=True)
class IssueBatch:
    """One bulkfetch answer: the issues, and those Jira could not return with its reason."""

    issues: list[JSONObject]
    errors: list[tuple[str, str]]  # (issue id, Jira's message)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def project_jql(project_key: str, updated_since: str | None = None) -> str:
    """JQL for a project's issues in key order, quoted so any key is taken literally."""
    quoted = '"' + project_key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    clause = f"project = {quoted}"
    if updated_since is not None:
        clause += f' AND updated >= "{updated_since}"'
    return clause + " ORDER BY key ASC"


def jql_minute(instant: datetime, zone: ZoneInfo) -> str:
    """`instant` as a JQL date-time literal (`yyyy-MM-dd HH:mm`) in `zone`, rounded DOWN to the
    minute: JQL has minute precision, and an earlier bound re-reads a little rather than miss
    an update."""
    if instant.tzinfo is None:
        raise ValueError("updated_since must be an aware datetime (with a time zone)")
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


ISSUE_CREATE_BATCH = 50  # /issue/bulk: "The request can contain up to 50 issues"
ORIGIN_PROPERTY = "backupbot.origin"  # the entity property every restored issue carries
ORIGIN_SEARCH_PAGE = 100  # /search/jql: the most it returns when more than id or key is asked
NO_CHECK = {"X-Atlassian-Token": "no-check"}  # uploads are refused without it (XSRF check)


@dataclass(frozen=True)
class ElementFailure:
    """Why one issue of a bulk create failed: Jira's words, and the fields it named."""

    reason: str
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BulkCreateResult:
    """One `/issue/bulk` answer mapped back to the request's order: `created[n]` is the
    `(id, key)` of the n-th issue asked for, or None when `failed` has its failure under n."""

    created: list[tuple[str, str] | None]
    failed: dict[int, ElementFailure]


def _bulk_error(error: JSONObject) -> ElementFailure:
    element = error.get("elementErrors")
    parts: list[str] = []
    fields: dict[str, Any] = {}
    if isinstance(element, dict):
        parts += [str(m) for m in element.get("errorMessages") or []]
        if isinstance(element.get("errors"), dict):
            fields = element["errors"]
            parts += [f"{name}: {message}" for name, message in fields.items()]
    status = error.get("status")
    text = "; ".join(parts) or "not created"
    return ElementFailure(f"{text} (HTTP {status})" if status else text, frozenset(fields))


class JiraClient(SiteClient):
    """A `SiteClient` that knows Jira Cloud's REST v3 endpoints: the reads a backup makes, and the
    writes a restore makes (projects, issues in bulk with their origin property, transitions,
    comments, links, attachments)."""

    _zone: ZoneInfo | None = None

    async def myself(self) -> JSONObject:
        """The account the API token belongs to (`accountId`, `timeZone`, ...)."""
        return self._object(await self.get_json(f"{API}/myself"), "GET", f"{API}/myself")

    async def granted_global_permissions(
        self, account_id: str, permissions: Sequence[str]
    ) -> frozenset[str]:
        """Which of the global `permissions` (keys such as `ADMINISTER`) Jira grants the account,
        from one `POST /permissions/check`. Asking about another account needs the Administer
        Jira permission; without it Jira answers 403 (`PermissionDenied`)."""
        path = f"{API}/permissions/check"
        body = {"accountId": account_id, "globalPermissions": list(dict.fromkeys(permissions))}
        # A read, though a POST: retried after a 5xx or time-out like any other read.
        answer = self._object(await self.post_json(path, body, idempotent=True), "POST", path)
        granted = answer.get("globalPermissions")
        if not isinstance(granted, list) or not all(isinstance(key, str) for key in granted):
            raise UnexpectedResponse(
                self.site, "answered without the granted global permissions", method="POST",
                path=path,
            )  # fmt: skip
        return frozenset(granted)

    async def is_administrator(self, account_id: str) -> bool:
        """Whether the account is a Jira admin of this site: Jira grants it `ADMINISTER`."""
        return ADMINISTER in await self.granted_global_permissions(account_id, [ADMINISTER])

    async def time_zone(self) -> ZoneInfo:
        """The time zone Jira reads JQL dates in for this account (its profile's, which
        defaults to the site's); UTC when Jira names none this host knows. Asked once."""
        if self._zone is None:
            name = (await self.myself()).get("timeZone")
            try:
                self._zone = ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo("UTC")
            except (ZoneInfoNotFoundError, ValueError):
                self._zone = ZoneInfo("UTC")
        return self._zone

    async def projects(self) -> AsyncIterator[JSONObject]:
        """Every project the account can see, with description, lead and issue types."""
        path = f"{API}/project/search"
        start = 0
        while True:
            params = {"startAt": start, "maxResults": PROJECT_PAGE, "expand": PROJECT_EXPAND}
            page = self._object(await self.get_json(path, params), "GET", path)
            values = self._list(page.get("values"), "GET", path)
            for project in values:
                yield project
            start += len(values)
            if not values or page.get("isLast", True):
                return

    async def issue_id_pages(
        self, project_key: str, updated_since: datetime | None = None
    ) -> AsyncIterator[list[str]]:
        """The ids of a project's issues, in key order, a page (up to 5000) at a time.

        With `updated_since`, only issues updated at or after it. Caveat: JQL reads a date
        literal in the time zone of the account that searches (its profile setting, which
        defaults to the site's default time zone), to the minute; the bound is converted to
        that zone and rounded down, so an incremental run may re-read issues of the boundary
        minute but does not miss one. Clock skew between hosts is the caller's margin to add.
        """
        since = None
        if updated_since is not None:
            since = jql_minute(updated_since, await self.time_zone())
        params: dict[str, Any] = {
            "jql": project_jql(project_key, since),
            "fields": "id",
            "maxResults": ISSUE_ID_PAGE,
        }
        async for issues in self._search_pages(params):
            ids = [str(issue["id"]) for issue in issues if "id" in issue]
            if ids:
                yield ids

    async def _search_pages(self, params: dict[str, Any]) -> AsyncIterator[list[JSONObject]]:
        """The issues of `/search/jql`, a page at a time, following `nextPageToken` until the
        last page; a token seen before stops the paging with UnexpectedResponse."""
        path = f"{API}/search/jql"
        params = dict(params)
        seen_tokens: set[str] = set()
        while True:
            page = self._object(await self.get_json(path, params), "GET", path)
            yield self._list(page.get("issues"), "GET", path)
            token = page.get("nextPageToken")
            if not token or page.get("isLast") is True:
                return
            if token in seen_tokens:
                raise UnexpectedResponse(
                    self.site, "repeated a page token; paging stopped", method="GET", path=path
                )
            seen_tokens.add(token)
            params["nextPageToken"] = token

    async def issue_ids(
        self, project_key: str, updated_since: datetime | None = None
    ) -> AsyncIterator[str]:
        """The ids of a project's issues, one at a time (see `issue_id_pages`)."""
        async for page in self.issue_id_pages(project_key, updated_since):
            for issue_id in page:
                yield issue_id

    async def issue_batch(
        self, ids: Sequence[str], fields: Sequence[str] = ("*all",)
    ) -> IssueBatch:
        """Up to 100 issues with all their fields (or those named), by id or key, in one
        bulkfetch."""
        if len(ids) > BULKFETCH_BATCH:
            raise ValueError(f"bulkfetch takes at most {BULKFETCH_BATCH} issues, not {len(ids)}")
        path = f"{API}/issue/bulkfetch"
        body = {"issueIdsOrKeys": list(ids), "fields": list(fields), "fieldsByKeys": False}
        answer = self._object(await self.post_json(path, body, idempotent=True), "POST", path)
        issues = self._list(answer.get("issues"), "POST", path)
        errors = [
            (str(error.get("id")), str(error.get("errorMessage") or "not returned"))
            for error in self._list(answer.get("issueErrors") or [], "POST", path)
        ]
        return IssueBatch(issues, errors)

    async def issues(self, ids: Sequence[str]) -> AsyncIterator[JSONObject]:
        """Issues with all their fields, fetched 100 a request; ids Jira could not return are
        left out (use `issue_batch` to learn why)."""
        for batch in _chunks(ids, BULKFETCH_BATCH):
            for issue in (await self.issue_batch(batch)).issues:
                yield issue

    async def comments(self, issue_id: str) -> AsyncIterator[JSONObject]:
        """Every comment of an issue, oldest first, 100 a page."""
        path = f"{API}/issue/{quote(issue_id, safe='')}/comment"
        start = 0
        while True:
            params = {"startAt": start, "maxResults": COMMENT_PAGE, "orderBy": "created"}
            page = self._object(await self.get_json(path, params), "GET", path)
            comments = self._list(page.get("comments"), "GET", path)
            for comment in comments:
                yield comment
            start += len(comments)
            total = page.get("total")
            if not comments or (isinstance(total, int) and start >= total):
                return

    async def changelogs(self, ids: Sequence[str]) -> AsyncIterator[tuple[str, JSONObject]]:
        """`(issue id, change history)` for every change of the given issues, oldest first,
        asking for 1000 issues at a time."""
        path = f"{API}/changelog/bulkfetch"
        for batch in _chunks(ids, CHANGELOG_BATCH):
            body: dict[str, Any] = {"issueIdsOrKeys": list(batch), "maxResults": CHANGELOG_PAGE}
            seen_tokens: set[str] = set()
            while True:
                answer = await self.post_json(path, body, idempotent=True)
                page = self._object(answer, "POST", path)
                for entry in self._list(page.get("issueChangeLogs"), "POST", path):
                    issue_id = str(entry.get("issueId"))
                    for history in self._list(entry.get("changeHistories") or [], "POST", path):
                        yield issue_id, history
                token = page.get("nextPageToken")
                if not token:
                    break
                if token in seen_tokens:
                    raise UnexpectedResponse(
                        self.site, "repeated a page token; paging stopped", method="POST", path=path
                    )
                seen_tokens.add(token)
                body["nextPageToken"] = token

    def attachment_content(self, content_url: str) -> AsyncIterator[bytes]:
        """The bytes of an attachment, from its `content` URL (Jira redirects to the media
        service; see `SiteClient`)."""
        return self.download(content_url)

    # --- writing (restore) ---------------------------------------------------------------------

    async def project(self, key: str) -> JSONObject | None:
        """The project with this key, or None when the target has none."""
        path = f"{API}/project/{quote(key, safe='')}"
        try:
            return self._object(await self.get_json(path), "GET", path)
        except NotFound:
            return None

    async def create_project(self, details: JSONObject) -> JSONObject:
        """Create a project (`key`, `name`, `projectTypeKey`, `leadAccountId`, ...); its
        `{id, key}`."""
        path = f"{API}/project"
        return self._object(await self.post_json(path, details), "POST", path)

    async def has_issues(self, project_key: str) -> bool:
        path = f"{API}/search/jql"
        params = {"jql": project_jql(project_key), "fields": "id", "maxResults": 1}
        page = self._object(await self.get_json(path, params), "GET", path)
        return bool(self._list(page.get("issues"), "GET", path))

    async def issues_with_origins(self, project_key: str) -> AsyncIterator[tuple[JSONObject, Any]]:
        """`(issue {id, key}, its `backupbot.origin` property value or None)` for every issue
        of the project, read a page at a time with the property in the search results."""
        params: dict[str, Any] = {
            "jql": project_jql(project_key),
            "fields": "summary",
            "properties": ORIGIN_PROPERTY,
            "maxResults": ORIGIN_SEARCH_PAGE,
        }
        async for issues in self._search_pages(params):
            for issue in issues:
                properties = issue.get("properties")
                origin = properties.get(ORIGIN_PROPERTY) if isinstance(properties, dict) else None
                yield {"id": str(issue.get("id")), "key": issue.get("key")}, origin

    async def create_issues(self, updates: Sequence[JSONObject]) -> BulkCreateResult:
        """Create up to 50 issues in one `/issue/bulk` request. Jira lists the created issues
        in the request's order, skipping the failed ones, whose `failedElementNumber` is their
        0-based place in the request."""
        if len(updates) > ISSUE_CREATE_BATCH:
            raise ValueError(f"/issue/bulk takes at most {ISSUE_CREATE_BATCH} issues")
        path = f"{API}/issue/bulk"
        try:
            answer = await self.post_json(path, {"issueUpdates": list(updates)})
        except RequestRejected as error:
            # Jira answers 400 when no issue of the request could be created.
            failure = ElementFailure(str(error))
            return BulkCreateResult(
                [None] * len(updates), dict.fromkeys(range(len(updates)), failure)
            )
        body = self._object(answer, "POST", path)
        failed: dict[int, ElementFailure] = {}
        for entry in self._list(body.get("errors") or [], "POST", path):
            number = entry.get("failedElementNumber")
            if isinstance(number, int) and 0 <= number < len(updates):
                failed[number] = _bulk_error(entry)
        created_issues = iter(self._list(body.get("issues") or [], "POST", path))
        created: list[tuple[str, str] | None] = []
        for number in range(len(updates)):
            if number in failed:
                created.append(None)
                continue
            issue = next(created_issues, None)
            if issue is None:
                failed[number] = ElementFailure("Jira neither created it nor said why")
                created.append(None)
            else:
                created.append((str(issue.get("id")), str(issue.get("key"))))
        return BulkCreateResult(created, failed)

    async def transitions(self, issue_id: str) -> list[JSONObject]:
        """The transitions available from the issue's current status (each with `to`)."""
        path = f"{API}/issue/{quote(issue_id, safe='')}/transitions"
        page = self._object(await self.get_json(path), "GET", path)
        return self._list(page.get("transitions") or [], "GET", path)

    async def transition(self, issue_id: str, transition_id: str) -> None:
        path = f"{API}/issue/{quote(issue_id, safe='')}/transitions"
        await self.post_json(path, {"transition": {"id": transition_id}})

    async def add_comment(
        self, issue_id: str, body: JSONObject, visibility: JSONObject | None = None
    ) -> JSONObject:
        """Add a comment (ADF `body`, seen only by a role or group when `visibility` says so);
        Jira makes the calling account its author, now."""
        path = f"{API}/issue/{quote(issue_id, safe='')}/comment"
        document: JSONObject = {"body": body}
        if visibility:
            document["visibility"] = {
                key: visibility[key] for key in ("type", "value", "identifier") if key in visibility
            }
        return self._object(await self.post_json(path, document), "POST", path)

    async def link_issues(self, link_type: str, inward_id: str, outward_id: str) -> None:
        """Link two issues with the link type named `link_type`."""
        body = {
            "type": {"name": link_type},
            "inwardIssue": {"id": inward_id},
            "outwardIssue": {"id": outward_id},
        }
        await self.post_json(f"{API}/issueLink", body)

    async def set_property(self, issue_id: str, key: str, value: Any) -> None:
        path = f"{API}/issue/{quote(issue_id, safe='')}/properties/{quote(key, safe='')}"
        await self.put_json(path, value)

    async def issue_property(self, issue_id: str, key: str) -> Any:
        """The value of an issue's entity property, or None when it has none."""
        path = f"{API}/issue/{quote(issue_id, safe='')}/properties/{quote(key, safe='')}"
        try:
            answer = self._object(await self.get_json(path), "GET", path)
        except NotFound:
            return None
        return answer.get("value")

    async def upload_attachment(
        self, issue_id: str, filename: str, content: bytes, media_type: str
    ) -> list[JSONObject]:
        """Attach a file to an issue; the attachments Jira created (one)."""
        path = f"{API}/issue/{quote(issue_id, safe='')}/attachments"
        answer = await self.post_multipart(
            path, {"file": (filename, content, media_type)}, NO_CHECK
        )
        return self._list(answer, "POST", path)

    async def delete_issue(self, issue_id: str) -> None:
        await self.delete(f"{API}/issue/{quote(issue_id, safe='')}")

    async def content_exists(self, content_url: str) -> bool:
        """Whether an attachment's content URL still answers: its first block is read and the
        rest left unread, which is as cheap as Jira gets without a metadata endpoint."""
        return await content_exists(self, content_url)


async def content_exists(client: SiteClient, content_url: str) -> bool:
    """Whether a content URL of the client's site answers with content (a 404 means the file
    is gone); only the first block is read."""
    stream = client.download(content_url)
    try:
        await anext(stream)
    except StopAsyncIteration:
        return True
    except NotFound:
        return False
    finally:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()  # the rest is not read: the connection is released now
    return True
