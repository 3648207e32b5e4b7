"""Walking a whole Jira or Confluence site into records, in bounded memory.

`export_jira` and `export_confluence` hand every record to an async `sink(entity, record)` as
soon as it is read: listings are read a page at a time, at most a few of them at once, and the
per-item work (bulkfetch batches, comment pages, changelogs, restrictions) runs in a pool of
bounded size whose `submit` waits for a free place, so however large the site, memory holds a
few pages and `concurrency` batches (and, for Confluence, the ids and names of labelled content:
page records carry their labels, which v2 lists label by label). The sink is never called
concurrently.

A failure of one item after the transport's retries (a page whose restrictions answer 500, an
issue Jira cannot return) is reported through `failed(entity, item_id, reason)` and the export
goes on; the backup is then `Incomplete`. Refused credentials stop the export, as does a failed
listing of projects or spaces (what the site holds is then unknown), and so does a run of
`MAX_OUTAGE` items in a row failing for site-wide reasons (5xx, time-outs, rate limits), so an
outage does not grind through every remaining item. Users are kept as account ids: the site
client never hands on an e-mail address (`records.parse_json`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.errors import (
    AtlassianError,
    AuthenticationFailed,
    RateLimited,
    SiteUnavailable,
)
from atlassian_cloud.jira import BULKFETCH_BATCH, CHANGELOG_BATCH, JiraClient
from atlassian_cloud.records import (
    JSONObject,
    confluence_attachment_reference,
    jira_attachment_reference,
)
from atlassian_cloud.transport import SiteClient

Sink = Callable[[str, JSONObject], Awaitable[None]]
Progress = Callable[[str, int], None]  # (phase: the entity being written, records written so far)
Failed = Callable[[str, str, str], None]  # (entity, item id, reason)

DEFAULT_CONCURRENCY = 16  # item tasks at once; matches the transport's most requests in flight
LISTINGS_AT_ONCE = 4  # projects, or space page/blog post listings, read at the same time
MAX_OUTAGE = 50  # site-wide failures in a row (no record written in between) that stop an export

JIRA_ENTITIES = ("projects", "issues", "comments", "attachments", "changelogs")
CONFLUENCE_ENTITIES = (
    "spaces",
    "pages",
    "blogposts",
    "footer_comments",
    "inline_comments",
    "attachments",
)


@dataclass
class ExportSummary:
    """What an export wrote: records per entity, and how many items failed."""

    counts: dict[str, int]
    failures: int

    @property
    def complete(self) -> bool:
        return self.failures == 0


def fetch_attachment(client: SiteClient, reference: Mapping[str, Any]) -> AsyncIterator[bytes]:
    """The content of an attachment reference, streamed, from the site's own origin only (for
    storage locations with `attachments: copy`; the caller decides whether to download)."""
    url = reference.get("contentUrl")
    if not isinstance(url, str) or not url:
        raise ValueError(f"attachment {reference.get('id')!r} has no content URL")
    return client.download(url)


# --- machinery shared by both products ---------------------------------------------------------


@dataclass
class _Run:
    site: str
    sink: Sink
    progress: Progress
    failed: Failed | None
    counts: dict[str, int]
    failures: int = 0
    outage: int = 0  # site-wide failures since the last record written
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def emit(self, entity: str, record: JSONObject) -> None:
        async with self.lock:
            await self.sink(entity, record)
            self.counts[entity] = self.counts.get(entity, 0) + 1
            self.progress(entity, self.counts[entity])
        self.outage = 0

    def fail(self, entity: str, item_ids: Iterable[str], reason: AtlassianError | str) -> None:
        """Report items that could not be backed up; raise when the export must stop instead."""
        if isinstance(reason, AuthenticationFailed):
            raise reason  # nothing else will succeed either
        for item_id in item_ids:
            self.failures += 1
            if self.failed is not None:
                self.failed(entity, item_id, str(reason))
        if isinstance(reason, SiteUnavailable | RateLimited):
            self.outage += 1
            if self.outage >= MAX_OUTAGE:
                raise SiteUnavailable(
                    self.site,
                    f"the export stopped: {self.outage} requests in a row failed after their "
                    f"retries; the last: {reason}",
                ) from reason

    def summary(self) -> ExportSummary:
        return ExportSummary(dict(self.counts), self.failures)


class _Pool:
    """Runs at most `size` item tasks at once; `submit` waits for a free place, which is what
    keeps a fast listing from queueing a whole site in memory."""

    def __init__(self, group: asyncio.TaskGroup, size: int) -> None:
        self._group = group
        self._free = asyncio.Semaphore(size)

    async def submit(self, work: Callable[..., Awaitable[None]], *args: Any) -> None:
        await self._free.acquire()
        self._group.create_task(self._run(work, *args))

    async def _run(self, work: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await work(*args)
        finally:
            self._free.release()


@asynccontextmanager
async def _task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """A TaskGroup that raises the first real error itself rather than an ExceptionGroup, so
    callers catch `AtlassianError` as they would from a plain call."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as grouped:
        raise _first_error(grouped) from grouped


