"""Executing a Confluence restore plan: spaces, then pages parents-first, blog posts, comments.

Content never becomes visible before its restrictions are back (docs/rules.md). A page is
created as a draft (which only its creator sees), marked with its `backupbot.origin` content
property, given its restrictions (v1: v2 cannot write them), labels and attachments, and only
then published; a page whose restrictions cannot be applied is deleted instead and reported.
Confluence cannot publish a blog post from a draft, so a blog post is created private to the
restoring account, and its original restrictions (none, when it had none) then replace that;
when they cannot be applied it stays private and is reported. Pages are created level by level,
a level's pages concurrently, so a page's parent always exists before it.

Comments follow their content: footer comments as they were, parents before replies, each
opened by a line naming its original author, date and id. Inline comments become footer
comments quoting the text they were anchored to: creating an inline comment needs a text
selection that occurs in the page a known number of times, and the restored body still carries
the original comments' markers, so re-anchoring would be guesswork.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from atlassian_cloud.confluence import ORIGIN_PROPERTY, ConfluenceClient
from atlassian_cloud.errors import AtlassianError
from atlassian_cloud.importer import (
    Progress,
    RestoreResult,
    Run,
    StoredContent,
    attachment_bytes,
    in_pool,
    storage_origin_paragraph,
    strip_storage_origin,
)
from atlassian_cloud.records import JSONObject
from atlassian_cloud.restore_plan import (
    CREATE,
    SKIP,
    AttachmentPlan,
    ItemPlan,
    Records,
    RestorePlan,
    origin_value,
)
from atlassian_cloud.transport import SiteClient
from policy.restore import SpaceDecision

Work = Callable[[], Awaitable[None]]


def comment_storage(comment: JSONObject, inline: bool) -> str:
    """A comment's storage body opened by its origin line (and, for an inline comment, the
    text it was anchored to, quoted)."""
    version = comment.get("version") or {}
    author = version.get("authorId") or comment.get("authorId")
    who = f"account {author}" if author else "an unknown person"
    created = version.get("createdAt") or comment.get("createdAt")
    body = ((comment.get("body") or {}).get("storage") or {}).get("value") or ""
    quoted = ""
    selection = (comment.get("properties") or {}).get("inlineOriginalSelection")
    if inline and selection and not comment.get("parentCommentId"):
        quoted = f"<blockquote><p>{html.escape(str(selection))}</p></blockquote>"
    return storage_origin_paragraph(str(comment.get("id")), who, created) + quoted + body


def _storage_body(record: JSONObject) -> str:
    return str(((record.get("body") or {}).get("storage") or {}).get("value") or "")


class ConfluenceRestore:
    """One execution of a Confluence plan against the target site."""

    def __init__(
        self,
        plan: RestorePlan,
        records: Records,
        target: ConfluenceClient,
        *,
        source: SiteClient | None,
        stored: StoredContent | None,
        progress: Progress | None,
    ) -> None:
        self.plan = plan
        self.records = records
        self.target = target
        self.source = source
        self.stored = stored
        self.run = Run(plan, progress)
        self.spaces: dict[str, str] = {}  # space key -> target space id
        self.contents: dict[str, tuple[str, str]] = {}  # source id -> (target id, kind)
        self.comments_done: dict[str, set[str]] = {}  # target content id -> original ids
        self.files_done: dict[str, set[str]] = {}  # target content id -> file names

    async def execute(self) -> RestoreResult:
        await self._spaces()
        for item in self.plan.items:
            if item.action == SKIP and item.target_id is not None:
                self.contents[item.source_id] = (item.target_id, item.kind)
                self.run.map(item.source_id, item.target_id)
                self.run.count(item.kind, f"{item.kind}s", skipped=True)
            elif item.action == SKIP:
                # In a space the target already had: skipped by rule (docs/rules.md), as the preview
                # said.
                self.run.count(item.kind, f"{item.kind}s", skipped=True)
            elif item.action != CREATE:
                self.run.fail(item.kind, item.source_id, item.reason)
        await self._reconcile()
        attachments: dict[str, list[AttachmentPlan]] = {}
        for attachment in self.plan.attachments:
            attachments.setdefault(attachment.owner_source_id, []).append(attachment)
        creating = {i.source_id: i for i in self.plan.items if i.action == CREATE}
        records = self._records_of(set(creating))
        for level in self._levels(creating):
            await in_pool([self._content_work(i, records[i.source_id], attachments) for i in level])
        # Files of content an earlier run restored, which that run may not have finished.
        await in_pool(
            [
                self._attachment_work(a)
                for a in self.plan.attachments
                if a.owner_source_id not in creating
            ]
        )
        await self._comments()
        clients = [self.target] + ([self.source] if self.source else [])
        return self.run.finish(*clients)

    def _records_of(self, ids: set[str]) -> dict[str, JSONObject]:
        found: dict[str, JSONObject] = {}
        for entity in ("pages", "blogposts"):
            for record in self.records(entity):
                if str(record.get("id")) in ids:
                    found[str(record.get("id"))] = record
        return found

    def _levels(self, creating: dict[str, ItemPlan]) -> list[list[ItemPlan]]:
        """The items to create in levels: each after the level holding its parent."""
        depth: dict[str, int] = {}
        levels: list[list[ItemPlan]] = []
        for item in self.plan.items:  # parents come first in the plan's order
            if item.source_id not in creating:
                continue
            parent = item.parent_source_id
            level = depth[parent] + 1 if parent in depth else 0
            depth[item.source_id] = level
            while len(levels) <= level:
                levels.append([])
            levels[level].append(item)
        return levels

    # --- spaces ----------------------------------------------------------------------------

    async def _spaces(self) -> None:
        wanted = {c.key: c for c in self.plan.containers}
        for space in self.records("spaces"):
            container = wanted.get(str(space.get("key")))
            if container is None:
                continue
            if container.decision != SpaceDecision.CREATE:
                if container.target_id is not None:
                    self.spaces[container.key] = container.target_id
                    self.run.map(container.source_id, container.target_id)
                self.run.count("space", "spaces", skipped=True)
                continue
            description = space.get("description")
            if isinstance(description, dict):
                description = (description.get("plain") or {}).get("value")
            try:
                created = await self.target.create_space(
                    container.key,
                    container.name,
                    description if isinstance(description, str) else None,
                )
            except AtlassianError as error:
                self.run.fail("space", container.key, error)
                continue
            self.spaces[container.key] = str(created.get("id"))
            self.run.map(container.source_id, str(created.get("id")))
            self.run.count("space", "spaces")

    # --- pages and blog posts ----------------------------------------------------------------

    def _parent_of(self, item: ItemPlan) -> str | None:
        if item.parent_source_id is not None:
            restored = self.contents.get(item.parent_source_id)
            return restored[0] if restored else None
        return item.parent_target_id

    def _content_work(
        self, item: ItemPlan, record: JSONObject, attachments: dict[str, list[AttachmentPlan]]
    ) -> Work:
        async def work() -> None:
            space_id = self.spaces.get(item.container)
            if space_id is None:
                self.run.fail(item.kind, item.source_id, f"space {item.container} was not restored")
                return
            if item.parent_source_id is not None and item.parent_source_id not in self.contents:
                self.run.fail(item.kind, item.source_id, "its parent page was not restored")
                return
            try:
                if item.kind == "page":
                    await self._page(item, record, space_id, attachments)
                else:
                    await self._blogpost(item, record, space_id, attachments)
            except AtlassianError as error:
                self.run.fail(item.kind, item.source_id, error)

        return work

    async def _page(
        self,
        item: ItemPlan,
        record: JSONObject,
        space_id: str,
        attachments: dict[str, list[AttachmentPlan]],
    ) -> None:
        body = _storage_body(record)
        draft = await self.target.create_content(
            "pages", space_id, item.label, body, parent_id=self._parent_of(item)
        )
        page_id = str(draft.get("id"))
        origin = origin_value(self.plan, item.source_id, item.label)
        await self.target.set_content_property(page_id, ORIGIN_PROPERTY, origin)
        if item.restricted and not await self._restrict(item, page_id, record):
            # Never published: the page is removed rather than left without its restrictions.
            await self.target.delete_content("pages", page_id)
            return
        self.contents[item.source_id] = (page_id, "page")
        await self._labels_and_files(item, page_id, record, attachments)
        version = (draft.get("version") or {}).get("number") or 1
        await self.target.publish("pages", page_id, item.label, body, int(version))
        self.run.map(item.source_id, page_id)
        self.run.count("page", "pages")

    async def _blogpost(
        self,
        item: ItemPlan,
        record: JSONObject,
        space_id: str,
        attachments: dict[str, list[AttachmentPlan]],
    ) -> None:
        created = await self.target.create_content(
            "blogposts", space_id, item.label, _storage_body(record), status="current", private=True
        )
        post_id = str(created.get("id"))
        self.contents[item.source_id] = (post_id, "blogpost")
        self.run.map(item.source_id, post_id)
        if not await self._restrict(item, post_id, record):
            self.run.result.not_reproduced.append(
                f"blog post {item.label!r} stays private to the restoring account"
            )
            return
        await self._labels_and_files(item, post_id, record, attachments)
        self.run.count("blogpost", "blogposts")

    async def _restrict(self, item: ItemPlan, content_id: str, record: JSONObject) -> bool:
        try:
            await self.target.set_restrictions(content_id, record.get("restrictions") or {})
        except AtlassianError as error:
            self.run.fail(
                item.kind,
                item.source_id,
                f"its restrictions could not be applied, so it was not published: {error}",
            )
            return False
        return True

    async def _labels_and_files(
        self,
        item: ItemPlan,
        content_id: str,
        record: JSONObject,
        attachments: dict[str, list[AttachmentPlan]],
    ) -> None:
        labels = [label for label in record.get("labels") or [] if label.get("name")]
        if labels:
            try:
                await self.target.add_labels(content_id, labels)
                for _label in labels:
                    self.run.count("label", "labels")
            except AtlassianError as error:
                self.run.fail("label", item.source_id, error)
        for attachment in attachments.get(item.source_id, []):
            await self._attachment_work(attachment)()

    def _attachment_work(self, attachment: AttachmentPlan) -> Work:
        async def work() -> None:
            restored = self.contents.get(attachment.owner_source_id)
            if restored is None:
                return  # its page was not restored, which is reported already
            done = self.files_done.setdefault(restored[0], set())
            if attachment.filename in done:
                self.run.count("attachment", "attachments", skipped=True)
                return
            try:
                content = await attachment_bytes(attachment, self.source, self.stored)
                uploaded = await self.target.upload_attachment(
                    restored[0], attachment.filename, content, attachment.media_type
                )
            except (AtlassianError, LookupError, OSError) as error:
                self.run.fail("attachment", attachment.source_id, f"{attachment.filename}: {error}")
                return
            done.add(attachment.filename)
            self.run.result.uploaded_bytes += len(content)
            results = uploaded.get("results") or []
            if results:
                self.run.map(attachment.source_id, str(results[0].get("id")))
            self.run.count("attachment", "attachments")

        return work

    async def _reconcile(self) -> None:
        """What content an earlier run restored already holds: its comments (by the original
        id their first line names; replies included, which only the site-wide listing shows)
        and its file names, so only what is missing is added."""
        owners = {target_id for target_id, _kind in self.contents.values()}
        if not owners:
            return
        async for comment in self.target.footer_comments():
            owner = str(comment.get("pageId") or comment.get("blogPostId") or "")
            if owner in owners:
                original, _ = strip_storage_origin(_storage_body(comment))
                if original is not None:
                    self.comments_done.setdefault(owner, set()).add(original)
                    self.run.map(original, str(comment.get("id")))
        async for attachment in self.target.attachments():
            owner = str(attachment.get("pageId") or attachment.get("blogPostId") or "")
            if owner in owners:
                self.files_done.setdefault(owner, set()).add(str(attachment.get("title")))

    # --- comments --------------------------------------------------------------------------

    async def _comments(self) -> None:
        """Footer and inline comments, top-level ones first, then replies level by level."""
        pending: list[tuple[JSONObject, bool]] = []
        for entity, inline in (("footer_comments", False), ("inline_comments", True)):
            for comment in self.records(entity):
                owner = str(comment.get("pageId") or comment.get("blogPostId") or "")
                if owner in self.contents:
                    pending.append((comment, inline))
        while pending:
            ready = [
                (c, inline)
                for c, inline in pending
                if not c.get("parentCommentId")
                or str(c["parentCommentId"]) in self.run.result.id_map
            ]
            if not ready:
                for comment, _inline in pending:
                    self.run.fail(
                        "comment", str(comment.get("id")), "its parent comment was not restored"
                    )
                return
            await in_pool([self._comment_work(c, inline) for c, inline in ready])
            done = {id(c) for c, _ in ready}
            pending = [(c, inline) for c, inline in pending if id(c) not in done]

    def _comment_work(self, comment: JSONObject, inline: bool) -> Work:
        async def work() -> None:
            owner = str(comment.get("pageId") or comment.get("blogPostId"))
            target_id, kind = self.contents[owner]
            comment_id = str(comment.get("id"))
            done = self.comments_done.setdefault(target_id, set())
            if comment_id in done:
                self.run.count("comment", "comments", skipped=True)
                return
            parent = comment.get("parentCommentId")
            try:
                if parent:
                    added = await self.target.add_footer_comment(
                        comment_storage(comment, inline),
                        parent_comment_id=self.run.result.id_map[str(parent)],
                    )
                elif kind == "page":
                    added = await self.target.add_footer_comment(
                        comment_storage(comment, inline), page_id=target_id
                    )
                else:
                    added = await self.target.add_footer_comment(
                        comment_storage(comment, inline), blogpost_id=target_id
                    )
            except AtlassianError as error:
                self.run.fail("comment", comment_id, error)
                return
            done.add(comment_id)
            self.run.map(comment_id, str(added.get("id")))
            self.run.count("comment", "comments")

        return work


async def execute_confluence(
    plan: RestorePlan,
    records: Records,
    target: ConfluenceClient,
    *,
    source: SiteClient | None = None,
    stored: StoredContent | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    """Execute a Confluence plan: exactly its items, in its order (see the module's
    docstring)."""
    return await ConfluenceRestore(
        plan, records, target, source=source, stored=stored, progress=progress
    ).execute()
