"""Slack's 3-second rule under load: how fast `backupbot serve` acknowledges slash commands while
it runs 8 backups.

    .venv/bin/python bench/ack_latency.py [--commands 200] [--concurrency 20]

Starts four sandbox processes (`--latency-ms 50`), each serving a Jira and a Confluence site
(8 sites), a fake Slack Web API in this process, and one `backupbot serve` process configured
with the 8 sites. It asks for a backup of every site (`/backup now`), then, while they run,
sends signed `/backup list` commands, `--concurrency` at a time, and prints the time from
sending each to its HTTP answer (the acknowledgement Slack waits for): p50, p99 and max, and
how many backups were still running when the last command was answered.
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
SANDBOXES = 4


class FakeSlack(BaseHTTPRequestHandler):
    """Enough of Slack's Web API for the bot: everyone is alice, an admin of everything."""

    posts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        method = self.path.lstrip("/").removeprefix("api/")
        answer: dict[str, Any] = {"ok": True, "ts": f"{time.time():.6f}", "channel": "C0NOTIFY"}
        if method == "users.info":
            answer["user"] = {"id": "U1", "profile": {"email": "alice@example.com"}}
        elif method == "auth.test":
            answer |= {"user_id": "UBOT", "team_id": "T1", "team": "bench", "user": "backupbot"}
        elif method == "chat.postMessage":
            FakeSlack.posts.append(body)
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: Any) -> None:
        pass


def start_sandbox(seed: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--seed", str(seed),
         "--projects", "4", "--issues", "3000", "--spaces", "2", "--pages", "600",
         "--latency-ms", "50"],
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stderr is not None
    found = re.search(r"http://127\.0\.0\.1:\d+", process.stderr.readline())
    if not found:
        raise SystemExit("a sandbox did not start")
    return process, found.group(0)


HTTP = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))


def signed_command(url: str, text: str, number: int, slack: str) -> float:
    form = {
        "team_id": "T1", "user_id": "U1", "command": "/backup", "text": text,
        "channel_id": "C1", "response_url": f"{slack}/respond/{number}", "trigger_id": "t",
    }  # fmt: skip
    body = urllib.parse.urlencode(form).encode()
    stamp = str(int(time.time()))
    signature = (
        "v0="
        + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    started = time.perf_counter()
    answer = HTTP.post(f"{url}/slack/events", content=body, headers=headers)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        print(f"command {number}: HTTP {answer.status_code} after {elapsed:.2f} s: {answer.text}")
        return float("inf")  # not acknowledged: Slack would show the user an error
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--backups", type=int, default=8, help="backups running meanwhile")
    arguments = parser.parse_args()

    slack_server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSlack)
    slack = f"http://127.0.0.1:{slack_server.server_address[1]}"
    threading.Thread(target=slack_server.serve_forever, daemon=True).start()
    sandboxes = [start_sandbox(seed) for seed in range(1, SANDBOXES + 1)]
    serve: subprocess.Popen[str] | None = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            sites = []
            lines = ["channels: {notifications: C0NOTIFY}", "roles:", "  source: config",
                     "  org_admins: [alice@example.com]",
                     "  app_admins: {jira: [alice@example.com], confluence: [alice@example.com]}",
                     "sites:"]  # fmt: skip
            for number, (_, url) in enumerate(sandboxes):
                for product in ("jira", "confluence"):
                    name = f"{product}-{number}"
                    sites.append(name)
                    lines.append(
                        f"  {name}: {{product: {product}, url: '{url}', "
                        "email: bench@example.com, token_env: SB}"
                    )
            config = Path(folder) / "backupbot.yml"
            config.write_text("\n".join(lines) + "\n")
            port = 3000 + os.getpid() % 1000
            env = {
                **os.environ, "BACKUPBOT_CONFIG": str(config), "BACKUPBOT_DATA_DIR": folder,
                "SB": "sandbox-token", "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack}/api/",
            }  # fmt: skip
            serve = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=env, cwd=ROOT, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or serve.poll() is not None:
                    raise SystemExit("backupbot serve did not start")
                time.sleep(0.2)

            for number, site in enumerate(sites[: arguments.backups]):
                signed_command(url, f"now {site}", 10_000 + number, slack)
            time.sleep(2)  # the backups are under way
            before = len(FakeSlack.posts)
            with ThreadPoolExecutor(arguments.concurrency) as pool:
                times = sorted(
                    pool.map(
                        lambda n: signed_command(url, "list", n, slack), range(arguments.commands)
                    )
                )
            finished_during = len(FakeSlack.posts) - before
    finally:
        if serve is not None:
            serve.terminate()
            serve.wait(30)
        for process, _ in sandboxes:
            process.terminate()
        slack_server.shutdown()

    p99 = times[max(0, round(0.99 * len(times)) - 1)]
    print(
        f"{arguments.commands} signed /backup commands, {arguments.concurrency} at a time, "
        f"while {arguments.backups} backups ran (of which {finished_during} finished during the "
        "measurement):"
    )
    print(
        f"acknowledged in p50 {statistics.median(times) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {times[-1] * 1000:.0f} ms; over 3 s or not acknowledged: {sum(t > 3 for t in times)}"
    )


if __name__ == "__main__":
    main()
