"""Fixtures of the sandbox tests: a small site, HTTP clients on it, and the API contracts.

Most tests talk HTTP in-process through `httpx.ASGITransport`; a few use a real server on
127.0.0.1 (`running_sandbox`). Response bodies are checked against Atlassian's OpenAPI
descriptions as vendored in tests/data/openapi (by tools/vendor_openapi.py), converted to JSON
Schema: OpenAPI 3.0's `nullable: true` becomes a `null` alternative and `$ref`s resolve inside
the vendored document.
"""

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from starlette.applications import Starlette

from sandbox import SANDBOX_TOKEN, SandboxOptions, SiteData, create_app

OPENAPI = Path(__file__).resolve().parents[1] / "data" / "openapi"
EMAIL = "backup.bot@example.com"
BASE_URL = "http://sandbox.test"
CONFLUENCE_V2 = "/wiki/api/v2"


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` admits null."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items()}
    if converted.get("nullable") is True:
        del converted["nullable"]
        kind = converted.get("type")
        if isinstance(kind, str):
            converted["type"] = [kind, "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def _body_choices_as_any_of(node: Any) -> None:
    if isinstance(node, dict):
        choices = node.get("oneOf")
        if isinstance(choices, list) and all(
            str(choice.get("$ref", "")).endswith("BodyWrite") for choice in choices
        ):
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _body_choices_as_any_of(value)
    elif isinstance(node, list):
        for item in node:
            _body_choices_as_any_of(item)


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class OpenApi:
    """Validation of response bodies against one vendored OpenAPI description."""

    def __init__(self, path: Path, uri: str, extra_schemas: dict[str, Any] | None = None) -> None:
        document = json.loads(path.read_text(encoding="utf-8"))
        document["components"]["schemas"].update(extra_schemas or {})
        # Atlassian offers a written body as `oneOf` a flat and a nested form that overlap (neither
        # forbids the other's properties), so no body can match exactly one: such choices are
        # checked as `anyOf`, which is what the description means.
        _body_choices_as_any_of(document)
        self.document = _json_schema(document)
        self.uri = uri
        self.registry = Registry().with_resource(
            uri, Resource.from_contents(self.document, default_specification=DRAFT4)
        )

    def operations(self) -> set[tuple[str, str]]:
        return {
            (method.upper(), path)
            for path, item in self.document["paths"].items()
            for method in item
            if method != "parameters"
        }

    def response_pointer(self, path: str, method: str, status: int) -> str:
        operation = self.document["paths"][path][method.lower()]
        response = operation["responses"][str(status)]
        assert "application/json" in response.get("content", {}), (
            f"{method} {path} {status} has no JSON schema in the description"
        )
        return _pointer(
            "", "paths", path, method.lower(), "responses", str(status), "content",
            "application/json", "schema",
        )  # fmt: skip

    def _check(self, pointer: str, instance: Any, what: str) -> None:
        validator = Draft4Validator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10]]
            pytest.fail(f"{what} does not match the description:\n" + "\n".join(lines))

    def validate_response(self, path: str, method: str, status: int, body: Any) -> None:
        self._check(self.response_pointer(path, method, status), body, f"{method} {path} {status}")

    def validate_request(self, path: str, method: str, body: Any) -> None:
        """A request body the clients may send: it must be what the description admits."""
        request_body = self.document["paths"][path][method.lower()]["requestBody"]
        if "$ref" in request_body:  # a shared body under components/requestBodies
            start = request_body["$ref"].removeprefix("#")
        else:
            start = _pointer("", "paths", path, method.lower(), "requestBody")
        pointer = start + _pointer("", "content", "application/json", "schema")
        self._check(pointer, body, f"request of {method} {path}")

    def validate_component(self, name: str, instance: Any) -> None:
        self._check(_pointer("", "components", "schemas", name), instance, name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def jira_openapi() -> OpenApi:
    document = json.loads((OPENAPI / "jira-subset.json").read_text(encoding="utf-8"))
    # On an issue, Jira shows a link from that issue's side: one of inwardIssue and
    # outwardIssue. The description's IssueLink requires both because it also describes the
    # body that creates a link; the issue field is that schema with only `type` required.
    shown = copy.deepcopy(document["components"]["schemas"]["IssueLink"])
    shown["required"] = ["type"]
    return OpenApi(OPENAPI / "jira-subset.json", "urn:jira-subset", {"IssueLinkOnIssue": shown})


@pytest.fixture(scope="session")
def confluence_openapi() -> OpenApi:
    return OpenApi(OPENAPI / "confluence-subset.json", "urn:confluence-subset")


@pytest.fixture(scope="session")
def restrictions_schema() -> Draft202012Validator:
    schema = json.loads(
        (OPENAPI / "confluence-v1-restrictions.schema.json").read_text(encoding="utf-8")
    )
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture(scope="session")
def v1_writes_schema() -> dict[str, Any]:
    schema = json.loads((OPENAPI / "confluence-v1-writes.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@pytest.fixture
def check_v1(v1_writes_schema):
    """Validate a v1 request or answer against one definition of the hand-written schema."""

    def check(definition: str, instance: Any) -> None:
        schema = {**v1_writes_schema, "$ref": f"#/$defs/{definition}"}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(instance)]
        assert not errors, f"{definition}: {errors[:5]}"

    return check


@pytest.fixture
def fresh_site() -> SiteData:
    """A site of its own for tests that write (the session's `site` must stay as generated)."""
    return SiteData.generate(11, projects=3, issues=120, spaces=3, pages=45, blogposts=9)


@pytest.fixture
async def writer(fresh_site: SiteData) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(fresh_site)) as http:
        yield http


@pytest.fixture(scope="session")
def site() -> SiteData:
    """Small but complete: every kind of item, trees deeper than 3, issues with > 20 comments."""
    return SiteData.generate(11, projects=3, issues=120, spaces=3, pages=45, blogposts=9)


@pytest.fixture
def app(site: SiteData) -> Starlette:
    return create_app(site)


def client_for(app: Starlette, *, auth: tuple[str, str] | None = (EMAIL, SANDBOX_TOKEN)):
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, auth=auth, timeout=30
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


@pytest.fixture
def make_client():
    """Clients on other apps (options, sites) or with other credentials."""
    return client_for


@pytest.fixture
def make_app():
    def make(data: SiteData, **options: int) -> Starlette:
        return create_app(data, SandboxOptions(**options))

    return make
