"""Backup throughput and memory against a sandbox site in its own process.

    .venv/bin/python bench/backup_throughput.py              # the throughput run (issue 3)
    .venv/bin/python bench/backup_throughput.py --rss        # peak RSS at 10,000 and 100,000 issues

Throughput: a sandbox with 20,000 issues in 20 projects and 2,000 pages in 10 spaces at
`--latency-ms 50 --rate-limit 50`; the Jira site and then the Confluence site are backed up
(one after the other: on real Atlassian Cloud each app has its own rate limit). For each it
prints items/s, requests/s, the share of the rate limit used and the share of requests answered
429, from the sandbox's own counters. Memory: the backup runs in a child process of its own and
reports its peak RSS (`ru_maxrss`), for sites of 10,000 and 100,000 issues.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from jobs import backup
from jobs.context import open_deployment

ROOT = Path(__file__).resolve().parent.parent


def start_sandbox(*, issues: int, projects: int, pages: int, spaces: int, latency: int, limit: int):
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--seed", "42",
         "--issues", str(issues), "--projects", str(projects), "--pages", str(pages),
         "--spaces", str(spaces), "--latency-ms", str(latency), "--rate-limit", str(limit)],
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not found:
        process.kill()
        raise SystemExit(f"the sandbox did not start: {line}")
    return process, found.group(0)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox_stats(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/__sandbox/stats", timeout=10).json()


def run_child(url: str, site: str, product: str, workdir: Path) -> dict[str, Any]:
    """One backup in a process of its own, so its peak RSS is the backup's alone."""
    config = workdir / "backupbot.yml"
    config.write_text(
        "sites:\n"
        f"  {site}: {{product: {product}, url: '{url}', email: bench@example.com, token_env: SB}}\n"
    )
    env = {**os.environ, "BACKUPBOT_CONFIG": str(config), "BACKUPBOT_DATA_DIR": str(workdir),
           "SB": "sandbox-token", "BACKUPBOT_MANIFEST_KEY": "ab" * 32}  # fmt: skip
    done = subprocess.run(
        [sys.executable, __file__, "--child", site], env=env, cwd=ROOT,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the backup failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(site: str) -> None:
    context = open_deployment()
    queued = backup.queue(context, site, None, requested_by=None)
    started = time.perf_counter()
    result = backup.run(context, queued.id)
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "status": str(result.status), "error": result.error, "elapsed": elapsed,
        "items": sum(result.item_counts.values()), "counts": result.item_counts,
        "data_bytes": result.data_bytes,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "cpu": time.process_time(),
    }))  # fmt: skip


def throughput(limit: int) -> None:
    shape = {"issues": 20_000, "projects": 20, "pages": 2_000, "spaces": 10}
    print(f"sandbox: {shape}, latency 50 ms, rate limit {limit} requests/s")
    process, url = start_sandbox(**shape, latency=50, limit=limit)
    try:
        for site, product in (("bench-jira", "jira"), ("bench-wiki", "confluence")):
            with tempfile.TemporaryDirectory() as workdir:
                before, cpu_before = sandbox_stats(url), cpu_seconds(process.pid)
                result = run_child(url, site, product, Path(workdir))
                after, cpu_after = sandbox_stats(url), cpu_seconds(process.pid)
            requests = after["requests"] - before["requests"]
            refused = after["rateLimited"] - before["rateLimited"]
            seconds = result["elapsed"]
            print(
                f"{product:10} {result['status']}: {result['items']:,} items in {seconds:.1f} s "
                f"= {result['items'] / seconds:,.0f} items/s; {requests:,} requests = "
                f"{requests / seconds:.1f} requests/s = {requests / seconds / limit:.0%} of the "
                f"rate limit; 429s: {refused} ({refused / max(requests, 1):.2%}); "
                f"peak RSS {result['peak_rss_kib'] / 1024:.0f} MiB; CPU: backup "
                f"{result['cpu']:.0f} s, sandbox {cpu_after - cpu_before:.0f} s"
            )
    finally:
        process.terminate()
        process.wait()


def peak_rss(latency: int, limit: int) -> None:
    print(
        f"peak RSS of the backup process (Jira), latency {latency} ms, rate limit {limit or 'none'}"
    )
    rss = {}
    for issues in (10_000, 100_000):
        process, url = start_sandbox(
            issues=issues, projects=20, pages=0, spaces=0, latency=latency, limit=limit
        )
        try:
            with tempfile.TemporaryDirectory() as workdir:
                result = run_child(url, "bench-jira", "jira", Path(workdir))
        finally:
            process.terminate()
            process.wait()
        rss[issues] = result["peak_rss_kib"] / 1024
        print(
            f"{issues:>7,} issues: {result['status']}, {result['items']:,} items, "
            f"{result['data_bytes'] / 1e6:,.0f} MB of JSON in {result['elapsed']:.0f} s; "
            f"peak RSS {rss[issues]:.1f} MiB"
        )
    print(f"growth from 10,000 to 100,000 issues: {rss[100_000] / rss[10_000] - 1:+.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rss", action="store_true", help="measure peak RSS instead")
    parser.add_argument("--rate-limit", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=50, help="for --rss")
    parser.add_argument("--child", metavar="SITE", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
    elif arguments.rss:
        peak_rss(arguments.latency_ms, arguments.rate_limit)
    else:
        throughput(arguments.rate_limit)


if __name__ == "__main__":
    main()
