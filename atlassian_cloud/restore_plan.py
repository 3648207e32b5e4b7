"""What a restore will do, decided before anything is written: the plan a preview shows and the
restore then executes, item by item.

`plan_jira` and `plan_confluence` read a backup's records (through `Records`, so this module
needs no storage) and the target site's current state through its API, and apply the rules of
`policy.restore`: per project or space, create, restore into, skip or conflict; per issue, page
and blog post, create, skip (already restored by an earlier run: each restored item carries a
`backupbot.origin` property naming where it came from) or conflict; per attachment, re-upload
(content stored), re-link (the original still exists in the source site) or missing. The plan
holds ids and decisions, not content: the executor reads the records again from the verified
snapshot, in the plan's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atlassian_cloud.confluence import ORIGIN_PROPERTY as PAGE_ORIGIN
from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.jira import ISSUE_CREATE_BATCH, JiraClient, content_exists
from atlassian_cloud.records import JSONObject
from atlassian_cloud.transport import SiteClient
from policy.products import Product
from policy.restore import (
    PROJECT_REASONS,
    SPACE_REASONS,
    AttachmentSource,
    ProjectDecision,
    SpaceDecision,
    Unreproducible,
    attachment_source,
    decide_project,
    decide_space,
    page_parent,
    unreproducible,
)

Records = Callable[[str], Iterable[JSONObject]]  # entity -> the backup's records, verified
ContentStored = Callable[[str], bool]  # SHA-256 -> whether the backup's storage holds it

CREATE, SKIP, CONFLICT = "create", "skip", "conflict"


class ScopeNotFound(LookupError):
    """The item a scoped restore names is not in the backup."""


@dataclass(frozen=True)
class RestoreScope:
    """What part of the backup to restore: everything (`kind` None), or one project, space,
    issue or page (`kind` "project" | "space" | "issue" | "page", `key` as typed)."""

    kind: str | None = None
    key: str | None = None

    def describe(self) -> str:
        return f"{self.kind}:{self.key}" if self.kind else "the whole backup"


@dataclass(frozen=True)
class ContainerPlan:
    """A Jira project or Confluence space of the backup and what happens to it."""

    source_id: str
    key: str
    name: str
    decision: str  # a ProjectDecision or SpaceDecision value
    reason: str
    target_id: str | None  # the existing project's or space's id in the target


@dataclass(frozen=True)
class ItemPlan:
    """An issue, page or blog post of the backup and what happens to it."""

    kind: str  # "issue" | "page" | "blogpost"
    source_id: str
    label: str  # the issue key or page title, for people
    container: str  # the project or space key
    action: str  # create | skip | conflict
    reason: str = ""
    target_id: str | None = None  # for skip: the copy an earlier run made
    target_key: str | None = None
    parent_source_id: str | None = None  # pages: the parent in the backup, restored first
    parent_target_id: str | None = None  # pages: an existing parent in the target
    restricted: bool = False  # pages: restrictions are applied before publishing


@dataclass(frozen=True)
class AttachmentPlan:
    source_id: str
    owner_source_id: str
    filename: str
    size: int
    media_type: str
    source: AttachmentSource
    content_url: str | None
    sha256: str | None


@dataclass
class Tally:
    """Items of one kind to create, to skip and in conflict."""

    create: int = 0
    skip: int = 0
    conflict: int = 0

    def add(self, action: str) -> None:
        setattr(self, action, getattr(self, action) + 1)

    def as_dict(self) -> dict[str, int]:
        return {CREATE: self.create, SKIP: self.skip, CONFLICT: self.conflict}


@dataclass
class RestorePlan:
    """The whole plan: shown as a preview, then executed exactly (`importer.execute_restore`)."""

    backup_id: str
    source_site: str
    target_site: str
    product: Product
    scope: RestoreScope
    containers: list[ContainerPlan]
    items: list[ItemPlan]  # in creation order: pages after their parents
    attachments: list[AttachmentPlan]
    counts: dict[str, Tally]  # projects/spaces, issues/pages/blogposts, comments, links, labels
    unreproducible: tuple[Unreproducible, ...]
    notes: list[str] = field(default_factory=list)  # reasons for skips and conflicts, in words
    requests: int = 0  # API requests the execution needs, for the RTO estimate
    data_bytes: int = 0  # JSON bytes of the items planned, for the estimate
    rate_limit: float | None = None  # requests/s the target advertised while planning

    @property
    def same_site(self) -> bool:
        return self.source_site == self.target_site

    def attachment_counts(self) -> dict[str, int]:
        counts = {source.value: 0 for source in AttachmentSource}
        for attachment in self.attachments:
            counts[attachment.source.value] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """The preview as plain values: counts per kind, attachments by source, notes."""
        return {
            "backup": self.backup_id,
            "from": self.source_site,
            "to": self.target_site,
            "scope": self.scope.describe(),
            "counts": {kind: tally.as_dict() for kind, tally in self.counts.items()},
            "attachments": self.attachment_counts(),
            "cannot_reproduce": [f"{u.what}: {u.instead}" for u in self.unreproducible],
            "notes": list(self.notes),
            "requests": self.requests,
        }


def origin_value(plan: RestorePlan, item_id: str, label: str) -> JSONObject:
    """The `backupbot.origin` property a restored item carries."""
    return {
        "backupId": plan.backup_id,
        "sourceSite": plan.source_site,
        "sourceId": item_id,
        "sourceKey": label,
    }


def is_origin_of(value: Any, source_site: str, source_id: str) -> bool:
    return (
        isinstance(value, dict)
        and value.get("sourceSite") == source_site
        and str(value.get("sourceId")) == source_id
    )


async def _classify_attachment(
    reference: JSONObject, stored: ContentStored, source: SiteClient | None
) -> AttachmentPlan:
    sha256 = reference.get("sha256")
    has_content = isinstance(sha256, str) and stored(sha256)
    url = reference.get("contentUrl")
    exists = False
    if not has_content and source is not None and isinstance(url, str) and url:
        exists = await content_exists(source, url)
    size = reference.get("size")
    owner = reference.get("owner") or {}
    return AttachmentPlan(
        source_id=str(reference.get("id")),
        owner_source_id=str(owner.get("id")),
        filename=str(reference.get("filename") or f"attachment-{reference.get('id')}"),
        size=size if isinstance(size, int) else 0,
        media_type=str(reference.get("mediaType") or "application/octet-stream"),
        source=attachment_source(has_content, exists),
        content_url=url if isinstance(url, str) else None,
        sha256=sha256 if isinstance(sha256, str) else None,
    )


def _note_missing(attachments: list[AttachmentPlan], notes: list[str]) -> None:
    missing = sum(a.source is AttachmentSource.MISSING for a in attachments)
    if missing:
        notes.append(
            f"{missing} attachment(s) are missing: their content was not stored and the "
            "original no longer exists in the source site"
        )


def _tallies(*kinds: str) -> dict[str, Tally]:
    return {kind: Tally() for kind in kinds}


def _owner(record: JSONObject, owner_field: str) -> str:
    owner = record.get(owner_field) or record.get("blogPostId")
    return str(owner) if owner is not None else ""


def _count_children(
    records: Records,
    entities: tuple[str, ...],
    owner_field: str,
    planned: Mapping[str, ItemPlan],
    tally: Tally,
) -> int:
    """Count the comments of planned items under their item's action; the JSON bytes of
    those to create."""
    size = 0
    for entity in entities:
        for record in records(entity):
            item = planned.get(_owner(record, owner_field))
            if item is not None:
                tally.add(item.action)
                if item.action == CREATE:
                    size += len(str(record))
    return size


async def _plan_attachments(
    records: Records,
    planned: Mapping[str, ItemPlan],
    stored: ContentStored,
    source: SiteClient | None,
) -> list[AttachmentPlan]:
    """The attachments of items to create or already restored (an interrupted run may have
    restored an item without all its files), each with where its bytes will come from."""
    attachments: list[AttachmentPlan] = []
    for reference in records("attachments"):
        item = planned.get(str((reference.get("owner") or {}).get("id")))
        if item is not None and item.action != CONFLICT and item.reason != "space exists":
            attachments.append(await _classify_attachment(reference, stored, source))
    return attachments


# --- Jira ------------------------------------------------------------------------------------


def _project_key_of_issue(issue_key: str) -> str:
    key, _, number = issue_key.rpartition("-")
    if not key or not number.isdigit():
        raise ScopeNotFound(f"{issue_key!r} is not an issue key (like ENG-12)")
    return key


async def _plan_projects(
    projects: list[JSONObject],
    target: JiraClient,
    *,
    source_site: str,
    single_issue: bool,
    counts: dict[str, Tally],
    notes: list[str],
) -> tuple[list[ContainerPlan], dict[str, dict[str, tuple[str, str]]]]:
    """Each project's decision, and per project the issues an earlier run restored (source
    id -> target id and key), found by their origin property."""
    containers: list[ContainerPlan] = []
    restored: dict[str, dict[str, tuple[str, str]]] = {}
    for project in projects:
        key = str(project["key"])
        existing = await target.project(key)
        ours: dict[str, tuple[str, str]] = {}
        foreign = 0
        if existing is not None:
            async for issue, origin in target.issues_with_origins(key):
                if isinstance(origin, dict) and origin.get("sourceSite") == source_site:
                    ours[str(origin.get("sourceId"))] = (issue["id"], str(issue["key"]))
                else:
                    foreign += 1
        # Issues an earlier run of a restore from this site wrote do not make the project
        # "not empty": that is what lets an interrupted restore resume.
        decision = decide_project(existing is not None, foreign > 0, single_issue)
        reason = PROJECT_REASONS[decision]
        if decision is ProjectDecision.INTO_EMPTY and ours:
            reason = f"an earlier run restored {len(ours)} of its issues: the rest is added"
        containers.append(
            ContainerPlan(
                source_id=str(project.get("id")),
                key=key,
                name=str(project.get("name") or key),
                decision=decision.value,
                reason=reason,
                target_id=str(existing["id"]) if existing else None,
            )
        )
        action = {ProjectDecision.CREATE: CREATE, ProjectDecision.CONFLICT: CONFLICT}
        counts["projects"].add(action.get(decision, SKIP))
        if decision is not ProjectDecision.CREATE:
            notes.append(f"project {key}: {reason}")
        restored[key] = ours
    return containers, restored


def _issue_item(
    issue_id: str,
    issue_key: str,
    project_key: str,
    decisions: Mapping[str, ProjectDecision],
    earlier: tuple[str, str] | None,
) -> ItemPlan:
    if decisions[project_key] is ProjectDecision.CONFLICT:
        return ItemPlan("issue", issue_id, issue_key, project_key, CONFLICT, "project conflict")
    if earlier is not None:
        return ItemPlan(
            "issue",
            issue_id,
            issue_key,
            project_key,
            SKIP,
            f"already restored as {earlier[1]}",
            target_id=earlier[0],
            target_key=earlier[1],
        )
    return ItemPlan("issue", issue_id, issue_key, project_key, CREATE)


async def plan_jira(
    records: Records,
    target: JiraClient,
    *,
    backup_id: str,
    source_site: str,
    scope: RestoreScope,
    stored: ContentStored,
    source: SiteClient | None,
) -> RestorePlan:
    """The plan for restoring a Jira backup (or part of it) into `target`.

    `source` is a client of the backup's own site, used to check whether attachments that were
    backed up by reference still exist there (None when that site is not configured: they are
    then missing unless their content was stored).
    """
    counts = _tallies("projects", "issues", "comments", "links")
    notes: list[str] = []
    wanted_project = scope.key if scope.kind == "project" else None
    wanted_issue = scope.key if scope.kind == "issue" else None
    if wanted_issue is not None:
        wanted_project = _project_key_of_issue(wanted_issue)
    projects = [
        project
        for project in records("projects")
        if wanted_project is None or project.get("key") == wanted_project
    ]
    if not projects:
        raise ScopeNotFound(f"the backup holds no project {wanted_project}")

    containers, restored = await _plan_projects(
        projects,
        target,
        source_site=source_site,
        single_issue=wanted_issue is not None,
        counts=counts,
        notes=notes,
    )
    decisions = {c.key: ProjectDecision(c.decision) for c in containers}
    items: list[ItemPlan] = []
    planned: dict[str, ItemPlan] = {}
    links: list[tuple[str, str]] = []
    data_bytes = 0
    subtasks: list[ItemPlan] = []
    for issue in records("issues"):
        fields = issue.get("fields") or {}
        project_key = str((fields.get("project") or {}).get("key") or "")
        if project_key not in decisions:
            continue
        issue_key = str(issue.get("key"))
        if wanted_issue is not None and issue_key != wanted_issue:
            continue
        issue_id = str(issue.get("id"))
        item = _issue_item(
            issue_id, issue_key, project_key, decisions, restored[project_key].get(issue_id)
        )
        if item.action == CREATE:
            data_bytes += len(str(issue))
        counts["issues"].add(item.action)
        planned[issue_id] = item
        # Sub-tasks are created after every other issue: their parent must exist first.
        (subtasks if fields.get("parent") else items).append(item)
        for link in fields.get("issuelinks") or []:
            outward = link.get("outwardIssue") if isinstance(link, dict) else None
            if isinstance(outward, dict):
                links.append((issue_id, str(outward.get("id"))))
    items += subtasks
    if wanted_issue is not None and not items:
        raise ScopeNotFound(f"the backup holds no issue {wanted_issue}")

    for source_id, other_id in links:
        other = planned.get(other_id)
        ends = {planned[source_id].action, other.action if other else SKIP}
        counts["links"].add(CONFLICT if CONFLICT in ends else CREATE if CREATE in ends else SKIP)
    data_bytes += _count_children(records, ("comments",), "issueId", planned, counts["comments"])
    attachments = await _plan_attachments(records, planned, stored, source)

    creating = [item for item in items if item.action == CREATE]
    requests = (
        len(containers) * 2  # the project, and its issues and their origins
        + counts["projects"].create
        + math.ceil(len(creating) / ISSUE_CREATE_BATCH)
        + 2 * len(creating)  # the transitions offered, and one to move there
        + counts["comments"].create
        + counts["links"].create
        + sum(2 if a.source is AttachmentSource.RELINK else 1 for a in attachments)
    )
    _note_missing(attachments, notes)
    return RestorePlan(
        backup_id=backup_id,
        source_site=source_site,
        target_site=target.site,
        product=Product.JIRA,
        scope=scope,
        containers=containers,
        items=items,
        attachments=attachments,
        counts=counts,
        unreproducible=unreproducible(Product.JIRA),
        notes=notes,
        requests=requests,
        data_bytes=data_bytes,
    )


# --- Confluence --------------------------------------------------------------------------------


def parents_first(pages: Mapping[str, JSONObject]) -> list[str]:
    """Page ids ordered so that each page comes after its parent (when the parent is among
    them); siblings keep their backup order. Cycles cannot occur in a real tree; should one
    appear, its pages are placed last rather than lost."""
    children: dict[str | None, list[str]] = {}
    for page_id, page in pages.items():
        parent = page.get("parentId")
        parent = str(parent) if parent is not None and str(parent) in pages else None
        children.setdefault(parent, []).append(page_id)
    order: list[str] = []
    queue = list(children.get(None, []))
    while queue:
        page_id = queue.pop(0)
        order.append(page_id)
        queue += children.get(page_id, [])
    placed = set(order)
    order += [page_id for page_id in pages if page_id not in placed]
    return order


def _restricted(restrictions: Any) -> bool:
    if not isinstance(restrictions, dict):
        return False
    for operation in restrictions.values():
        subjects = operation.get("restrictions") if isinstance(operation, dict) else None
        if not isinstance(subjects, dict):
            continue
        for kind in ("user", "group"):
            listing = subjects.get(kind)
            results = listing.get("results") if isinstance(listing, dict) else listing
            if results:
                return True
    return False


PERSONAL_SPACE = (
    "a personal space can be created only by its owner: it does not exist in the target, so "
    "its content is not restored (restore it once its owner has opened the space)"
)
RESUME_PROBES = 5  # pages asked for their origin before a space is taken for someone else's


class _TargetSpace:
    """What a space of the target holds, by kind and title (page titles are unique in a
    space; a blog post may share a page's title), and the origin property of the pages asked
    about, each read once."""

    def __init__(self, target: ConfluenceClient, space: JSONObject | None) -> None:
        self.target = target
        self.space = space
        self.ids: dict[tuple[str, str], str] = {}  # (page or blogpost, title) -> content id
        self._origins: dict[str, Any] = {}

    async def read(self) -> None:
        if self.space is None:
            return
        space_id = str(self.space["id"])
        for kind, listing in (
            ("page", self.target.pages(space_id)),
            ("blogpost", self.target.blogposts(space_id)),
        ):
            async for found in listing:
                self.ids[(kind, str(found.get("title")))] = str(found.get("id"))

    def has(self, kind: str, title: str) -> bool:
        return (kind, title) in self.ids

    async def restored_from(self, kind: str, title: str, source_site: str, source_id: str) -> bool:
        """Whether the item of this kind and title in the target is the copy of `source_id`
        (blog posts have no content properties in the API used here, so this is never said of
        them)."""
        content_id = self.ids.get((kind, title))
        if kind != "page" or content_id is None:
            return False
        if content_id not in self._origins:
            properties = await self.target.content_properties(content_id)
            self._origins[content_id] = properties.get(PAGE_ORIGIN)
        return is_origin_of(self._origins[content_id], source_site, source_id)


async def _plan_space(
    space: JSONObject,
    in_space: Mapping[str, JSONObject],
    *,
    contents: Mapping[str, JSONObject],
    kinds: Mapping[str, str],
    target: ConfluenceClient,
    source_site: str,
    single_page: bool,
) -> tuple[ContainerPlan, list[ItemPlan]]:
    key = str(space.get("key"))
    order = parents_first({cid: in_space[cid] for cid in in_space if kinds[cid] == "page"})
    order += [cid for cid in in_space if kinds[cid] == "blogpost"]
    existing = await target.space_by_key(key)
    there = _TargetSpace(target, existing)
    await there.read()
    decision = decide_space(existing is not None, single_page)
    if decision is SpaceDecision.SKIP:
        # A space an earlier run of this restore created is resumed, not skipped: the pages
        # it created carry their origin. A few are asked, since a page of the same title may
        # be the target's own (the homepage Confluence makes with every new space).
        candidates = [
            cid
            for cid in order
            if kinds[cid] == "page" and there.has("page", contents[cid]["title"])
        ]
        for cid in candidates[:RESUME_PROBES]:
            if await there.restored_from("page", contents[cid]["title"], source_site, cid):
                decision = SpaceDecision.INTO_EXISTING
                break
    reason = SPACE_REASONS[decision]
    # Only its owner can make a personal space (`~...`); the API refuses anyone else, so one
    # the target lacks is reported from the preview on instead of failing mid-restore.
    personal_missing = key.startswith("~") and existing is None
    if personal_missing:
        decision, reason = SpaceDecision.SKIP, PERSONAL_SPACE
    resuming = decision is SpaceDecision.INTO_EXISTING and not single_page
    if resuming:
        reason = "an earlier run of this restore created the space: what is missing is added"
    container = ContainerPlan(
        source_id=str(space.get("id")),
        key=key,
        name=str(space.get("name") or key),
        decision=decision.value,
        reason=reason,
        target_id=str(existing["id"]) if existing else None,
    )
    items: list[ItemPlan] = []
    for cid in order:
        content = contents[cid]
        kind, title = kinds[cid], content["title"]
        parent = str(content["parentId"]) if content["parentId"] is not None else None
        parent_source = parent if parent in in_space else None
        parent_target = None
        if kind == "page" and parent is not None and parent_source is None:
            # A single page goes under its original parent when a page of that title exists
            # in the target, else at the space root.
            parent_title = contents.get(parent, {}).get("title", "")
            if page_parent(parent, there.has("page", parent_title)) is not None:
                parent_target = there.ids[("page", parent_title)]
        item: ItemPlan
        if personal_missing:
            item = ItemPlan(kind, cid, title, key, CONFLICT, PERSONAL_SPACE)
        elif decision is SpaceDecision.SKIP:
            item = ItemPlan(kind, cid, title, key, SKIP, "space exists")
        elif await there.restored_from(kind, title, source_site, cid):
            item = ItemPlan(
                kind, cid, title, key, SKIP, "already restored", target_id=there.ids[(kind, title)]
            )
        elif kind == "blogpost" and there.has(kind, title) and resuming:
            # Identified by title alone in a space this restore created (see restored_from).
            item = ItemPlan(
                kind, cid, title, key, SKIP, "already restored", target_id=there.ids[(kind, title)]
            )
        elif there.has(kind, title):
            why = f"the target space already has a {kind} titled {title!r}"
            item = ItemPlan(kind, cid, title, key, CONFLICT, why)
        else:
            item = ItemPlan(
                kind,
                cid,
                title,
                key,
                CREATE,
                parent_source_id=parent_source,
                parent_target_id=parent_target,
                restricted=_restricted(content["restrictions"]),
            )
        items.append(item)
    return container, items


async def plan_confluence(
    records: Records,
    target: ConfluenceClient,
    *,
    backup_id: str,
    source_site: str,
    scope: RestoreScope,
    stored: ContentStored,
    source: SiteClient | None,
) -> RestorePlan:
    """The plan for restoring a Confluence backup (or part of it) into `target`."""
    counts = _tallies("spaces", "pages", "blogposts", "comments", "labels")
    notes: list[str] = []
    contents: dict[str, JSONObject] = {}  # id -> page or blog post, without its body
    kinds: dict[str, str] = {}
    for entity, kind in (("pages", "page"), ("blogposts", "blogpost")):
        for record in records(entity):
            content_id = str(record.get("id"))
            contents[content_id] = {
                "spaceId": str(record.get("spaceId")),
                "title": str(record.get("title")),
                "parentId": record.get("parentId"),
                "restrictions": record.get("restrictions"),
                "labels": record.get("labels") or [],
                "size": len(str(record)),
            }
            kinds[content_id] = kind
    wanted_page = scope.key if scope.kind == "page" else None
    if wanted_page is not None and wanted_page not in contents:
        raise ScopeNotFound(f"the backup holds no page or blog post {wanted_page}")
    spaces = list(records("spaces"))
    if scope.kind == "space":
        spaces = [s for s in spaces if s.get("key") == scope.key]
    elif wanted_page is not None:
        spaces = [s for s in spaces if str(s.get("id")) == contents[wanted_page]["spaceId"]]
    if not spaces:
        raise ScopeNotFound(f"the backup holds no space {scope.key}")

    containers: list[ContainerPlan] = []
    items: list[ItemPlan] = []
    for space in spaces:
        space_id = str(space.get("id"))
        in_space = {
            cid: c
            for cid, c in contents.items()
            if c["spaceId"] == space_id and (wanted_page is None or cid == wanted_page)
        }
        container, space_items = await _plan_space(
            space,
            in_space,
            contents=contents,
            kinds=kinds,
            target=target,
            source_site=source_site,
            single_page=wanted_page is not None,
        )
        containers.append(container)
        counts["spaces"].add(CREATE if container.decision == SpaceDecision.CREATE else SKIP)
        if container.decision != SpaceDecision.CREATE:
            notes.append(f"space {container.key}: {container.reason}")
        for item in space_items:
            counts[f"{item.kind}s"].add(item.action)
            if item.action == CREATE:
                counts["labels"].create += len(contents[item.source_id]["labels"])
            elif item.action == CONFLICT:
                notes.append(f"{item.kind} {item.source_id}: {item.reason}")
        items += space_items

    planned = {item.source_id: item for item in items}
    data_bytes = sum(contents[i.source_id]["size"] for i in items if i.action == CREATE)
    data_bytes += _count_children(
        records, ("footer_comments", "inline_comments"), "pageId", planned, counts["comments"]
    )
    attachments = await _plan_attachments(records, planned, stored, source)

    creating = [item for item in items if item.action == CREATE]
    requests = (
        len(containers) * 3  # the space, and its pages and blog posts
        + counts["spaces"].create
        + 3 * len(creating)  # create the draft, its origin property, publish
        + sum(item.restricted for item in creating)
        + sum(1 for item in creating if contents[item.source_id]["labels"])
        + counts["comments"].create
        + sum(2 if a.source is AttachmentSource.RELINK else 1 for a in attachments)
    )
    _note_missing(attachments, notes)
    return RestorePlan(
        backup_id=backup_id,
        source_site=source_site,
        target_site=target.site,
        product=Product.CONFLUENCE,
        scope=scope,
        containers=containers,
        items=items,
        attachments=attachments,
        counts=counts,
        unreproducible=unreproducible(Product.CONFLUENCE),
        notes=notes,
        requests=requests,
        data_bytes=data_bytes,
    )
