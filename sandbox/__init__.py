"""The sandbox site: a simulated Atlassian Cloud site (Jira REST v3, Confluence REST v2 and v1).

It is both a product feature (`backupbot sandbox`, the demo, the console, benchmarks) and the
test double of the Atlassian clients. Content comes from `SiteData` (deterministic from a seed),
behaviour from `SandboxOptions` (latency, rate limit) and `Faults` (switchable while serving).
The site also takes the writes a restore makes (projects, issues, transitions, comments, links,
properties, attachments; spaces, pages, blog posts, comments, labels, restrictions), and its reads
then show them.

    data = SiteData.generate(7, projects=3, issues=300, spaces=2, pages=60)
    app = create_app(data, SandboxOptions(rate_limit=50))          # ASGI, in-process
    with running_sandbox(app=app) as base_url: ...                 # real HTTP on 127.0.0.1
"""

from sandbox.app import create_app
from sandbox.control import (
    SANDBOX_TOKEN,
    Faults,
    SandboxOptions,
    SandboxStats,
)
from sandbox.data import SiteData
from sandbox.server import main, run_server, running_sandbox

__all__ = [
    "SANDBOX_TOKEN",
    "Faults",
    "SandboxOptions",
    "SandboxStats",
    "SiteData",
    "create_app",
    "main",
    "run_server",
    "running_sandbox",
]
