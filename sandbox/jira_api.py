"""Jira Cloud REST v3, the calls backupbot reads, answered from a `SiteData`.

Shapes follow Atlassian's OpenAPI description (see tests/data/openapi/jira-subset.json); limits
follow Jira's documentation: `/search/jql` pages hold up to 5000 issues when only `id`/`key` are
asked for and up to 100 otherwise, `/issue/bulkfetch` takes up to 100 issues, an issue embeds at
most 20 comments, `/changelog/bulkfetch` takes up to 1000 issues and pages up to 10000 histories.
Where Jira answers `null` for an absent value but the description types the property as a plain
string (a changelog item's `from`/`to`), the property is left out instead.
"""

from __future__ import annotations

import json
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.control import EMAIL_SCOPE_KEY, Faults
from sandbox.data import (
    ISSUE_TYPES,
    ChangeHistory,
    Issue,
    IssueHead,
    IssueLink,
    IssueType,
    JiraAttachment,
    JiraComment,
    Priority,
    Project,
    SecurityLevel,
    SiteData,
    Status,
    User,
    jira_time,
    service_user,
)
from sandbox.errors import ApiError, FailingItem
from sandbox.jql import JqlError, parse_jql, run_query
from sandbox.paging import (
    InvalidToken,
    decode_token,
    encode_token,
    fingerprint,
    query_int,
)
from sandbox.responses import JSONResponse

API = "/rest/api/3"
ALL_FIELDS = (
    "summary",
    "description",
    "status",
    "issuetype",
    "project",
    "priority",
    "labels",
    "reporter",
    "creator",
    "assignee",
    "created",
    "updated",
    "security",
    "issuelinks",
    "attachment",
    "comment",
    "resolution",
    "resolutiondate",
)
# Fields Jira does not show in the issue navigator: left out of "*navigable".
NAVIGABLE = frozenset(ALL_FIELDS) - {"attachment", "comment"}
# Fields known without building the whole issue (its comments, attachments, changelog).
HEAD_FIELDS = frozenset(
    {"summary", "status", "issuetype", "project", "priority", "created", "updated"}
)
EMBEDDED_COMMENTS = 20
SEARCH_MAX_IDS = 5000
SEARCH_MAX_FIELDS = 100
SEARCH_DEFAULT = 50
BULK_MAX_ISSUES = 100
CHANGELOG_MAX_ISSUES = 1000
CHANGELOG_MAX_PAGE = 10_000
CHANGELOG_DEFAULT_PAGE = 1000
PROJECTS_MAX_PAGE = 100
PROJECTS_DEFAULT_PAGE = 50
COMMENTS_MAX_PAGE = 100
EMBEDDED_CHANGELOG = 40
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
PROJECT_EXPAND = "description,lead,issueTypes,url,projectKeys,permissions,insight"
NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."
_QUERY_CACHE_SIZE = 16
MAX_PROPERTY_KEYS = 5


@dataclass(frozen=True)
class FieldSelection:
    """Which issue fields a request asked for (`fields` parameter), and whether the key shows."""

    fields: frozenset[str]
    key: bool

    @property
    def identifiers_only(self) -> bool:
        return not self.fields


def select_fields(specs: Sequence[str], default: str) -> FieldSelection:
    """Read Jira's `fields` syntax: names, `*all`, `*navigable`, `-name`, `id`, `key`."""
    parts = [part.strip() for spec in specs for part in spec.split(",") if part.strip()]
    if not parts:
        parts = [default]
    included: set[str] = set()
    excluded: set[str] = set()
    key = named = False
    for part in parts:
        if part == "*all":
            included |= set(ALL_FIELDS)
            named = True
        elif part == "*navigable":
            included |= NAVIGABLE
            named = True
        elif part.startswith("-"):
            excluded.add(part[1:])
        elif part == "key":
            key = named = True
        elif part == "id":
            named = True
        elif part in ALL_FIELDS:
            included.add(part)
            named = True
        # Jira ignores field names it does not know; so does the sandbox.
    if excluded and not named:
        included = set(NAVIGABLE)  # "-description" alone means "navigable fields but that one"
    fields = frozenset(included - excluded)
    return FieldSelection(fields, key or bool(fields))