def _first_error(grouped: BaseExceptionGroup[BaseException]) -> BaseException:
    first = grouped.exceptions[0]
    return _first_error(first) if isinstance(first, BaseExceptionGroup) else first


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


# --- Jira ----------------------------------------------------------------------------------------


async def export_jira(
    client: JiraClient,
    sink: Sink,
    progress: Progress,
    failed: Failed | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    updated_since: datetime | None = None,
) -> ExportSummary:
    """Every project, issue, comment, attachment reference and change history of the site.

    Records: `projects` as `/project/search` gives them (description, lead, issue types);
    `issues` as bulkfetch gives them, without `fields.comment`; `comments` one per comment with
    its `issueId`; `attachments` as references (see `records.jira_attachment_reference`);
    `changelogs` one per change history with its `issueId`. With `updated_since`, only issues
    updated since then (and their comments, attachments and changelogs).
    """
    run = _Run(client.site, sink, progress, failed, dict.fromkeys(JIRA_ENTITIES, 0))
    async with _task_group() as group:
        export = _JiraExport(client, run, _Pool(group, concurrency), updated_since)
        async for project in client.projects():
            await run.emit("projects", project)
            key = project.get("key")
            if isinstance(key, str) and key:
                await export.listings.acquire()
                group.create_task(export.project(key))
    return run.summary()


@dataclass
class _JiraExport:
    client: JiraClient
    run: _Run
    pool: _Pool
    updated_since: datetime | None
    listings: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(LISTINGS_AT_ONCE))

    async def project(self, key: str) -> None:
        """A project's issues: ids a page at a time, each page cut into item tasks."""
        try:
            async for ids in self.client.issue_id_pages(key, self.updated_since):
                # Changelogs first: a batch's pages are read one after another, so started
                # last they would be the export's tail.
                for batch in _chunks(ids, CHANGELOG_BATCH):
                    await self.pool.submit(self.changelogs, batch)
                for batch in _chunks(ids, BULKFETCH_BATCH):
                    await self.pool.submit(self.issue_batch, batch)
        except AtlassianError as error:
            self.run.fail("issues", [f"project {key}"], error)
        finally:
            self.listings.release()

    async def issue_batch(self, ids: Sequence[str]) -> None:
        try:
            batch = await self.client.issue_batch(ids)
        except AtlassianError as error:
            self.run.fail("issues", ids, error)
            return
        for issue_id, message in batch.errors:
            self.run.fail("issues", [issue_id], message)
        # Ids in neither list were deleted (or hidden) since they were listed: nothing to keep.
        more_comments: list[str] = []
        for issue in batch.issues:
            if (paged := await self.issue(issue)) is not None:
                more_comments.append(paged)
        # Issues with more comments than they carry: their comment pages are read together.
        await asyncio.gather(*(self.all_comments(issue_id) for issue_id in more_comments))

    async def issue(self, issue: JSONObject) -> str | None:
        """Emit the issue, its attachment references and the comments it carries; returns its
        id when it has more comments than it carries (read them with `all_comments`)."""
        issue_id = str(issue.get("id"))
        fields = issue.get("fields")
        if not isinstance(fields, dict):
            fields = {}
        comment_field = fields.pop("comment", None)
        await self.run.emit("issues", issue)
        for attachment in fields.get("attachment") or []:
            if isinstance(attachment, dict):
                await self.run.emit("attachments", jira_attachment_reference(issue, attachment))

        embedded: list[Any] = []
        total: Any = 0
        if isinstance(comment_field, dict):
            embedded = comment_field.get("comments") or []
            total = comment_field.get("total") or len(embedded)
        if isinstance(total, int) and total > len(embedded):
            return issue_id
        for comment in embedded:
            if isinstance(comment, dict):
                await self.run.emit("comments", {"issueId": issue_id, **comment})
        return None

    async def all_comments(self, issue_id: str) -> None:
        """The issue carries only its first comments: read them all from the comment endpoint,
        from the start, so none is lost or doubled if the two orders differ."""
        try:
            async for comment in self.client.comments(issue_id):
                await self.run.emit("comments", {"issueId": issue_id, **comment})
        except AtlassianError as error:
            self.run.fail("comments", [issue_id], error)

    async def changelogs(self, ids: Sequence[str]) -> None:
        try:
            async for issue_id, history in self.client.changelogs(ids):
                await self.run.emit("changelogs", {"issueId": issue_id, **history})
        except AtlassianError as error:
            self.run.fail("changelogs", ids, error)


# --- Confluence ----------------------------------------------------------------------------------


@dataclass
class _LabelIndex:
    """Which labels each page and blog post carries, read label by label (v2 lists content by
    label). It holds ids and names only: small beside the content it describes."""

    labels: dict[str, JSONObject] = field(default_factory=dict)
    by_content: dict[str, list[str]] = field(default_factory=dict)

    def add(self, content_id: str, label_id: str) -> None:
        self.by_content.setdefault(content_id, []).append(label_id)

    def of(self, content_id: str) -> list[JSONObject]:
        return [self.labels[label_id] for label_id in self.by_content.get(content_id, [])]


