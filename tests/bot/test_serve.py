"""`backupbot serve` start-up: a refused bot token is one clear line, not a traceback."""

import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import httpx

from cli.main import main


def test_a_refused_bot_token_stops_start_up_with_one_line(
    fake_slack, tmp_path, monkeypatch, capsys
):
    fake_slack.fail_next("auth.test", 200, {"ok": False, "error": "invalid_auth"})
    config = tmp_path / "backupbot.yml"
    config.write_text("storage: {managed: {kind: local, path: %s}}\n" % (tmp_path / "b"))
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-secret-value", "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": f"{fake_slack.url}/api/", "BACKUPBOT_CONFIG": str(config),
        "BACKUPBOT_DATA_DIR": str(tmp_path),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["serve", "--port", "0"]) == 1
    error = capsys.readouterr().err
    assert "auth.test: invalid_auth" in error and "SLACK_BOT_TOKEN" in error
    assert "Traceback" not in error and "xoxb-secret-value" not in error


def test_serve_without_slack_credentials_names_what_is_missing(tmp_path, monkeypatch, capsys):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKUPBOT_DATA_DIR", str(tmp_path))
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN: not set" in error and "SLACK_SIGNING_SECRET: not set" in error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_acknowledges_in_front_and_its_worker_process_answers(fake_slack, tmp_path):
    config = tmp_path / "backupbot.yml"
    config.write_text(
        "roles: {source: config, org_admins: [alice@example.com]}\n"
        f"storage: {{managed: {{kind: local, path: {tmp_path / 'b'}}}}}\n"
    )
    port = free_port()
    env = {
        **os.environ, "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": f"{fake_slack.url}/api/", "BACKUPBOT_CONFIG": str(config),
        "BACKUPBOT_DATA_DIR": str(tmp_path),
    }  # fmt: skip
    env.pop("SLACK_APP_TOKEN", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        form = {"team_id": "T0TEAM", "user_id": "U_ALICE", "command": "/backup", "text": "audit 3",
                "response_url": f"{fake_slack.url}/respond/serve"}  # fmt: skip
        body = urllib.parse.urlencode(form).encode()
        stamp = int(time.time())
        signature = (
            "v0="
            + hmac.new(
                b"test-signing-secret", f"v0:{stamp}:".encode() + body, hashlib.sha256
            ).hexdigest()
        )
        answer = httpx.post(
            f"{url}/slack/events",
            content=body,
            headers={"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": signature,
                     "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert answer.status_code == 200
        reply = fake_slack.wait_for("respond/serve")
        assert "audit" in reply["text"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