class JiraRenderer:
    """JSON for Jira entities, with links on the server the request reached."""

    def __init__(self, data: SiteData, base: str) -> None:
        self.data = data
        self.base = base
        # A renderer lives for one request, whose issues name the same few people many times.
        self._user_details: dict[str, dict[str, Any]] = {}

    def avatar_urls(self, seed: str) -> dict[str, str]:
        return {
            f"{n}x{n}": f"https://avatar-management.sandbox.invalid/{seed}/{n}.png"
            for n in (48, 24, 16, 32)
        }

    def user_details(self, user: User | None) -> dict[str, Any] | None:
        """A user as Jira embeds one; the same object each time within a response, so callers
        copy before they change it."""
        if user is None:
            return None
        known = self._user_details.get(user.account_id)
        if known is not None:
            return known
        result: dict[str, Any] = {
            "self": f"{self.base}{API}/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "avatarUrls": self.avatar_urls(user.account_id),
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": user.time_zone,
            "accountType": user.account_type,
        }
        if user.email:
            result["emailAddress"] = user.email
        self._user_details[user.account_id] = result
        return result

    def user(self, user: User) -> dict[str, Any]:
        result = dict(self.user_details(user) or {})
        result["locale"] = user.locale
        return result

    def project_details(self, project: Project) -> dict[str, Any]:
        return {
            "self": f"{self.base}{API}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": project.type_key,
            "simplified": False,
            "avatarUrls": self.avatar_urls(project.key),
        }

    def issue_type(self, issue_type: IssueType) -> dict[str, Any]:
        return {
            "self": f"{self.base}{API}/issuetype/{issue_type.id}",
            "id": issue_type.id,
            "description": issue_type.description,
            "name": issue_type.name,
            "iconUrl": f"{self.base}{API}/universal_avatar/view/type/issuetype/avatar/"
            f"{issue_type.avatar_id}?size=medium",
            "subtask": False,
            "avatarId": issue_type.avatar_id,
            "hierarchyLevel": issue_type.hierarchy_level,
        }

    def project(self, project: Project, expand: set[str]) -> dict[str, Any]:
        result = self.project_details(project) | {
            "expand": PROJECT_EXPAND,
            "style": "classic",
            "isPrivate": False,
            "uuid": project.uuid,
            "properties": {},
        }
        if "description" in expand:
            result["description"] = project.description
        if "lead" in expand:
            result["lead"] = self.user(project.lead)
        if "issuetypes" in expand:
            result["issueTypes"] = [self.issue_type(t) for t in ISSUE_TYPES]
        if "url" in expand:
            result["url"] = ""
        if "insight" in expand:
            result["insight"] = self.insight(project)
        return result

    def insight(self, project: Project) -> dict[str, Any]:
        indexes = self.data.project_issues(project)
        result: dict[str, Any] = {"totalIssueCount": len(indexes)}
        if indexes:
            last = max(self.data.issue_updated_ms(i) for i in indexes)
            result["lastIssueUpdateTime"] = jira_time(last)
        return result

    def status(self, status: Status) -> dict[str, Any]:
        return {
            "self": f"{self.base}{API}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.base}{API}/statuscategory/{status.category_id}",
                "id": status.category_id,
                "key": status.category_key,
                "colorName": status.category_color,
                "name": status.category_name,
            },
        }

    def priority(self, priority: Priority) -> dict[str, Any]:
        return {
            "self": f"{self.base}{API}/priority/{priority.id}",
            "iconUrl": f"{self.base}/images/icons/priorities/{priority.name.lower()}.svg",
            "name": priority.name,
            "id": priority.id,
        }

    def security(self, level: SecurityLevel | None) -> dict[str, Any] | None:
        if level is None:
            return None
        return {
            "self": f"{self.base}{API}/securitylevel/{level.id}",
            "id": level.id,
            "description": level.description,
            "name": level.name,
        }

    def linked_issue(self, head: IssueHead) -> dict[str, Any]:
        return {
            "id": head.id,
            "key": head.key,
            "self": f"{self.base}{API}/issue/{head.id}",
            "fields": {
                "summary": head.summary,
                "status": self.status(head.status),
                "priority": self.priority(head.priority),
                "issuetype": self.issue_type(head.issue_type),
            },
        }

    def link(self, link: IssueLink) -> dict[str, Any]:
        side = "outwardIssue" if link.outward else "inwardIssue"
        return {
            "id": link.id,
            "self": f"{self.base}{API}/issueLink/{link.id}",
            "type": {
                "id": link.type.id,
                "name": link.type.name,
                "inward": link.type.inward,
                "outward": link.type.outward,
                "self": f"{self.base}{API}/issueLinkType/{link.type.id}",
            },
            side: self.linked_issue(self.data.issue_head(link.other.index)),
        }

    def attachment(self, attachment: JiraAttachment) -> dict[str, Any]:
        return {
            "self": f"{self.base}{API}/attachment/{attachment.id}",
            "id": attachment.id,
            "filename": attachment.filename,
            "author": self.user_details(attachment.author),
            "created": jira_time(attachment.created_ms),
            "size": len(attachment.data),
            "mimeType": attachment.kind.media_type,
            "content": f"{self.base}{API}/attachment/content/{attachment.id}",
        }

    def comment(self, comment: JiraComment, issue_id: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "self": f"{self.base}{API}/issue/{issue_id}/comment/{comment.id}",
            "id": comment.id,
            "author": self.user_details(comment.author),
            "body": comment.body.to_adf(),
            "updateAuthor": self.user_details(comment.update_author),
            "created": jira_time(comment.created_ms),
            "updated": jira_time(comment.updated_ms),
            "jsdPublic": True,
        }
        if comment.visibility_role:
            result["visibility"] = {
                "type": "role",
                "value": comment.visibility_role,
                "identifier": comment.visibility_role,
            }
        return result

    def comments_page(
        self, comments: Sequence[JiraComment], issue_id: str, start: int, size: int
    ) -> dict[str, Any]:
        return {
            "comments": [self.comment(c, issue_id) for c in comments[start : start + size]],
            "maxResults": size,
            "total": len(comments),
            "startAt": start,
        }

    def history(self, history: ChangeHistory) -> dict[str, Any]:
        items = []
        for item in history.items:
            rendered = {"field": item.field, "fieldtype": item.fieldtype, "fieldId": item.field_id}
            for name, value in (
                ("from", item.from_value),
                ("fromString", item.from_string),
                ("to", item.to_value),
                ("toString", item.to_string),
            ):
                if value is not None:
                    rendered[name] = value
            items.append(rendered)
        return {
            "id": history.id,
            "author": self.user_details(history.author),
            "created": jira_time(history.created_ms),
            "items": items,
        }

    def issue(
        self,
        index: int,
        selection: FieldSelection,
        expand: set[str],
        properties: Sequence[str] = (),
    ) -> dict[str, Any]:
        head = self.data.issue_head(index)
        asked: dict[str, Any] = {}
        if properties:
            stored = self.data.issue_properties(index)
            asked = {"properties": {k: stored[k] for k in properties if k in stored}}
        if not selection.key:
            return {"id": head.id} | asked
        result: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": head.id,
            "self": f"{self.base}{API}/issue/{head.id}",
            "key": head.key,
            **asked,
        }
        if selection.fields:
            result["fields"] = self.fields(index, head, selection.fields)
        if "changelog" in expand:
            histories = self.data.changelog(index)
            recent = sorted(histories, key=lambda h: h.created_ms, reverse=True)
            shown = recent[:EMBEDDED_CHANGELOG]
            result["changelog"] = {
                "startAt": 0,
                "maxResults": len(shown),
                "total": len(histories),
                "histories": [self.history(h) for h in shown],
            }
        return result

    def fields(self, index: int, head: IssueHead, wanted: frozenset[str]) -> dict[str, Any]:
        data = self.data
        values: dict[str, Any] = {
            "summary": head.summary,
            "status": self.status(head.status),
            "issuetype": self.issue_type(head.issue_type),
            "project": self.project_details(head.project),
            "priority": self.priority(head.priority),
            "created": jira_time(data.issue_created_ms(index)),
            "updated": jira_time(data.issue_updated_ms(index)),
        }
        if wanted - HEAD_FIELDS:
            # Only now build the whole issue: comments and attachments cost more than the head.
            issue = data.issue(index)
            values |= self._detail_fields(issue)
        return {name: values[name] for name in ALL_FIELDS if name in wanted}

    def _detail_fields(self, issue: Issue) -> dict[str, Any]:
        resolution = None
        if issue.resolution:
            resolution = {
                "self": f"{self.base}{API}/resolution/{issue.resolution.id}",
                "id": issue.resolution.id,
                "description": issue.resolution.description,
                "name": issue.resolution.name,
            }
        comments = self.comments_page(issue.comments, issue.id, 0, EMBEDDED_COMMENTS)
        comments["self"] = f"{self.base}{API}/issue/{issue.id}/comment"
        return {
            "description": issue.description.to_adf() if issue.description else None,
            "labels": list(issue.labels),
            "reporter": self.user_details(issue.reporter),
            "creator": self.user_details(issue.reporter),
            "assignee": self.user_details(issue.assignee),
            "security": self.security(issue.security),
            "issuelinks": [
                self.link(link) for link in issue.links if self.data.issue_exists(link.other.index)
            ],
            "attachment": [self.attachment(a) for a in issue.attachments],
            "comment": comments,
            "resolution": resolution,
            "resolutiondate": jira_time(issue.resolved_ms) if issue.resolved_ms else None,
        }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _string_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"'{name}' must be a list of strings.")
    return value


