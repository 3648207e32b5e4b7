"""Copy Slack's JSON Schema for app manifests into the test data.

Slack's published schema (draft-07, MIT licensed, slackapi/manifest-schema) lives outside the
repository (`../shared/specs`, see its README); a fresh clone must pass its tests without it, and
`tests/bot/test_manifest.py` validates `manifest.yml` against it. This script copies the schema
unchanged in content, re-dumped as two-space-indented JSON with the keys in the publisher's order
and a final newline, to `tests/data/slack/`. When Slack publishes a new version, put it in the
specs folder and run:

    .venv/bin/python tools/vendor_slack_schema.py [--specs DIR] [--out DIR]

With `--check` it writes nothing and exits 1 when the vendored copy is missing or differs from
what the specs folder would give (for example in a pre-release check on a machine that has
`../shared`); the test suite does not do this comparison, since the folder may be absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"
DEFAULT_OUT = REPO / "tests" / "data" / "slack"
SCHEMA_NAME = "slack-app-manifest.schema.1.0.0.json"


def render(document: Any) -> str:
    """Stable text: the same input always gives the same bytes, so diffs show real changes."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def rendered_source(specs: Path) -> str:
    """The vendored text the schema in `specs` gives."""
    return render(json.loads((specs / SCHEMA_NAME).read_text(encoding="utf-8")))


def vendor(specs: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / SCHEMA_NAME
    target.write_text(rendered_source(specs), encoding="utf-8")
    return target


def check(specs: Path, out: Path) -> bool:
    """Whether the vendored copy in `out` is exactly what `specs` gives."""
    target = out / SCHEMA_NAME
    expected = rendered_source(specs)
    return target.is_file() and target.read_text(encoding="utf-8") == expected


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS, help="the source folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the destination folder")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the vendored copy is missing or out of date",
    )
    arguments = parser.parse_args(argv)
    try:
        if arguments.check:
            if check(arguments.specs, arguments.out):
                sys.stdout.write(f"{arguments.out / SCHEMA_NAME} is up to date\n")
                return 0
            sys.stderr.write(
                f"vendor_slack_schema: {arguments.out / SCHEMA_NAME} differs from "
                f"{arguments.specs / SCHEMA_NAME}; run tools/vendor_slack_schema.py\n"
            )
            return 1
        written = vendor(arguments.specs, arguments.out)
    except (OSError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        sys.stderr.write(f"vendor_slack_schema: {error}\n")
        return 1
    sys.stdout.write(f"wrote {written} ({written.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
