"""Every request a restore sends (preview, run and verification) is one Atlassian describes:
v2/v3 calls checked against the vendored OpenAPI subsets, v1 calls against the hand-written
v1 schemas, uploads carrying the `X-Atlassian-Token: no-check` header."""

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jsonschema
import pytest

from jobs import restore

from .conftest import TARGET, SitesFactory

TESTS = Path(__file__).resolve().parents[1]
OPENAPI = TESTS / "data" / "openapi"
V1_WRITES = json.loads((OPENAPI / "confluence-v1-writes.schema.json").read_text("utf-8"))


def _openapi_checker() -> Any:
    spec = importlib.util.spec_from_file_location(
        "atlassian_test_fixtures", TESTS / "atlassian_cloud" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.OpenAPIRequests


def _body_choices_as_any_of(node: Any) -> None:
    """Atlassian offers a written body as `oneOf` a flat and a nested form that overlap
    (neither forbids the other's properties), so no body matches exactly one: such choices
    are checked as `anyOf`, which is what the description means (as tests/sandbox does)."""
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


def _load(name: str) -> dict[str, Any]:
    """A vendored description in the form the shared checker reads: every operation has a
    parameter list, and request bodies are inline rather than references."""
    document = json.loads((OPENAPI / name).read_text("utf-8"))
    bodies = document.get("components", {}).get("requestBodies", {})
    for item in document["paths"].values():
        for key, operation in item.items():
            if key != "parameters" and isinstance(operation, dict):
                operation.setdefault("parameters", [])
                reference = (operation.get("requestBody") or {}).get("$ref")
                if reference:
                    operation["requestBody"] = bodies[reference.rsplit("/", 1)[1]]
    _body_choices_as_any_of(document)
    return dict(document)


def _v1_schema(name: str) -> dict[str, Any]:
    return {**V1_WRITES["$defs"][name], "$defs": V1_WRITES["$defs"]}


def check(request: httpx.Request, jira: Any, confluence: Any) -> None:
    path = request.url.path
    query = parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True)
    multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    body = json.loads(request.content) if request.content and not multipart else None
    if multipart:
        assert request.headers.get("x-atlassian-token") == "no-check", path
        assert b'name="file"' in request.content, path
    if path.startswith("/wiki/rest/api/content/"):
        if path.endswith("/restriction") and request.method == "PUT":
            jsonschema.validate(body, _v1_schema("restrictionUpdateRequest"))
        elif path.endswith("/label"):
            jsonschema.validate(body, _v1_schema("labelAddRequest"))
        else:
            assert path.endswith(("/child/attachment", "/restriction/byOperation")), path
    elif path.startswith("/wiki/api/v2/"):
        if not multipart:
            confluence.check(request.method, path, query, body)
    elif path.startswith("/wiki/download/"):
        assert request.method == "GET"  # an attachment's content URL, fetched to re-link it
    else:
        if multipart:
            jira.operation(request.method, path)
        else:
            jira.check(request.method, path, query, body)


@pytest.mark.parametrize(("source", "target"), [("src-jira", "dst-jira"), ("src-wiki", "dst-wiki")])
def test_every_request_of_a_restore_is_described_by_atlassian(
    sites: SitesFactory, source: str, target: str
) -> None:
    checker = _openapi_checker()
    jira = checker(_load("jira-subset.json"))
    document = _load("confluence-subset.json")
    confluence = checker(document, prefix=urlsplit(document["servers"][0]["url"]).path)
    site = sites()
    backup_id = site.backup(source)
    site.router.requests.clear()

    plan = restore.preview(site.context, backup_id, target=target)
    result = restore.run(site.context, plan)
    restore.verify(site.context, plan, result)

    assert site.router.writes_to(TARGET)
    for request in site.router.requests:
        check(request, jira, confluence)
