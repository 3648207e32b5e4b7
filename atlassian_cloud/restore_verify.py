"""After a restore: read the restored items back from the target and compare them with the
snapshot on everything a REST restore reproduces (docs/rules.md).

Compared: Jira issue summaries, descriptions, labels, priorities, security levels, statuses
(unless the restore reported that the workflow did not allow it), comment texts (without the
origin line the restore adds), links between restored issues, attachment names and sizes;
Confluence titles, bodies, parents, restrictions, labels, comment texts, attachment names and
sizes. Authors, dates and histories are not compared: docs/rules.md says they cannot be reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.importer import RestoreResult, restored_comment_id, strip_storage_origin
from atlassian_cloud.jira import BULKFETCH_BATCH, JiraClient
from atlassian_cloud.jira_import import adf_first_text
from atlassian_cloud.records import JSONObject
from atlassian_cloud.restore_plan import CONFLICT, Records, RestorePlan
from policy.restore import AttachmentSource


@dataclass(frozen=True)
class Difference:
    """One way a restored item differs from its backup."""

    kind: str  # issue, page, blogpost, comment
    source_id: str
    target_id: str | None
    aspect: str  # summary, body, parent, restrictions, comments, attachments, ...
    expected: Any
    found: Any

    def describe(self) -> str:
        return (
            f"{self.kind} {self.source_id} (restored as {self.target_id}): {self.aspect} is "
            f"{self.found!r}, expected {self.expected!r}"
        )


def _files(plan: RestorePlan, result: RestoreResult, owner: str) -> set[tuple[str, int]]:
    """(name, size) of the files an item should have: those the restore could get."""
    failed = {item.source_id for item in result.failed if item.kind == "attachment"}
    return {
        (a.filename, a.size)
        for a in plan.attachments
        if a.owner_source_id == owner
        and a.source is not AttachmentSource.MISSING
        and a.source_id not in failed
    }


class _Differences(list[Difference]):
    def compare(
        self, where: tuple[str, str, str | None], aspect: str, expected: Any, found: Any
    ) -> None:
        """Record a difference of `where` (kind, source id, target id) when there is one."""
        if expected != found:
            self.append(Difference(*where, aspect, expected, found))


# --- Jira ----------------------------------------------------------------------------------------


def _name(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value


def _adf_without_origin(body: Any) -> tuple[str | None, list[Any]]:
    content = body.get("content") or [] if isinstance(body, dict) else []
    original = restored_comment_id(adf_first_text(body))
    return original, content[1:] if original is not None else content


async def verify_jira(
    plan: RestorePlan, result: RestoreResult, records: Records, target: JiraClient
) -> list[Difference]:
    """Every difference between the restored issues and the backup."""
    differences = _Differences()
    restored = {
        item.source_id: result.id_map[item.source_id]
        for item in plan.items
        if item.action != CONFLICT and item.source_id in result.id_map
    }
    unmoved = {
        note.split(":", 1)[0]
        for note in result.not_reproduced
        if "the workflow does not lead" in note
    }
    comments: dict[str, dict[str, JSONObject]] = {}
    for comment in records("comments"):
        if str(comment.get("issueId")) in restored:
            comments.setdefault(str(comment.get("issueId")), {})[str(comment.get("id"))] = comment
    originals = {
        str(issue.get("id")): issue
        for issue in records("issues")
        if str(issue.get("id")) in restored
    }
    back = {target_id: source_id for source_id, target_id in restored.items()}
    ids = list(back)
    for start in range(0, len(ids), BULKFETCH_BATCH):
        batch = await target.issue_batch(ids[start : start + BULKFETCH_BATCH])
        found_ids = {str(issue.get("id")) for issue in batch.issues}
        for missing in set(ids[start : start + BULKFETCH_BATCH]) - found_ids:
            differences.compare(("issue", back[missing], missing), "exists", True, False)
        for issue in batch.issues:
            source_id = back[str(issue.get("id"))]
            await _compare_issue(
                differences,
                originals[source_id],
                issue,
                target,
                comments=comments.get(source_id, {}),
                restored=restored,
                check_status=f"issue {issue.get('key')}" not in unmoved,
                files=_files(plan, result, source_id),
            )
    return list(differences)


async def _compare_issue(
    differences: _Differences,
    original: JSONObject,
    restored_issue: JSONObject,
    target: JiraClient,
    *,
    comments: dict[str, JSONObject],
    restored: dict[str, str],
    check_status: bool,
    files: set[tuple[str, int]],
) -> None:
    source_id, target_id = str(original.get("id")), str(restored_issue.get("id"))
    was, now = original.get("fields") or {}, restored_issue.get("fields") or {}

    def compare(aspect: str, expected: Any, found: Any) -> None:
        differences.compare(("issue", source_id, target_id), aspect, expected, found)

    compare("summary", was.get("summary"), now.get("summary"))
    compare("description", was.get("description"), now.get("description"))
    compare("labels", sorted(was.get("labels") or []), sorted(now.get("labels") or []))
    compare("priority", _name(was.get("priority")), _name(now.get("priority")))
    compare("security level", _name(was.get("security")), _name(now.get("security")))
    if check_status:
        compare("status", _name(was.get("status")), _name(now.get("status")))
    found_files = {(a.get("filename"), a.get("size")) for a in now.get("attachment") or []}
    compare("attachments", sorted(files), sorted(found_files))
    expected_links = set()
    for link in was.get("issuelinks") or []:
        outward = link.get("outwardIssue")
        if isinstance(outward, dict) and str(outward.get("id")) in restored:
            other = restored[str(outward.get("id"))]
            expected_links.add((_name(link.get("type")), other))
    found_links = {
        (_name(link.get("type")), str((link.get("outwardIssue") or {}).get("id")))
        for link in now.get("issuelinks") or []
        if isinstance(link.get("outwardIssue"), dict)
        and str(link["outwardIssue"].get("id")) in restored.values()
    }
    compare("links", sorted(expected_links), sorted(found_links))
    texts: dict[str, Any] = {}
    async for comment in target.comments(target_id):
        original_id, content = _adf_without_origin(comment.get("body"))
        if original_id is not None:
            texts[original_id] = content
    expected_texts = {
        comment_id: (comment.get("body") or {}).get("content") or []
        for comment_id, comment in comments.items()
    }
    compare("comments", expected_texts, texts)


# --- Confluence ----------------------------------------------------------------------------------


def _subjects(restrictions: Any) -> dict[str, tuple[list[str], list[str]]]:
    """Per operation, the account ids and group names it names, sorted; empty ones left out."""
    shaped: dict[str, tuple[list[str], list[str]]] = {}
    if not isinstance(restrictions, dict):
        return shaped
    for operation in ("read", "update"):
        entry = restrictions.get(operation)
        subjects = entry.get("restrictions") if isinstance(entry, dict) else None
        if not isinstance(subjects, dict):
            continue
        users = sorted(
            str(u.get("accountId")) for u in (subjects.get("user") or {}).get("results") or []
        )
        groups = sorted(
            str(g.get("name")) for g in (subjects.get("group") or {}).get("results") or []
        )
        if users or groups:
            shaped[operation] = (users, groups)
    return shaped


async def _published(target: ConfluenceClient, keys: set[str]) -> dict[str, JSONObject]:
    """The published pages and blog posts of the target's spaces with these keys, by id."""
    found: dict[str, JSONObject] = {}
    for key in keys:
        space = await target.space_by_key(key)
        if space is None:
            continue
        for listing in (target.pages(str(space["id"])), target.blogposts(str(space["id"]))):
            async for content in listing:
                found[str(content.get("id"))] = content
    return found


