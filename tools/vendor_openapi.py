"""Copy the parts of Atlassian's OpenAPI descriptions that backupbot uses into the test data.

Atlassian's published descriptions live outside the repository (`../shared/specs`, see its
README); a fresh clone must pass its tests without them. This script keeps, for each product,
only the operations listed below plus every component they reach through `$ref` (transitively),
and writes them as stable, reviewable JSON (sorted keys, two-space indent) under
`tests/data/openapi/`. Add a path to a list when the clients or the sandbox start using it, then
run:

    .venv/bin/python tools/vendor_openapi.py [--specs DIR] [--out DIR]

The Confluence REST v1 calls (content restrictions, labels, attachment upload) are not in the v2
description; their schemas are hand-written in `tests/data/openapi/` (files
`confluence-v1-restrictions.schema.json` and `confluence-v1-writes.schema.json`), not made here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"
DEFAULT_OUT = REPO / "tests" / "data" / "openapi"

JIRA_OPERATIONS: list[tuple[str, str]] = [
    ("get", "/rest/api/3/myself"),
    ("get", "/rest/api/3/project/search"),
    ("get", "/rest/api/3/search/jql"),
    ("post", "/rest/api/3/search/jql"),
    ("post", "/rest/api/3/issue/bulkfetch"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/comment"),
    ("post", "/rest/api/3/changelog/bulkfetch"),
    ("get", "/rest/api/3/attachment/content/{id}"),
    # Writes a restore makes (and the reads that check them).
    ("post", "/rest/api/3/project"),
    ("get", "/rest/api/3/project/{projectIdOrKey}"),
    ("post", "/rest/api/3/issue/bulk"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("post", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("post", "/rest/api/3/issue/{issueIdOrKey}/comment"),
    ("post", "/rest/api/3/issueLink"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("put", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("delete", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("post", "/rest/api/3/issue/{issueIdOrKey}/attachments"),
    ("delete", "/rest/api/3/issue/{issueIdOrKey}"),
    # Roles (`roles.source: atlassian`): is an account a Jira admin (ADMINISTER)?
    ("post", "/rest/api/3/permissions/check"),
]
# An issue's `fields` is a free-form object in the description; these are the schemas of the
# fields backupbot reads, kept so that tests can check each field's value too.
JIRA_EXTRA_SCHEMAS: list[str] = [
    "Attachment",
    "ErrorCollection",
    "IssueLink",
    "IssueTypeDetails",
    "PageOfComments",
    "Priority",
    "ProjectDetails",
    "SecurityLevel",
    "StatusDetails",
    "UserDetails",
]

# Paths as the v2 description writes them, relative to its server URL `https://{site}/wiki/api/v2`.
CONFLUENCE_OPERATIONS: list[tuple[str, str]] = [
    ("get", "/spaces"),
    ("get", "/spaces/{id}/pages"),
    ("get", "/spaces/{id}/blogposts"),
    ("get", "/footer-comments"),
    ("get", "/inline-comments"),
    ("get", "/attachments"),
    ("get", "/labels"),
    ("get", "/labels/{id}/pages"),
    ("get", "/labels/{id}/blogposts"),
    ("get", "/pages/{id}/footer-comments"),
    ("get", "/pages/{id}/inline-comments"),
    ("get", "/pages/{id}/attachments"),
    ("get", "/pages/{id}/labels"),
    # Writes a restore makes (and the reads that check them).
    ("post", "/spaces"),
    ("post", "/pages"),
    ("get", "/pages/{id}"),
    ("put", "/pages/{id}"),
    ("delete", "/pages/{id}"),
    ("post", "/blogposts"),
    ("post", "/footer-comments"),
    ("post", "/inline-comments"),
    ("get", "/pages/{page-id}/properties"),
    ("post", "/pages/{page-id}/properties"),
]
CONFLUENCE_EXTRA_SCHEMAS: list[str] = []


@dataclass(frozen=True)
class Subset:
    source: str
    target: str
    operations: list[tuple[str, str]]
    extra_schemas: list[str]


SUBSETS = [
    Subset(
        "jira-platform-v3.openapi.json", "jira-subset.json", JIRA_OPERATIONS, JIRA_EXTRA_SCHEMAS
    ),
    Subset(
        "confluence-v2.openapi.json",
        "confluence-subset.json",
        CONFLUENCE_OPERATIONS,
        CONFLUENCE_EXTRA_SCHEMAS,
    ),
]


class VendoringError(Exception):
    """The description lacks something the lists above ask for."""


def _refs(node: Any) -> Iterator[str]:
    """Every `$ref` string anywhere inside `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _component_address(ref: str) -> tuple[str, str]:
    """`#/components/schemas/User` -> ("schemas", "User"); anything else is refused."""
    parts = ref.split("/")
    if len(parts) != 4 or parts[:2] != ["#", "components"]:
        raise VendoringError(f"unsupported $ref {ref!r}: only local component references")
    return parts[2], parts[3].replace("~1", "/").replace("~0", "~")


def subset(
    document: dict[str, Any], operations: Sequence[tuple[str, str]], extra: Sequence[str]
) -> dict[str, Any]:
    """The description cut down to `operations`, plus `extra` schemas, plus what they reference."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path in operations:
        try:
            operation = document["paths"][path][method]
        except KeyError:
            raise VendoringError(f"{method.upper()} {path} is not in the description") from None
        item = paths.setdefault(path, {})
        item[method] = operation
        # Parameters shared by every method of a path live beside the methods.
        if "parameters" in document["paths"][path]:
            item["parameters"] = document["paths"][path]["parameters"]

    components: dict[str, dict[str, Any]] = {}
    pending = [*_refs(paths), *(f"#/components/schemas/{name}" for name in extra)]
    while pending:
        kind, name = _component_address(pending.pop())
        if name in components.get(kind, {}):
            continue
        try:
            definition = document["components"][kind][name]
        except KeyError:
            raise VendoringError(f"component {kind}/{name} is not in the description") from None
        components.setdefault(kind, {})[name] = definition
        pending.extend(_refs(definition))

    info = dict(document["info"])
    info["x-backupbot-vendored"] = (
        "Subset of Atlassian's published description: only the operations backupbot uses and "
        "the components they reference. Regenerate with tools/vendor_openapi.py."
    )
    result: dict[str, Any] = {"openapi": document["openapi"], "info": info, "paths": paths}
    if "servers" in document:
        result["servers"] = document["servers"]
    result["components"] = components
    return result


def render(document: dict[str, Any]) -> str:
    """Stable text: the same input always gives the same bytes, so diffs show real changes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def vendor(specs: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for part in SUBSETS:
        document = json.loads((specs / part.source).read_text(encoding="utf-8"))
        target = out / part.target
        target.write_text(
            render(subset(document, part.operations, part.extra_schemas)), encoding="utf-8"
        )
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS, help="the source folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the destination folder")
    arguments = parser.parse_args(argv)
    try:
        written = vendor(arguments.specs, arguments.out)
    except (OSError, VendoringError) as error:
        sys.stderr.write(f"vendor_openapi: {error}\n")
        return 1
    for path in written:
        sys.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
