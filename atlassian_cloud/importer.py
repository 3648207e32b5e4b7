"""What Jira and Confluence restores share: the result, the bookkeeping of one run, the visible
origin prefix of restored comments, and where an attachment's bytes come from.

A REST restore cannot set a comment's author or date (docs/rules.md), so each restored
comment opens with a line naming the original author, date and comment id; verification strips
that line before comparing, and a resumed restore reads the id back so no comment is posted twice.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from atlassian_cloud.errors import (
    AtlassianError,
    AuthenticationFailed,
    RateLimited,
    SiteUnavailable,
)
from atlassian_cloud.restore_plan import AttachmentPlan, RestorePlan
from atlassian_cloud.transport import SiteClient
from policy.restore import AttachmentSource
from policy.statuses import RestoreStatus

Progress = Callable[[str, int], None]  # (phase, items done so far)
StoredContent = Callable[[str], bytes]  # SHA-256 -> the stored bytes, verified
CONCURRENCY = 16  # item tasks at once; matches the transport's most requests in flight
MAX_OUTAGE = 50  # site-wide failures in a row that stop the restore instead of grinding on

_PREFIX = re.compile(r"^\[Restored comment ([^\]\s]+)\] ")


def origin_line(comment_id: str, author: str, created: Any) -> str:
    """The first line of a restored comment: its original id, author and date."""
    return f"[Restored comment {comment_id}] Originally written by {author} on {created}."


def restored_comment_id(first_line: str) -> str | None:
    """The original comment id a restored comment's first line names, if it is one."""
    match = _PREFIX.match(first_line)
    return match.group(1) if match else None


def storage_origin_paragraph(comment_id: str, author: str, created: Any) -> str:
    return f"<p><em>{html.escape(origin_line(comment_id, author, created))}</em></p>"


def strip_storage_origin(body: str) -> tuple[str | None, str]:
    """`(original comment id, body without the origin paragraph)` of a restored Confluence
    comment; `(None, body)` for any other."""
    match = re.match(r"^<p><em>(.*?)</em></p>", body, re.DOTALL)
    if match is None:
        return None, body
    comment_id = restored_comment_id(html.unescape(match.group(1)))
    if comment_id is None:
        return None, body
    rest = body[match.end() :]
    quoted = re.match(r"^<blockquote><p>.*?</p></blockquote>", rest, re.DOTALL)
    return comment_id, rest[quoted.end() :] if quoted else rest


@dataclass(frozen=True)
class FailedItem:
    """An item the restore could not put back, and why."""

    kind: str  # project, space, issue, page, blogpost, comment, link, attachment, label, ...
    source_id: str
    reason: str


@dataclass
class RestoreResult:
    """What a restore did: counts, the old -> new map, what failed and what it could not
    reproduce. `status` is Completed, or Incomplete when `failed` is not empty."""

    status: RestoreStatus
    created: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    failed: list[FailedItem] = field(default_factory=list)
    not_reproduced: list[str] = field(default_factory=list)  # e.g. a status the workflow refused
    id_map: dict[str, str] = field(default_factory=dict)  # old id -> new id, every kind
    key_map: dict[str, str] = field(default_factory=dict)  # old key -> new key: projects, issues
    requests: int = 0
    uploaded_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None

    def items_restored(self) -> int:
        return sum(self.created.values())


class RestoreStopped(Exception):
    """The restore cannot go on: the target refuses our credentials, or is down."""


@dataclass
class Run:
    """One execution's bookkeeping, shared by its concurrent tasks (one event loop)."""

    plan: RestorePlan
    progress: Progress | None
    result: RestoreResult = field(default_factory=lambda: RestoreResult(RestoreStatus.IN_PROGRESS))
    done: int = 0
    outage: int = 0
    started: float = field(default_factory=time.monotonic)

    def count(self, kind: str, phase: str, *, skipped: bool = False) -> None:
        target = self.result.skipped if skipped else self.result.created
        target[kind] = target.get(kind, 0) + 1
        self.done += 1
        self.outage = 0
        if self.progress is not None:
            self.progress(phase, self.done)

    def fail(self, kind: str, source_id: str, reason: AtlassianError | str) -> None:
        """Record an item that could not be restored; stop the run when the target refuses
        our credentials or keeps failing for site-wide reasons."""
        if isinstance(reason, AuthenticationFailed):
            raise RestoreStopped(str(reason)) from reason
        self.result.failed.append(FailedItem(kind, source_id, str(reason)))
        if isinstance(reason, SiteUnavailable | RateLimited):
            self.outage += 1
            if self.outage >= MAX_OUTAGE:
                raise RestoreStopped(
                    f"the restore stopped: {self.outage} requests in a row failed after their "
                    f"retries; the last: {reason}"
                ) from reason

    def map(
        self, old_id: str, new_id: str, old_key: str | None = None, new_key: str | None = None
    ) -> None:
        self.result.id_map[old_id] = new_id
        if old_key is not None and new_key is not None:
            self.result.key_map[old_key] = new_key

    def finish(self, *clients: SiteClient) -> RestoreResult:
        result = self.result
        result.status = RestoreStatus.INCOMPLETE if result.failed else RestoreStatus.COMPLETED
        result.requests = sum(client.stats.requests for client in clients)
        result.seconds = time.monotonic() - self.started
        return result


async def in_pool(work: list[Callable[[], Awaitable[None]]], size: int = CONCURRENCY) -> None:
    """Run the works with at most `size` at once; the first error that escapes a work (a
    `RestoreStopped`) cancels the rest."""
    gate = asyncio.Semaphore(size)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    try:
        async with asyncio.TaskGroup() as group:
            for job in work:
                group.create_task(one(job))
    except BaseExceptionGroup as grouped:
        first = grouped.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from grouped


async def attachment_bytes(
    attachment: AttachmentPlan, source: SiteClient | None, stored: StoredContent | None
) -> bytes:
    """The bytes of an attachment to upload: stored content (read and verified in a worker
    thread) or, to re-link, the original downloaded from the source site's content URL (Jira
    and Confluence have no API that attaches an existing file by reference)."""
    if attachment.source is AttachmentSource.REUPLOAD and stored is not None and attachment.sha256:
        return await asyncio.to_thread(stored, attachment.sha256)
    if (
        attachment.source is AttachmentSource.RELINK
        and source is not None
        and attachment.content_url
    ):
        blocks = [block async for block in source.download(attachment.content_url)]
        return b"".join(blocks)
    raise LookupError("its content was not stored and the original is gone")