def _issue_names(body: dict[str, Any], maximum: int) -> list[str]:
    names = _string_list(body, "issueIdsOrKeys")
    if not 1 <= len(names) <= maximum:
        raise ApiError(
            400, f"Between 1 and {maximum} issue IDs or keys must be given; got {len(names)}."
        )
    return names


def _property_keys(specs: Sequence[str]) -> list[str]:
    """Issue property keys asked for (comma-separated or repeated), at most five as Jira allows."""
    keys = [key.strip() for spec in specs for key in spec.split(",") if key.strip()]
    if len(keys) > MAX_PROPERTY_KEYS:
        raise ApiError(400, f"At most {MAX_PROPERTY_KEYS} issue property keys can be given.")
    return keys


def _int(raw: str | None, name: str, default: int, minimum: int = 0) -> int:
    try:
        return query_int(raw, name, default, minimum=minimum)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def _body_int(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, f"'{name}' must be a whole number.")
    return value


class JiraApi:
    """The Jira routes of one sandbox site."""

    def __init__(self, data: SiteData, faults: Faults) -> None:
        self.data = data
        self.faults = faults
        self._queries: OrderedDict[str, array[int]] = OrderedDict()

    def routes(self) -> list[Route]:
        return [
            Route(f"{API}/myself", self.myself, methods=["GET"]),
            Route(f"{API}/project/search", self.project_search, methods=["GET"]),
            Route(f"{API}/search/jql", self.search_get, methods=["GET"]),
            Route(f"{API}/search/jql", self.search_post, methods=["POST"]),
            Route(f"{API}/issue/bulkfetch", self.bulkfetch, methods=["POST"]),
            Route(f"{API}/issue/{{issueIdOrKey}}/comment", self.comments, methods=["GET"]),
            Route(f"{API}/changelog/bulkfetch", self.changelogs, methods=["POST"]),
            Route(f"{API}/attachment/content/{{id}}", self.attachment_content, methods=["GET"]),
        ]

    def _check_issue(self, index: int) -> None:
        head = self.data.issue_head(index)
        if self.faults.issue_fails(head.id, head.key):
            raise FailingItem(f"Internal server error while loading issue {head.key}.")

    async def myself(self, request: Request) -> Response:
        email = request.scope.get(EMAIL_SCOPE_KEY, "")
        user = service_user(email)
        result = JiraRenderer(self.data, _base(request)).user(user)
        result |= {
            "groups": {"size": 0, "items": []},
            "applicationRoles": {"size": 0, "items": []},
            "expand": "groups,applicationRoles",
        }
        return JSONResponse(result)

    async def project_search(self, request: Request) -> Response:
        params = request.query_params
        start = _int(params.get("startAt"), "startAt", 0)
        size = _int(params.get("maxResults"), "maxResults", PROJECTS_DEFAULT_PAGE)
        size = min(size, PROJECTS_MAX_PAGE) or PROJECTS_DEFAULT_PAGE
        order = params.get("orderBy", "key")
        field = order.lstrip("+-")
        if field not in ("key", "name"):
            raise ApiError(400, f"The sandbox site orders projects by key or name, not '{order}'.")
        projects = sorted(
            self.data.projects,
            key=lambda p: p.key if field == "key" else p.name.lower(),
            reverse=order.startswith("-"),
        )
        expand = {part.strip().lower() for part in params.get("expand", "").split(",")}
        renderer = JiraRenderer(self.data, _base(request))
        page = projects[start : start + size]
        last = start + size >= len(projects)

        def url(at: int) -> str:
            query = dict(params) | {"startAt": str(at), "maxResults": str(size)}
            return f"{renderer.base}{API}/project/search?{urlencode(query)}"

        result: dict[str, Any] = {
            "self": url(start),
            "maxResults": size,
            "startAt": start,
            "total": len(projects),
            "isLast": last,
            "values": [renderer.project(p, expand) for p in page],
        }
        if not last:
            result["nextPage"] = url(start + size)
        return JSONResponse(result)

    async def search_get(self, request: Request) -> Response:
        params = request.query_params
        return self._search(
            request,
            jql=params.get("jql", ""),
            token=params.get("nextPageToken") or None,
            size=_int(params.get("maxResults"), "maxResults", SEARCH_DEFAULT, 1),
            fields=params.getlist("fields"),
            expand=params.get("expand", ""),
            properties=_property_keys(params.getlist("properties")),
        )

    async def search_post(self, request: Request) -> Response:
        body = await _json_object(request)
        jql, token, expand = body.get("jql", ""), body.get("nextPageToken"), body.get("expand", "")
        if not isinstance(jql, str) or not isinstance(expand, str):
            raise ApiError(400, "'jql' and 'expand' must be strings.")
        if token is not None and not isinstance(token, str):
            raise ApiError(400, "'nextPageToken' must be a string.")
        size = _body_int(body, "maxResults", SEARCH_DEFAULT)
        if size < 1:
            raise ApiError(400, f"'maxResults' must be at least 1, got {size}.")
        return self._search(
            request,
            jql=jql,
            token=token or None,
            size=size,
            fields=_string_list(body, "fields"),
            expand=expand,
            properties=_property_keys(_string_list(body, "properties")),
        )

    def _search(
        self,
        request: Request,
        *,
        jql: str,
        token: str | None,
        size: int,
        fields: Sequence[str],
        expand: str,
        properties: Sequence[str],
    ) -> Response:
        try:
            query = parse_jql(jql, self.data)
        except JqlError as error:
            raise ApiError(400, str(error)) from None
        # Writes change what a query finds: results are cached per state of the site.
        normalized = query.normalized()
        cache_key = f"{normalized}|v={self.data.version}"
        found = self._queries.get(cache_key)
        if found is not None:
            self._queries.move_to_end(cache_key)
        else:
            found = run_query(query, self.data)
            self._queries[cache_key] = found
            if len(self._queries) > _QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        scope = fingerprint("search", normalized)
        try:
            start = decode_token(token, scope) if token else 0
        except InvalidToken:
            raise ApiError(400, "The provided next page token is invalid or expired.") from None

        selection = select_fields(fields, "id")
        size = min(size, SEARCH_MAX_IDS if selection.identifiers_only else SEARCH_MAX_FIELDS)
        page = found[start : start + size]
        if selection.fields:
            for index in page:
                self._check_issue(index)
        renderer = JiraRenderer(self.data, _base(request))
        wanted = {part.strip() for part in expand.split(",")}
        result: dict[str, Any] = {
            "issues": [renderer.issue(i, selection, wanted, properties) for i in page],
            "isLast": start + size >= len(found),
        }
        if not result["isLast"]:
            result["nextPageToken"] = encode_token(start + size, scope)
        return JSONResponse(result)

    def _indexes(self, names: Sequence[str]) -> list[int]:
        """The issues named by id or key, without duplicates, in ascending id order."""
        found = {self.data.issue_index(name) for name in names}
        return sorted(i for i in found if i is not None)

    async def bulkfetch(self, request: Request) -> Response:
        body = await _json_object(request)
        names = _issue_names(body, BULK_MAX_ISSUES)
        indexes = self._indexes(names)
        for index in indexes:
            self._check_issue(index)
        selection = select_fields(_string_list(body, "fields"), "*navigable")
        expand = set(_string_list(body, "expand"))
        properties = _property_keys(_string_list(body, "properties"))
        renderer = JiraRenderer(self.data, _base(request))
        return JSONResponse(
            {
                "issues": [renderer.issue(i, selection, expand, properties) for i in indexes],
                "issueErrors": [],
            }
        )

    async def comments(self, request: Request) -> Response:
        index = self.data.issue_index(request.path_params["issueIdOrKey"])
        if index is None:
            raise ApiError(404, NOT_FOUND_ISSUE)
        self._check_issue(index)
        params = request.query_params
        start = _int(params.get("startAt"), "startAt", 0)
        size = min(
            _int(params.get("maxResults"), "maxResults", COMMENTS_MAX_PAGE), COMMENTS_MAX_PAGE
        )
        order = params.get("orderBy", "created")
        if order not in ("created", "+created", "-created"):
            raise ApiError(400, f"The orderBy value '{order}' is not supported; use created.")
        issue = self.data.issue(index)
        comments = list(issue.comments)
        if order == "-created":
            comments.reverse()
        renderer = JiraRenderer(self.data, _base(request))
        return JSONResponse(renderer.comments_page(comments, issue.id, start, size))

    async def changelogs(self, request: Request) -> Response:
        body = await _json_object(request)
        names = _issue_names(body, CHANGELOG_MAX_ISSUES)
        field_ids = _string_list(body, "fieldIds")
        if len(field_ids) > 10:
            raise ApiError(400, "At most 10 field IDs can be given.")
        size = _body_int(body, "maxResults", CHANGELOG_DEFAULT_PAGE)
        if not 1 <= size <= CHANGELOG_MAX_PAGE:
            raise ApiError(400, f"'maxResults' must be between 1 and {CHANGELOG_MAX_PAGE}.")
        token = body.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise ApiError(400, "'nextPageToken' must be a string.")
        indexes = self._indexes(names)
        for index in indexes:
            self._check_issue(index)
        scope = fingerprint("changelog", *map(str, indexes), "|", *sorted(field_ids))
        try:
            start = decode_token(token, scope) if token else 0
        except InvalidToken:
            raise ApiError(400, "The provided next page token is invalid or expired.") from None

        # Issues in ascending id order, each issue's histories oldest first; a page may end in the
        # middle of an issue, whose histories then continue on the next page.
        entries: list[tuple[str, ChangeHistory]] = []
        for index in indexes:
            issue_id = self.data.issue_head(index).id
            for history in self.data.changelog(index):
                items = tuple(i for i in history.items if not field_ids or i.field_id in field_ids)
                if items:
                    entries.append((issue_id, replace(history, items=items)))
        page = entries[start : start + size]
        renderer = JiraRenderer(self.data, _base(request))
        groups: list[dict[str, Any]] = []
        for issue_id, history in page:
            if not groups or groups[-1]["issueId"] != issue_id:
                groups.append({"issueId": issue_id, "changeHistories": []})
            groups[-1]["changeHistories"].append(renderer.history(history))
        result: dict[str, Any] = {"issueChangeLogs": groups}
        if start + size < len(entries):
            result["nextPageToken"] = encode_token(start + size, scope)
        return JSONResponse(result)

    async def attachment_content(self, request: Request) -> Response:
        attachment = self.data.jira_attachment(request.path_params["id"])
        if attachment is None:
            raise ApiError(
                404, f"The attachment with id '{request.path_params['id']}' does not exist."
            )
        self._check_issue(attachment.issue_index)
        # Like Jira, answer with a redirect to the download unless asked not to; here the
        # download is this same URL with redirect=false, so credentials stay on this origin.
        if request.query_params.get("redirect", "true").lower() != "false":
            return RedirectResponse(f"{_base(request)}{request.url.path}?redirect=false", 303)
        return Response(
            attachment.data,
            media_type=attachment.kind.media_type,
            headers={"Content-Disposition": _disposition(attachment.filename)},
        )


def _disposition(filename: str) -> str:
    """A Content-Disposition that carries any unicode file name (RFC 6266 / RFC 5987)."""
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