async def export_confluence(
    client: ConfluenceClient,
    sink: Sink,
    progress: Progress,
    failed: Failed | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> ExportSummary:
    """Every space, page, blog post, comment and attachment reference of the site.

    Records: `spaces` as v2 gives them; `pages` and `blogposts` as v2 gives them (storage-format
    body) plus `labels` (`[{id, name, prefix}]`) and `restrictions` (v1 byOperation without its
    `_links`: `{read: {...}, update: {...}}`); `footer_comments` and `inline_comments` as v2
    gives them (each names its page or blog post); `attachments` as references (see
    `records.confluence_attachment_reference`).
    """
    run = _Run(client.site, sink, progress, failed, dict.fromkeys(CONFLUENCE_ENTITIES, 0))
    async with _task_group() as group:
        export = _ConfluenceExport(client, run, _Pool(group, concurrency))
        for entity, listing in (
            ("footer_comments", client.footer_comments),
            ("inline_comments", client.inline_comments),
            ("attachments", client.attachments),
        ):
            group.create_task(export.site_listing(entity, listing()))
        # Labels first: every page record carries its labels, so the index must be whole
        # before the first page is written.
        await export.read_labels(concurrency)
        async for space in client.spaces():
            await run.emit("spaces", space)
            space_id = str(space.get("id"))
            for entity, contents in (("pages", client.pages), ("blogposts", client.blogposts)):
                await export.listings.acquire()
                group.create_task(export.space_contents(entity, space_id, contents(space_id)))
    return run.summary()


@dataclass
class _ConfluenceExport:
    client: ConfluenceClient
    run: _Run
    pool: _Pool
    labels: _LabelIndex = field(default_factory=_LabelIndex)
    listings: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(LISTINGS_AT_ONCE))

    async def site_listing(self, entity: str, items: AsyncIterator[JSONObject]) -> None:
        try:
            async for item in items:
                if entity != "attachments":
                    await self.run.emit(entity, item)
                    continue
                reference = confluence_attachment_reference(item, self.client.origin)
                if reference is None:
                    self.run.fail(
                        entity,
                        [str(item.get("id"))],
                        "it belongs to neither a page nor a blog post (custom content is not "
                        "backed up)",
                    )
                else:
                    await self.run.emit(entity, reference)
        except AtlassianError as error:
            self.run.fail(entity, ["(listing)"], error)

    async def read_labels(self, concurrency: int) -> None:
        async with _task_group() as group:
            pool = _Pool(group, concurrency)
            try:
                async for label in self.client.labels():
                    label_id = str(label.get("id"))
                    self.labels.labels[label_id] = {
                        key: label.get(key) for key in ("id", "name", "prefix")
                    }
                    await pool.submit(self.labelled_content, label_id)
            except AtlassianError as error:
                self.run.fail("labels", ["(listing)"], error)

    async def labelled_content(self, label_id: str) -> None:
        try:
            async for page in self.client.label_pages(label_id):
                self.labels.add(str(page.get("id")), label_id)
            async for post in self.client.label_blogposts(label_id):
                self.labels.add(str(post.get("id")), label_id)
        except AtlassianError as error:
            # The content is still backed up, but may lack this label: reported, so the
            # backup says it is incomplete.
            self.run.fail("labels", [label_id], error)

    async def space_contents(
        self, entity: str, space_id: str, contents: AsyncIterator[JSONObject]
    ) -> None:
        try:
            async for item in contents:
                await self.pool.submit(self.content, entity, item)
        except AtlassianError as error:
            self.run.fail(entity, [f"space {space_id}"], error)
        finally:
            self.listings.release()

    async def content(self, entity: str, item: JSONObject) -> None:
        content_id = str(item.get("id"))
        try:
            restrictions = await self.client.restrictions(content_id)
        except AtlassianError as error:
            # Not written without its restrictions: restoring it would publish content that
            # may be restricted (docs/rules.md: restrictions are re-applied before content
            # becomes visible).
            self.run.fail(entity, [content_id], error)
            return
        by_operation = {key: value for key, value in restrictions.items() if key[:1] != "_"}
        if _restrictions_truncated(by_operation):
            self.run.fail(
                entity,
                [content_id],
                "its restrictions name more users or groups than one answer holds; only the "
                "first ones are kept",
            )
        record = {**item, "labels": self.labels.of(content_id), "restrictions": by_operation}
        await self.run.emit(entity, record)


def _restrictions_truncated(by_operation: Mapping[str, Any]) -> bool:
    """Whether a byOperation answer says its user or group list continues elsewhere."""
    for operation in by_operation.values():
        subjects = operation.get("restrictions") if isinstance(operation, dict) else None
        if not isinstance(subjects, dict):
            continue
        for kind in ("user", "group"):
            listing = subjects.get(kind)
            links = listing.get("_links") if isinstance(listing, dict) else None
            if isinstance(links, dict) and links.get("next"):
                return True
    return False