async def _site_listings(
    target: ConfluenceClient, targets: set[str]
) -> tuple[dict[str, dict[str, str]], dict[str, list[tuple[str, Any]]]]:
    """Restored comments (original id -> text without the origin line) and files (name,
    size) of each target content, from the site-wide listings: the per-page ones show
    top-level comments only, and the per-blog-post ones are not among the calls made here."""
    comments: dict[str, dict[str, str]] = {}
    async for comment in target.footer_comments():
        owner = str(comment.get("pageId") or comment.get("blogPostId") or "")
        if owner in targets:
            body = ((comment.get("body") or {}).get("storage") or {}).get("value") or ""
            original_id, text = strip_storage_origin(body)
            if original_id is not None:
                comments.setdefault(owner, {})[original_id] = text
    files: dict[str, list[tuple[str, Any]]] = {}
    async for attachment in target.attachments():
        owner = str(attachment.get("pageId") or attachment.get("blogPostId") or "")
        if owner in targets:
            files.setdefault(owner, []).append(
                (str(attachment.get("title")), attachment.get("fileSize"))
            )
    return comments, files


async def verify_confluence(
    plan: RestorePlan, result: RestoreResult, records: Records, target: ConfluenceClient
) -> list[Difference]:
    """Every difference between the restored pages and blog posts and the backup."""
    differences = _Differences()
    restored = {
        item.source_id: result.id_map[item.source_id]
        for item in plan.items
        if item.action != CONFLICT and item.source_id in result.id_map
    }
    failed = {item.source_id for item in result.failed if item.kind in ("page", "blogpost")}
    comments: dict[str, dict[str, JSONObject]] = {}
    for entity in ("footer_comments", "inline_comments"):
        for comment in records(entity):
            owner = str(comment.get("pageId") or comment.get("blogPostId"))
            if owner in restored:
                comments.setdefault(owner, {})[str(comment.get("id"))] = comment
    found = await _published(target, {i.container for i in plan.items if i.source_id in restored})
    listed_comments, listed_files = await _site_listings(target, set(restored.values()))
    known: dict[str, list[str]] | None = None

    async def blogpost_labels() -> dict[str, list[str]]:
        """Blog post id -> label names, read label by label once (v2 lists blog posts by
        label; the per-blog-post listing is not among the calls this tool makes)."""
        nonlocal known
        if known is None:
            known = {}
            async for label in target.labels():
                async for post in target.label_blogposts(str(label.get("id"))):
                    known.setdefault(str(post.get("id")), []).append(str(label.get("name")))
        return known

    for entity, kind in (("pages", "page"), ("blogposts", "blogpost")):
        path = f"{kind}s"
        for original in records(entity):
            source_id = str(original.get("id"))
            if source_id not in restored or source_id in failed:
                continue
            target_id = restored[source_id]

            def compare(aspect: str, expected: Any, now: Any) -> None:
                differences.compare((kind, source_id, target_id), aspect, expected, now)  # noqa: B023

            content_found = found.get(target_id)
            if content_found is None:
                compare("published", True, False)
                continue
            content = content_found
            compare("title", original.get("title"), content.get("title"))
            compare(
                "body",
                ((original.get("body") or {}).get("storage") or {}).get("value"),
                ((content.get("body") or {}).get("storage") or {}).get("value"),
            )
            parent = original.get("parentId")
            if kind == "page" and parent is not None and str(parent) in restored:
                compare("parent", restored[str(parent)], content.get("parentId"))
            compare(
                "restrictions",
                _subjects(original.get("restrictions")),
                _subjects(await target.restrictions(target_id)),
            )
            if kind == "page":
                labels = [
                    str(label.get("name")) async for label in target.content_labels(path, target_id)
                ]
            else:
                labels = (await blogpost_labels()).get(target_id, [])
            compare(
                "labels",
                sorted(str(label.get("name")) for label in original.get("labels") or []),
                sorted(labels),
            )
            compare(
                "attachments",
                sorted(_files(plan, result, source_id)),
                sorted(listed_files.get(target_id, [])),
            )
            expected = {
                comment_id: ((c.get("body") or {}).get("storage") or {}).get("value") or ""
                for comment_id, c in comments.get(source_id, {}).items()
            }
            compare("comments", expected, listed_comments.get(target_id, {}))
    return list(differences)
