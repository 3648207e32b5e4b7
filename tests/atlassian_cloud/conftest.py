"""Fixtures for the Atlassian client tests: scripted sites over real HTTP, virtual time, and a
request checker that holds every request the clients build against Atlassian's OpenAPI
descriptions (the subsets vendored under tests/data/openapi).

Sites are Starlette apps reached in-process through `httpx.ASGITransport` (real HTTP semantics,
no sockets) or through a real uvicorn server on 127.0.0.1 (`serve`).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jsonschema
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atlassian_cloud.transport import RatePolicy, RetryPolicy, SiteClient

SITE_URL = "https://acme.atlassian.net"
EMAIL = "svc@acme.example"
OPENAPI = Path(__file__).resolve().parents[1] / "data" / "openapi"


class FakeTime:
    """Virtual time for the transport: `sleep` records the wait and moves the clock forward at
    once (to the latest wake-up any sleeper asked for), so waits are measured, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        target = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, target)


@dataclass
class Seen:
    """One request as the site received it."""

    method: str
    host: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    at: float  # the fake clock when it arrived
    raw_path: bytes = b""  # as sent, before the server decoded it


Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or bytes)
Handler = Callable[[Seen], Answer]


@dataclass
class ScriptedSite:
    """A catch-all site: each path answers from its script (a queue of answers, the last one
    repeating) or a handler; every request is recorded with the fake time it arrived."""

    time: FakeTime
    scripts: dict[str, deque[Answer | Handler]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def script(self, path: str, *answers: Answer | Handler) -> None:
        self.scripts[path] = deque(answers)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        seen = Seen(
            request.method,
            request.headers.get("host", ""),
            request.url.path,
            parse_qsl(request.url.query, keep_blank_values=True),
            dict(request.headers),
            body,
            self.time.now,
            scope.get("raw_path", b""),
        )
        self.seen.append(seen)
        script = self.scripts.get(seen.path)
        if not script:
            response: Response = JSONResponse({"errorMessages": ["no such path"]}, 404)
        else:
            answer = script.popleft() if len(script) > 1 else script[0]
            status, headers, content = answer(seen) if callable(answer) else answer
            if isinstance(content, bytes):
                response = Response(content, status, headers)
            else:
                response = JSONResponse(content, status, headers)
        await response(scope, receive, send)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def site(fake_time: FakeTime) -> ScriptedSite:
    return ScriptedSite(fake_time)


@pytest.fixture
def connect(fake_time: FakeTime) -> Callable[..., Any]:
    """`connect(app, cls=SiteClient, token=..., **options)`: a client on SITE_URL whose
    requests reach `app` in-process, with virtual time and seeded jitter."""

    def make(app: Any, cls: type[SiteClient] = SiteClient, token: str = "t0ken", **options: Any):
        options.setdefault("retry", RetryPolicy())
        options.setdefault("rate", RatePolicy())
        return cls(
            "acme",
            options.pop("base_url", SITE_URL),
            EMAIL,
            token,
            transport=httpx.ASGITransport(app=app),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            wall_clock=options.pop("wall_clock", time.time),
            rng=random.Random(7),
            **options,
        )

    return make


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` on a real uvicorn server on 127.0.0.1 (a free port) in a background thread;
    yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def uvicorn_server() -> Callable[[Any], Any]:
    return serve


def starlette(routes: dict[str, Callable[..., Any]]) -> Starlette:
    return Starlette(routes=[Route(path, endpoint) for path, endpoint in routes.items()])


# --- requests against the published descriptions ---------------------------------------------


class OpenAPIRequests:
    """Checks a request (method, path, query, JSON body) against an OpenAPI 3 description:
    the operation exists, every query parameter is declared and its value fits its schema,
    required ones are present, and the body fits the request body's schema."""

    def __init__(self, document: dict[str, Any], prefix: str = "") -> None:
        self.document = document
        self.prefix = prefix
        self.components = document.get("components", {})

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Local `#/components/...` references resolve against the root of the schema checked.
        return {**schema, "components": self.components}

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            _, _, kind, name = node["$ref"].split("/")
            node = self.components[kind][name]
        return node

    def operation(self, method: str, path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        assert path.startswith(self.prefix), f"{path} is not under {self.prefix}"
        relative = path[len(self.prefix) :]
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, relative) and method.lower() in item:
                operation = item[method.lower()]
                parameters = [
                    self._resolve(p) for p in item.get("parameters", []) + operation["parameters"]
                ]
                return operation, parameters
        raise AssertionError(f"{method} {path}: no such operation in the description")

    def check(self, method: str, path: str, query: list[tuple[str, str]], body: Any) -> None:
        operation, parameters = self.operation(method, path)
        declared = {p["name"]: p for p in parameters if p["in"] == "query"}
        names = {name for name, _ in query}
        for name in names:
            assert name in declared, f"{method} {path}: query parameter {name!r} is not declared"
            schema = self._resolve(declared[name].get("schema", {}))
            values = [value for key, value in query if key == name]
            typed = self._typed(schema, values)
            jsonschema.validate(typed, self._schema(declared[name].get("schema", {})))
        for name, parameter in declared.items():
            if parameter.get("required"):
                assert name in names, f"{method} {path}: required {name!r} missing"
        request_body = operation.get("requestBody")
        if request_body is None:
            assert body is None, f"{method} {path} takes no body"
            return
        schema = request_body["content"]["application/json"]["schema"]
        jsonschema.validate(body, self._schema(schema))

    def check_response(self, method: str, path: str, status: int, body: Any) -> None:
        """The answer a fake gives fits the description's schema for that status."""
        operation, _ = self.operation(method, path)
        content = operation["responses"].get(str(status), {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None:
            jsonschema.validate(body, self._schema(schema))

    def _typed(self, schema: dict[str, Any], values: list[str]) -> Any:
        kind = schema.get("type")
        if kind == "array":
            items = [part for value in values for part in value.split(",")]
            return [self._typed(self._resolve(schema.get("items", {})), [i]) for i in items]
        assert len(values) == 1, f"repeated parameter {values}"
        value = values[0]
        if kind == "integer":
            return int(value)
        if kind == "boolean":
            assert value in ("true", "false"), value
            return value == "true"
        return value


@pytest.fixture(scope="session")
def jira_api() -> OpenAPIRequests:
    return OpenAPIRequests(json.loads((OPENAPI / "jira-subset.json").read_text("utf-8")))


@pytest.fixture(scope="session")
def confluence_api() -> OpenAPIRequests:
    document = json.loads((OPENAPI / "confluence-subset.json").read_text("utf-8"))
    return OpenAPIRequests(document, prefix=urlsplit(document["servers"][0]["url"]).path)


# --- small fake sites that answer like Atlassian Cloud ------------------------------------------


def _user(account_id: str) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "accountType": "atlassian",
        "active": True,
        "displayName": f"User {account_id}",
        "emailAddress": f"{account_id}@people.example",
    }


class FakeSite:
    """Shared plumbing: route by (method, path pattern), record, inject failures, and validate
    every answer against the description so the fakes stay faithful to it."""

    def __init__(self, api: OpenAPIRequests) -> None:
        self.api = api
        self.seen: list[Seen] = []
        self.failures: dict[str, tuple[int, Any]] = {}  # path -> (status, body), every time
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = []

    def route(self, method: str, pattern: str, handler: Callable[..., Answer]) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def api_requests(self) -> list[Seen]:
        """The requests to the REST APIs (not to download links or the media service)."""
        return [s for s in self.seen if s.path.startswith(("/rest/", "/wiki/api/", "/wiki/rest/"))]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        raw = await request.body()
        seen = Seen(
            request.method,
            request.headers.get("host", ""),
            request.url.path,
            parse_qsl(request.url.query, keep_blank_values=True),
            dict(request.headers),
            json.loads(raw) if raw else None,
            0.0,
        )
        self.seen.append(seen)
        headers: dict[str, str] = {}
        if seen.path in self.failures:
            status, body = self.failures[seen.path]
        else:
            for method, pattern, handler in self.routes:
                match = pattern.match(seen.path)
                if match and method == seen.method:
                    status, headers, body = handler(seen, *match.groups())
                    break
            else:
                status, body = 404, {"errorMessages": ["no such path"]}
        if isinstance(body, bytes):
            response: Response = Response(body, status, headers)
        else:
            if status < 300 and seen.host == "acme.atlassian.net" and self.api.prefix in seen.path:
                self.api.check_response(seen.method, seen.path, status, body)
            response = JSONResponse(body, status, headers)
        await response(scope, receive, send)


class FakeJira(FakeSite):
    """Projects ALPHA (5 issues), BETA (2) and EMPTY (0), in pages smaller than the client asks
    for (2 projects, 3 ids, 10 comments, 4 change histories) so every paging path runs.

    Issue 10001 has 25 comments (the issue embeds 20); 10000 has an attachment; every issue has
    2 change histories; authors carry e-mail addresses, which the export must drop."""

    ORIGIN = SITE_URL

    def __init__(self, api: OpenAPIRequests) -> None:
        super().__init__(api)
        self.projects = [
            {"id": "100", "key": "ALPHA", "name": "Alpha", "description": "first",
             "lead": _user("lead-1"), "issueTypes": [{"id": "1", "name": "Task"}]},
            {"id": "101", "key": "BETA", "name": "Beta", "description": "",
             "lead": _user("lead-2"), "issueTypes": [{"id": "1", "name": "Task"}]},
            {"id": "102", "key": "EMPTY", "name": "Empty", "description": "",
             "lead": _user("lead-1"), "issueTypes": []},
        ]  # fmt: skip
        self.issue_ids: dict[str, list[str]] = {
            "ALPHA": [str(10000 + n) for n in range(5)],
            "BETA": ["10005", "10006"],
            "EMPTY": [],
        }
        self.comment_counts = {"10001": 25, "10002": 2}
        self.unreturnable: dict[str, str] = {}  # issue id -> bulkfetch issueErrors message
        self.changelog_page = 4
        self.route("GET", "/rest/api/3/myself", self._myself)
        self.route("GET", "/rest/api/3/project/search", self._projects)
        self.route("GET", "/rest/api/3/search/jql", self._search)
        self.route("POST", "/rest/api/3/issue/bulkfetch", self._bulkfetch)
        self.route("GET", r"/rest/api/3/issue/([^/]+)/comment", self._comments)
        self.route("POST", "/rest/api/3/changelog/bulkfetch", self._changelogs)
        self.route("GET", r"/rest/api/3/attachment/content/(\d+)", self._content)
        self.route("GET", r"/file/([^/]+)/binary", self._media)

    def _key_of(self, issue_id: str) -> str:
        for key, ids in self.issue_ids.items():
            if issue_id in ids:
                return f"{key}-{ids.index(issue_id) + 1}"
        raise KeyError(issue_id)

    def comment(self, issue_id: str, n: int) -> dict[str, Any]:
        return {
            "id": f"{issue_id}{n:03d}",
            "author": _user(f"author-{n % 3}"),
            "body": {"type": "doc", "version": 1, "content": []},
            "created": f"2024-01-{1 + n % 28:02d}T10:00:00.000+0000",
        }

    def issue(self, issue_id: str) -> dict[str, Any]:
        total = self.comment_counts.get(issue_id, 0)
        fields: dict[str, Any] = {
            "summary": f"Issue {issue_id}",
            "reporter": _user("reporter-1"),
            "comment": {
                "comments": [self.comment(issue_id, n) for n in range(min(total, 20))],
                "maxResults": 20,
                "startAt": 0,
                "total": total,
            },
            "attachment": [],
        }
        if issue_id == "10000":
            fields["attachment"] = [
                {
                    "id": "20000",
                    "filename": "plan.pdf",
                    "size": 1234,
                    "mimeType": "application/pdf",
                    "content": f"{self.ORIGIN}/rest/api/3/attachment/content/20000",
                    "created": "2024-01-02T10:00:00.000+0000",
                    "author": _user("author-1"),
                }
            ]
        return {"id": issue_id, "key": self._key_of(issue_id), "fields": fields}

    def histories(self, issue_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{issue_id}-h{n}",
                "author": _user("author-2"),
                "created": f"2024-02-0{n + 1}T10:00:00.000+0000",
                "items": [{"field": "status", "fromString": "To Do", "toString": "Done"}],
            }
            for n in range(2)
        ]

    def _myself(self, seen: Seen) -> Answer:
        return 200, {}, {**_user("svc"), "timeZone": "Europe/Berlin"}

    def _projects(self, seen: Seen) -> Answer:
        query = dict(seen.query)
        start, size = int(query.get("startAt", 0)), min(int(query.get("maxResults", 50)), 2)
        values = self.projects[start : start + size]
        last = start + size >= len(self.projects)
        page = {"values": values, "startAt": start, "maxResults": size,
                "total": len(self.projects), "isLast": last}  # fmt: skip
        return 200, {}, page

    def _search(self, seen: Seen) -> Answer:
        query = dict(seen.query)
        match = re.match(r'^project = "([^"]+)"', query["jql"])
        assert match, query["jql"]
        ids = self.issue_ids.get(match[1], [])
        start = int(query.get("nextPageToken", "0"))
        page_ids = ids[start : start + 3]
        body: dict[str, Any] = {"issues": [{"id": i} for i in page_ids], "isLast": True}
        if start + 3 < len(ids):
            body.update(nextPageToken=str(start + 3), isLast=False)
        return 200, {}, body

    def _bulkfetch(self, seen: Seen) -> Answer:
        wanted = seen.body["issueIdsOrKeys"]
        assert len(wanted) <= 100
        issues = [self.issue(i) for i in wanted if i not in self.unreturnable]
        errors = [{"id": i, "errorMessage": self.unreturnable[i]} for i in wanted
                  if i in self.unreturnable]  # fmt: skip
        return 200, {}, {"issues": issues, "issueErrors": errors}

    def _comments(self, seen: Seen, issue_id: str) -> Answer:
        query = dict(seen.query)
        total = self.comment_counts.get(issue_id, 0)
        start, size = int(query.get("startAt", 0)), min(int(query.get("maxResults", 100)), 10)
        comments = [self.comment(issue_id, n) for n in range(start, min(start + size, total))]
        return 200, {}, {"comments": comments, "startAt": start, "maxResults": size,
                         "total": total}  # fmt: skip

    def _changelogs(self, seen: Seen) -> Answer:
        wanted = seen.body["issueIdsOrKeys"]
        assert len(wanted) <= 1000
        flat = [(i, h) for i in wanted for h in self.histories(i)]
        start = int(seen.body.get("nextPageToken", "0"))
        page = flat[start : start + self.changelog_page]
        grouped: dict[str, list[Any]] = {}
        for issue_id, history in page:
            grouped.setdefault(issue_id, []).append(history)
        body: dict[str, Any] = {
            "issueChangeLogs": [{"issueId": i, "changeHistories": h} for i, h in grouped.items()]
        }
        if start + self.changelog_page < len(flat):
            body["nextPageToken"] = str(start + self.changelog_page)
        return 200, {}, body

    def _content(self, seen: Seen, attachment_id: str) -> Answer:
        location = f"https://api.media.atlassian.com/file/f-{attachment_id}/binary?token=jwt"
        return 303, {"Location": location}, b""

    def _media(self, seen: Seen, file_id: str) -> Answer:
        return 200, {"Content-Type": "application/octet-stream"}, f"bytes of {file_id}".encode()


@pytest.fixture
def fake_jira(jira_api: OpenAPIRequests) -> FakeJira:
    return FakeJira(jira_api)


class FakeConfluence(FakeSite):
    """Spaces ENG (id 1001: 5 pages, 2 blog posts) and OPS (1002: 1 page), 3 labels, footer
    and inline comments, and 4 attachments (one on custom content), two items a page so the
    `Link` header paging runs everywhere. Restrictions name users with e-mail addresses."""

    # v2 has no restrictions endpoint; its v1 answer is described by a hand-written schema.
    v1_restrictions = json.loads(
        (OPENAPI / "confluence-v1-restrictions.schema.json").read_text("utf-8")
    )

    def __init__(self, api: OpenAPIRequests) -> None:
        super().__init__(api)
        self.spaces = [
            {"id": "1001", "key": "ENG", "name": "Engineering", "type": "global",
             "status": "current", "authorId": "acct-1", "createdAt": "2024-01-01T00:00:00.000Z"},
            {"id": "1002", "key": "OPS", "name": "Operations", "type": "global",
             "status": "current", "authorId": "acct-1", "createdAt": "2024-01-01T00:00:00.000Z"},
        ]  # fmt: skip
        self.pages = {"1001": [f"2{n:03d}" for n in range(5)], "1002": ["2100"]}
        self.blogposts = {"1001": ["3000", "3001"], "1002": []}
        self.labels = [
            {"id": "501", "name": "howto", "prefix": "global"},
            {"id": "502", "name": "draft", "prefix": "global"},
            {"id": "503", "name": "news", "prefix": "global"},
        ]
        self.labelled = {"501": ["2000", "2001"], "502": ["2001"], "503": ["3000"]}
        self.footer = [{"id": "4000", "pageId": "2000"}, {"id": "4001", "blogPostId": "3000"},
                       {"id": "4002", "pageId": "2003"}]  # fmt: skip
        self.inline = [{"id": "4100", "pageId": "2001"}, {"id": "4101", "pageId": "2002"}]
        self.attachments = [
            {"id": "att5000", "pageId": "2000"},
            {"id": "att5001", "pageId": "2001"},
            {"id": "att5002", "blogPostId": "3000"},
            {"id": "att5003", "customContentId": "9000"},
        ]
        v2 = "/wiki/api/v2"
        self.route("GET", f"{v2}/spaces", lambda s: self._list(s, self.spaces))
        self.route("GET", rf"{v2}/spaces/(\d+)/pages", self._pages)
        self.route("GET", rf"{v2}/spaces/(\d+)/blogposts", self._blogposts)
        self.route("GET", f"{v2}/footer-comments", lambda s: self._list(s, self._footer()))
        self.route("GET", f"{v2}/inline-comments", lambda s: self._list(s, self._inline()))
        self.route("GET", f"{v2}/attachments", lambda s: self._list(s, self._attachments()))
        self.route("GET", f"{v2}/labels", lambda s: self._list(s, self.labels))
        self.route("GET", rf"{v2}/labels/(\d+)/pages", self._label_pages)
        self.route("GET", rf"{v2}/labels/(\d+)/blogposts", self._label_blogposts)
        self.route("GET", r"/wiki/rest/api/content/(\d+)/restriction/byOperation", self._restrict)
        self.route("GET", r"/wiki/download/attachments/(\d+)/([^/]+)", self._download)

    def _list(self, seen: Seen, items: list[dict[str, Any]]) -> Answer:
        query = dict(seen.query)
        start = int(query.get("cursor", "0"))
        body: dict[str, Any] = {"results": items[start : start + 2], "_links": {}}
        headers = {}
        if start + 2 < len(items):
            rest = [(k, v) for k, v in seen.query if k != "cursor"] + [("cursor", str(start + 2))]
            link = seen.path + "?" + "&".join(f"{k}={v}" for k, v in rest)
            headers["Link"] = f'<{link}>; rel="next", <{SITE_URL}/wiki>; rel="base"'
            body["_links"] = {"next": link, "base": f"{SITE_URL}/wiki"}
        return 200, headers, body

    def content(self, content_id: str, space_id: str, kind: str, body: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": content_id, "status": "current", "title": f"{kind} {content_id}",
            "spaceId": space_id, "authorId": "acct-2", "createdAt": "2024-03-01T00:00:00.000Z",
            "version": {"number": 1, "authorId": "acct-2", "createdAt": "2024-03-01T00:00:00.000Z"},
        }  # fmt: skip
        if body:
            item["body"] = {"storage": {"representation": "storage", "value": "<p>hi</p>"}}
        return item

    def _pages(self, seen: Seen, space_id: str) -> Answer:
        wants_body = dict(seen.query).get("body-format") == "storage"
        items = [self.content(i, space_id, "page", wants_body) for i in self.pages[space_id]]
        return self._list(seen, items)

    def _blogposts(self, seen: Seen, space_id: str) -> Answer:
        wants_body = dict(seen.query).get("body-format") == "storage"
        items = [self.content(i, space_id, "blog", wants_body) for i in self.blogposts[space_id]]
        return self._list(seen, items)

    def _footer(self) -> list[dict[str, Any]]:
        body = {"storage": {"representation": "storage", "value": "<p>comment</p>"}}
        return [{**c, "status": "current", "title": "Re", "body": body} for c in self.footer]

    def _inline(self) -> list[dict[str, Any]]:
        body = {"storage": {"representation": "storage", "value": "<p>inline</p>"}}
        return [{**c, "status": "current", "title": "Re", "body": body,
                 "properties": {"inlineMarkerRef": "m-1", "inlineOriginalSelection": "text"}}
                for c in self.inline]  # fmt: skip

    def _attachments(self) -> list[dict[str, Any]]:
        items = []
        for attachment in self.attachments:
            owner = attachment.get("pageId") or attachment.get("blogPostId") or "9000"
            name = f"{attachment['id']}.png"
            items.append({
                **attachment, "status": "current", "title": name, "mediaType": "image/png",
                "fileSize": 42, "fileId": f"f-{attachment['id']}",
                "downloadLink": f"/download/attachments/{owner}/{name}?version=1&api=v2",
            })  # fmt: skip
        return items

    def _label_pages(self, seen: Seen, label_id: str) -> Answer:
        ids = [i for i in self.labelled.get(label_id, []) if i.startswith("2")]
        return self._list(seen, [self.content(i, "1001", "page", False) for i in ids])

    def _label_blogposts(self, seen: Seen, label_id: str) -> Answer:
        ids = [i for i in self.labelled.get(label_id, []) if i.startswith("3")]
        return self._list(seen, [self.content(i, "1001", "blog", False) for i in ids])

    def _restrict(self, seen: Seen, content_id: str) -> Answer:
        user = {"type": "known", "accountId": "acct-9", "accountType": "atlassian",
                "email": "nine@people.example", "displayName": "Nine"}  # fmt: skip
        read_users = [user] if content_id == "2001" else []

        def operation(name: str, users: list[Any]) -> dict[str, Any]:
            return {
                "operation": name,
                "restrictions": {
                    "user": {"results": users, "start": 0, "limit": 100, "size": len(users)},
                    "group": {"results": [], "start": 0, "limit": 100, "size": 0},
                },
                "_expandable": {"content": f"/rest/api/content/{content_id}"},
            }

        body = {"read": operation("read", read_users), "update": operation("update", []),
                "_links": {"base": f"{SITE_URL}/wiki", "context": "/wiki"}}  # fmt: skip
        jsonschema.validate(body, self.v1_restrictions)
        return 200, {}, body

    def _download(self, seen: Seen, owner: str, name: str) -> Answer:
        return 200, {"Content-Type": "image/png"}, f"png {owner}/{name}".encode()


@pytest.fixture
def fake_confluence(confluence_api: OpenAPIRequests) -> FakeConfluence:
    return FakeConfluence(confluence_api)
