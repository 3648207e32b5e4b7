"""Serving the sandbox site over HTTP, on the loopback interface only.

`run_server` serves in the foreground until interrupted (what `backupbot sandbox` and
`python -m sandbox` do, through `main`). `running_sandbox` serves from a background
thread on a free port for the length of a `with` block and yields the base URL, for tests, the
demo and benchmarks. In-process, without a socket, use the app directly:
`httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(data)))`.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from policy.eligibility import is_loopback_host
from sandbox.app import create_app
from sandbox.control import SANDBOX_TOKEN, SandboxOptions
from sandbox.data import SiteData

DEFAULT_HOST = "127.0.0.1"
DEFAULT_SEED = 1
DEFAULT_PROJECTS = 3
DEFAULT_ISSUES = 300
DEFAULT_SPACES = 2
DEFAULT_PAGES = 60
EXIT_USAGE = 2
_STARTUP_TIMEOUT_SECONDS = 10.0
_SHUTDOWN_TIMEOUT_SECONDS = 5.0


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to a loopback address; port 0 picks a free port."""
    if not is_loopback_host(host):
        raise ValueError(f"the sandbox listens on loopback addresses only, not {host!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _server(app: Starlette) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Injected delays can hold requests for long; shutting down must not wait for them.
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_server(
    port: int,
    data: SiteData | None = None,
    options: SandboxOptions | None = None,
    host: str = DEFAULT_HOST,
) -> None:
    """Serve a sandbox site on `host:port` until interrupted (Ctrl-C or SIGTERM)."""
    sock = _listening_socket(host, port)
    _serve_until_interrupted(create_app(data or SiteData.generate(DEFAULT_SEED), options), sock)


def _serve_until_interrupted(app: Starlette, sock: socket.socket) -> None:
    try:
        _server(app).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C, then re-raises it; stopping is the request.
        pass
    finally:
        sock.close()


@contextmanager
def running_sandbox(
    data: SiteData | None = None,
    options: SandboxOptions | None = None,
    *,
    app: Starlette | None = None,
    host: str = DEFAULT_HOST,
) -> Iterator[str]:
    """Serve a sandbox site on a free loopback port during the block; yields its base URL.

    Pass `app` (from `create_app`) to keep a handle on its `state` (faults, stats) while it runs;
    otherwise one is made from `data` and `options`.
    """
    sock = _listening_socket(host, 0)
    port = sock.getsockname()[1]
    server = _server(app or create_app(data or SiteData.generate(DEFAULT_SEED), options))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox server did not start on {_url(host, port)}")
            time.sleep(0.01)
        yield _url(host, port)
    finally:
        server.should_exit = True
        thread.join(_SHUTDOWN_TIMEOUT_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_SHUTDOWN_TIMEOUT_SECONDS)
        sock.close()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backupbot sandbox",
        description="Serve a simulated Atlassian Cloud site (Jira and Confluence) on "
        f"http://{DEFAULT_HOST}:PORT. Sign in with Basic auth: any email and the API token "
        f"'{SANDBOX_TOKEN}'.",
    )
    parser.add_argument("--port", type=_count, required=True, help="the port (0: any free one)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the site's content seed")
    parser.add_argument("--projects", type=_count, default=DEFAULT_PROJECTS)
    parser.add_argument("--issues", type=_count, default=DEFAULT_ISSUES, help="total issues")
    parser.add_argument("--spaces", type=_count, default=DEFAULT_SPACES)
    parser.add_argument("--pages", type=_count, default=DEFAULT_PAGES, help="total pages")
    parser.add_argument(
        "--blogposts", type=_count, default=None, help="total blog posts (default: pages / 5)"
    )
    parser.add_argument("--empty", action="store_true", help="no projects and no spaces")
    parser.add_argument("--latency-ms", type=_count, default=0, help="added to every response")
    parser.add_argument(
        "--rate-limit",
        type=_count,
        default=0,
        help="token bucket of N requests refilled at N per second; 0: unlimited",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`backupbot sandbox ...` / `python -m sandbox ...`; returns the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        if arguments.empty:
            data = SiteData.empty(arguments.seed)
        else:
            data = SiteData.generate(
                arguments.seed,
                projects=arguments.projects,
                issues=arguments.issues,
                spaces=arguments.spaces,
                pages=arguments.pages,
                blogposts=arguments.blogposts,
            )
    except ValueError as error:
        parser.error(str(error))
    options = SandboxOptions(latency_ms=arguments.latency_ms, rate_limit=arguments.rate_limit)
    try:
        sock = _listening_socket(DEFAULT_HOST, arguments.port)
    except OSError as error:
        sys.stderr.write(f"cannot listen on {DEFAULT_HOST}:{arguments.port}: {error.strerror}\n")
        return EXIT_USAGE
    port = sock.getsockname()[1]
    limit = f"{options.rate_limit} requests/s" if options.rate_limit else "none"
    sys.stderr.write(
        f"sandbox site on {_url(DEFAULT_HOST, port)} (Basic auth: any email, API token "
        f"'{SANDBOX_TOKEN}')\n"
        f"  seed {data.seed}: {len(data.projects)} projects, {data.issue_count} issues, "
        f"{len(data.spaces)} spaces, {data.page_count} pages, {data.blogpost_count} blog posts; "
        f"latency {options.latency_ms} ms; rate limit {limit}\n"
    )
    _serve_until_interrupted(create_app(data, options), sock)
    return 0
