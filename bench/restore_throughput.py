"""Restore throughput and the quality of this deployment's own restore estimate.

    .venv/bin/python bench/restore_throughput.py [--issues 10000 --pages 1000 --history 2000]

1. History: a site of `--history` issues is backed up and restored into an empty sandbox
   (`--latency-ms 50 --rate-limit 50`, its own process), so this deployment has measured
   restore throughput for Jira.
2. A site of `--issues` issues and `--pages` pages is backed up; the preview of restoring its
   Jira backup into another empty sandbox gives the estimate (from that history alone); then
   the restore runs and is measured. Printed: items/s, requests/s, the share of the rate limit
   used and 429s (from the target sandbox's own counters), and predicted against measured time.
3. The Confluence backup (the pages) is restored into the same empty sandbox and measured.

Source sandboxes answer at once (no latency, no limit): only the restores are being measured.
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from jobs import backup, restore, restore_job
from jobs.context import JobContext, open_deployment

ROOT = Path(__file__).resolve().parent.parent
SEED = "42"  # every sandbox: the same people, so restored restrictions and assignees exist


@contextmanager
def sandbox(*arguments: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--seed", SEED, *arguments],
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", line)
    try:
        if not found:
            raise SystemExit(f"a sandbox did not start: {line}")
        yield found.group(0)
    finally:
        process.terminate()
        process.wait()


def stats(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/__sandbox/stats", timeout=10).json()


def deployment(workdir: Path, sites: dict[str, tuple[str, str]]) -> JobContext:
    config = workdir / "backupbot.yml"
    config.write_text(
        "sites:\n"
        + "".join(
            f"  {name}: {{product: {product}, url: '{url}', email: bench@example.com, "
            "token_env: SB}\n"
            for name, (product, url) in sites.items()
        )
    )
    environ = {"BACKUPBOT_CONFIG": str(config), "BACKUPBOT_DATA_DIR": str(workdir),
               "SB": "sandbox-token", "BACKUPBOT_MANIFEST_KEY": "cd" * 32}  # fmt: skip
    return open_deployment(environ)


def backed_up(context: JobContext, site: str) -> str:
    queued = backup.queue(context, site, None, requested_by=None)
    result = backup.run(context, queued.id)
    if not result.status.holds_data:
        raise SystemExit(f"the backup of {site} failed: {result.error}")
    return queued.id


def measured_restore(context: JobContext, backup_id: str, target: str, target_url: str) -> dict:
    plan = restore.preview(context, backup_id, target=target)
    estimate = restore_job.estimates(context, plan)
    queued = restore_job.queue(context, plan, requested_by=None)
    before = stats(target_url)
    started = time.perf_counter()
    result = restore_job.execute(context, queued.id, plan)
    seconds = time.perf_counter() - started
    after = stats(target_url)
    requests = after["requests"] - before["requests"]
    refused = after["rateLimited"] - before["rateLimited"]
    return {
        "status": str(result.status), "items": result.items_restored(), "seconds": seconds,
        "requests": requests, "refused": refused, "estimate": estimate,
        "failed": len(result.failed),
        "failures": [f"{f.kind} {f.source_id}: {f.reason}" for f in result.failed[:5]],
    }  # fmt: skip


def report(label: str, run: dict, limit: int) -> None:
    seconds = run["seconds"]
    print(
        f"{label}: {run['status']} ({run['failed']} items not restored): {run['items']:,} items "
        f"in {seconds:.0f} s = {run['items'] / seconds:.1f} items/s; {run['requests']:,} requests "
        f"= {run['requests'] / seconds:.1f} requests/s = {run['requests'] / seconds / limit:.0%} "
        f"of the rate limit; 429s: {run['refused']} "
        f"({run['refused'] / max(run['requests'], 1):.2%})"
    )
    for failure in run["failures"]:
        print(f"  not restored: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=1_000)
    parser.add_argument("--history", type=int, default=2_000)
    parser.add_argument("--rate-limit", type=int, default=50)
    arguments = parser.parse_args()
    limit = str(arguments.rate_limit)
    target_knobs = ("--empty", "--latency-ms", "50", "--rate-limit", limit)
    with (
        tempfile.TemporaryDirectory() as workdir,
        sandbox("--issues", str(arguments.history), "--projects", "2", "--spaces", "1",
                "--pages", "1") as small,
        sandbox("--issues", str(arguments.issues), "--projects", "10", "--spaces", "10",
                "--pages", str(arguments.pages)) as large,
        sandbox(*target_knobs) as first_target,
        sandbox(*target_knobs) as second_target,
    ):  # fmt: skip
        context = deployment(
            Path(workdir),
            {
                "small": ("jira", small), "large-jira": ("jira", large),
                "large-wiki": ("confluence", large), "history-target": ("jira", first_target),
                "jira-target": ("jira", second_target),
                "wiki-target": ("confluence", second_target),
            },
        )  # fmt: skip
        print(f"target sandboxes: empty, latency 50 ms, rate limit {limit} requests/s")
        history = measured_restore(
            context, backed_up(context, "small"), "history-target", first_target
        )
        report(f"history: Jira, {arguments.history:,} issues", history, arguments.rate_limit)

        jira = measured_restore(
            context, backed_up(context, "large-jira"), "jira-target", second_target
        )
        report(f"Jira, {arguments.issues:,} issues", jira, arguments.rate_limit)
        predicted = jira["estimate"].own.duration.total_seconds()
        print(
            f"  predicted from the {arguments.history:,}-issue history: {predicted:.0f} s; "
            f"measured {jira['seconds']:.0f} s; error {predicted / jira['seconds'] - 1:+.1%}"
        )
        print(f"  preview said: {jira['estimate'].describe()}")

        wiki = measured_restore(
            context, backed_up(context, "large-wiki"), "wiki-target", second_target
        )
        report(f"Confluence, {arguments.pages:,} pages", wiki, arguments.rate_limit)


if __name__ == "__main__":
    main()
