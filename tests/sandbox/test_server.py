"""The sandbox as a real HTTP server on 127.0.0.1: in a thread for tests, as a command for all."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox import SANDBOX_TOKEN, SiteData, create_app, main, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
AUTH = ("ops@example.com", SANDBOX_TOKEN)


def test_a_running_sandbox_serves_http_on_loopback_and_stops(site):
    app = create_app(site)
    with running_sandbox(app=app) as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        with httpx.Client(base_url=base_url, auth=AUTH, timeout=10) as client:
            assert client.get("/rest/api/3/myself").json()["emailAddress"] == AUTH[0]
            keys, token = [], None
            while True:
                params = {"jql": "project = ENG", "maxResults": 10, "fields": "key"}
                page = client.get(
                    "/rest/api/3/search/jql",
                    params=params | ({"nextPageToken": token} if token else {}),
                ).json()
                keys += [issue["key"] for issue in page["issues"]]
                if page["isLast"]:
                    break
                token = page["nextPageToken"]
        assert len(keys) == len(set(keys)) == site.projects[0].issue_count
        assert app.state.stats.requests >= 2
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/rest/api/3/myself", auth=AUTH, timeout=2)


def test_a_delay_makes_a_client_time_out_and_the_server_still_stops(site):
    app = create_app(site)
    app.state.faults.delay(1.0, paths=["/rest/api/3/myself"], times=1)
    with running_sandbox(app=app) as base_url, httpx.Client(base_url=base_url, auth=AUTH) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get("/rest/api/3/myself", timeout=0.2)
        assert client.get("/rest/api/3/myself", timeout=5).status_code == 200


def test_the_sandbox_listens_on_loopback_only():
    with (
        pytest.raises(ValueError, match="loopback"),
        running_sandbox(SiteData.empty(), host="0.0.0.0"),
    ):
        pass


def test_the_command_refuses_a_port_in_use(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        status = main(["--port", str(taken.getsockname()[1]), "--empty"])
    assert status == 2
    assert "cannot listen" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--port", "-1"],
        ["--port", "8080", "--issues", "many"],
        ["--port", "0", "--projects", "0"],
    ],
)
def test_the_command_refuses_bad_arguments(arguments):
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2


def _first_response(url: str) -> httpx.Response:
    """The banner comes just before the server accepts connections: try for a few seconds."""
    for _ in range(100):
        try:
            return httpx.get(url, auth=AUTH)
        except httpx.ConnectError:
            time.sleep(0.05)
    pytest.fail(f"nothing answered at {url}")


def test_python_m_atlassian_sandbox_serves_until_interrupted():
    command = [
        sys.executable, "-m", "sandbox", "--port", "0", "--seed", "3", "--issues", "40",
        "--pages", "10", "--latency-ms", "1", "--rate-limit", "100",
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=environment
    ) as process:
        try:
            banner = process.stderr.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+", banner)
            assert url, banner
            assert "40 issues" in process.stderr.readline()
            response = _first_response(url.group(0) + "/rest/api/3/project/search")
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "100"
            assert response.json()["total"] == 3
        finally:
            process.send_signal(signal.SIGINT)
            status = process.wait(10)
    assert status == 0
