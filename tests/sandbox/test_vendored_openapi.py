"""tools/vendor_openapi.py: the test data holds exactly the described operations backupbot uses."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "tests" / "data" / "openapi"


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "vendor_openapi", ROOT / "tools" / "vendor_openapi.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


tool = _load_tool()

DOCUMENT = {
    "openapi": "3.0.1",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/used": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/A"}}
                        }
                    }
                }
            }
        },
        "/unused": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/C"}}
                        }
                    }
                }
            }
        },
    },
    "components": {
        "schemas": {
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"items": {"$ref": "#/components/schemas/A"}},  # a cycle ends too
            "C": {"type": "string"},
            "D": {"type": "integer"},
        }
    },
}


def test_a_subset_keeps_the_listed_operations_and_what_they_reference():
    result = tool.subset(DOCUMENT, [("get", "/used")], ["D"])
    assert list(result["paths"]) == ["/used"]
    assert sorted(result["components"]["schemas"]) == ["A", "B", "D"]
    assert "vendored" in json.dumps(result["info"])


def test_an_operation_missing_from_the_description_is_an_error():
    with pytest.raises(tool.VendoringError, match="POST /used"):
        tool.subset(DOCUMENT, [("post", "/used")], [])


def test_rendering_is_stable():
    assert tool.render(DOCUMENT) == tool.render(json.loads(tool.render(DOCUMENT)))
    assert tool.render(DOCUMENT).endswith("}\n")


@pytest.mark.parametrize("part", tool.SUBSETS, ids=lambda part: part.target)
def test_the_vendored_files_hold_every_listed_operation(part):
    document = json.loads((VENDORED / part.target).read_text(encoding="utf-8"))
    for method, path in part.operations:
        assert method in document["paths"][path]
    for name in part.extra_schemas:
        assert name in document["components"]["schemas"]


# Only where Atlassian's full descriptions are at hand (they live outside the repository): the
# vendored files must be what the tool makes of them, so nobody edits them by hand.
if tool.DEFAULT_SPECS.is_dir():

    def test_the_vendored_files_are_what_the_tool_writes(tmp_path):
        for written in tool.vendor(tool.DEFAULT_SPECS, tmp_path):
            assert written.read_bytes() == (VENDORED / written.name).read_bytes()
