"""Executing a Jira restore plan: projects, issues in bulk, statuses, comments, links, files.

Issues are created 50 a request through `/issue/bulk`, each with its `backupbot.origin` entity
property set in the same request, so an issue never exists without saying where it came from;
the answer is mapped back to the request by order and `failedElementNumber`. A bulk request is
not retried by the transport after a 5xx (it may have been applied): the project is searched
for the batch's origins instead and only the issues that are not there are sent again.

Issues an earlier run restored (the plan's skips) are reconciled rather than left alone: their
comments (recognised by the restored comment's first line), attachments (by file name), links
and status are read back and only what is missing is added, so an interrupted restore resumes
to the same end state and a finished one re-run adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from atlassian_cloud.errors import AtlassianError, RequestRejected, SiteUnavailable
from atlassian_cloud.importer import (
    Progress,
    RestoreResult,
    Run,
    StoredContent,
    attachment_bytes,
    in_pool,
    origin_line,
    restored_comment_id,
)
from atlassian_cloud.jira import ISSUE_CREATE_BATCH, ORIGIN_PROPERTY, JiraClient
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
from policy.restore import ProjectDecision

PEOPLE_FIELDS = frozenset({"reporter", "assignee"})
MAX_WORKFLOW_STEPS = 6  # transitions tried to reach an issue's original status


@dataclass
class _Issue:
    """A restored issue's state in the target, as far as the restore needs to know it."""

    target_id: str
    target_key: str
    status: str | None  # None: not read (a new issue is in its workflow's initial status)
    comments: set[str] = field(default_factory=set)  # original ids of comments restored
    files: set[str] = field(default_factory=set)  # file names attached
    links: set[tuple[str, str]] = field(default_factory=set)  # (link type, other issue id)


def issue_fields(issue: JSONObject, project_key: str, same_site: bool) -> JSONObject:
    """The fields to create a copy of a backed-up issue with: what Jira lets a create set.

    The security level is set at create, so the issue is never visible without it: by id in
    the same site, by name in another (ids are per site). Reporter and assignee are kept
    when the target accepts them (see `_create_batch`).
    """
    original = issue.get("fields") or {}
    fields: JSONObject = {
        "project": {"key": project_key},
        "issuetype": {"name": (original.get("issuetype") or {}).get("name")},
        "summary": original.get("summary"),
    }
    if original.get("description"):
        fields["description"] = original["description"]
    if original.get("labels"):
        fields["labels"] = original["labels"]
    if isinstance(original.get("priority"), dict):
        fields["priority"] = {"name": original["priority"].get("name")}
    security = original.get("security")
    if isinstance(security, dict):
        fields["security"] = {"id": security["id"]} if same_site else {"name": security["name"]}
    for person in PEOPLE_FIELDS:
        value = original.get(person)
        if isinstance(value, dict) and value.get("accountId"):
            fields[person] = {"accountId": value["accountId"]}
    return fields


def comment_body(comment: JSONObject) -> JSONObject:
    """A comment's ADF body opened by a line naming its original author, date and id."""
    author = comment.get("author") or {}
    who = author.get("displayName") or "an unknown person"
    if author.get("accountId"):
        who = f"{who} (account {author['accountId']})"
    line = origin_line(str(comment.get("id")), who, comment.get("created"))
    body = comment.get("body")
    content = body.get("content", []) if isinstance(body, dict) else []
    first = {
        "type": "paragraph",
        "content": [{"type": "text", "text": line, "marks": [{"type": "em"}]}],
    }
    return {"type": "doc", "version": 1, "content": [first, *content]}


def adf_first_text(body: Any) -> str:
    """The text of an ADF document's first paragraph."""
    if not isinstance(body, dict) or not body.get("content"):
        return ""
    first = body["content"][0]
    return "".join(
        node.get("text", "") for node in first.get("content") or [] if isinstance(node, dict)
    )


class JiraRestore:
    """One execution of a Jira plan against the target site."""

    def __init__(
        self,
        plan: RestorePlan,
        records: Records,
        target: JiraClient,
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
        self.issues: dict[str, _Issue] = {}  # source id -> state in the target
        self.statuses: dict[str, str] = {}  # source id -> original status name
        self.workflow: dict[str, dict[str, str]] = {}  # status -> {target status: transition}

    async def execute(self) -> RestoreResult:
        await self._projects()
        planned = {item.source_id: item for item in self.plan.items}
        await self._reconcile([i for i in self.plan.items if i.action == SKIP])
        await self._create_issues(planned)
        await self._read_statuses()
        await in_pool([self._status_work(sid) for sid in list(self.issues)])
        await in_pool(self._comment_work(planned))
        await in_pool(self._link_work(planned))
        await in_pool([self._attachment_work(a) for a in self.plan.attachments])
        clients = [self.target] + ([self.source] if self.source else [])
        return self.run.finish(*clients)

    # --- projects --------------------------------------------------------------------------

    async def _projects(self) -> None:
        wanted = {c.key: c for c in self.plan.containers}
        self.blocked: set[str] = set()  # projects whose issues cannot be written
        for project in self.records("projects"):
            container = wanted.get(str(project.get("key")))
            if container is None:
                continue
            if container.decision == ProjectDecision.CONFLICT:
                self.blocked.add(container.key)
                continue
            if container.decision != ProjectDecision.CREATE:
                self.run.map(
                    container.source_id, str(container.target_id), container.key, container.key
                )
                self.run.count("project", "projects", skipped=True)
                continue
            try:
                created = await self._create_project(project)
            except AtlassianError as error:
                self.run.fail("project", container.key, error)
                self.blocked.add(container.key)
                continue
            self.run.map(
                container.source_id, str(created.get("id")), container.key, str(created.get("key"))
            )
            self.run.count("project", "projects")

    async def _create_project(self, project: JSONObject) -> JSONObject:
        details: JSONObject = {
            "key": project["key"],
            "name": project.get("name") or project["key"],
            "projectTypeKey": project.get("projectTypeKey") or "software",
        }
        if isinstance(project.get("description"), str):
            details["description"] = project["description"]
        lead = (project.get("lead") or {}).get("accountId")
        caller = str((await self.target.myself()).get("accountId"))
        try:
            return await self.target.create_project({**details, "leadAccountId": lead or caller})
        except RequestRejected:
            if not lead or lead == caller:
                raise
            # The original lead may have left the organization: the restoring account leads.
            self.run.result.not_reproduced.append(
                f"project {project['key']}: its lead could not be set; the restoring "
                "account leads it"
            )
            return await self.target.create_project({**details, "leadAccountId": caller})

    # --- issues ----------------------------------------------------------------------------

    async def _create_issues(self, planned: dict[str, ItemPlan]) -> None:
        batch: list[tuple[ItemPlan, JSONObject]] = []
        later: list[tuple[ItemPlan, JSONObject]] = []  # sub-tasks: after their parents
        for issue in self.records("issues"):
            item = planned.get(str(issue.get("id")))
            if item is None:
                continue
            self.statuses[item.source_id] = str(
                ((issue.get("fields") or {}).get("status") or {}).get("name")
            )
            if item.action != CREATE:
                if item.action != SKIP:
                    self.run.fail("issue", item.label, item.reason)
                continue
            if item.container in self.blocked:
                self.run.fail("issue", item.label, f"project {item.container} was not restored")
                continue
            (later if (issue.get("fields") or {}).get("parent") else batch).append((item, issue))
            if len(batch) == ISSUE_CREATE_BATCH:
                await self._create_batch(batch)
                batch = []
        for chunk in (
            batch,
            *[later[i : i + ISSUE_CREATE_BATCH] for i in range(0, len(later), ISSUE_CREATE_BATCH)],
        ):
            if chunk:
                await self._create_batch(chunk)

    def _update(self, item: ItemPlan, issue: JSONObject, drop: Iterable[str] = ()) -> JSONObject:
        fields = issue_fields(issue, item.container, self.plan.same_site)
        parent = (issue.get("fields") or {}).get("parent")
        if isinstance(parent, dict) and str(parent.get("id")) in self.issues:
            fields["parent"] = {"id": self.issues[str(parent.get("id"))].target_id}
        for name in drop:
            fields.pop(name, None)
        origin = origin_value(self.plan, item.source_id, item.label)
        return {"fields": fields, "properties": [{"key": ORIGIN_PROPERTY, "value": origin}]}

    async def _create_batch(
        self,
        batch: list[tuple[ItemPlan, JSONObject]],
        drop: frozenset[str] = frozenset(),
        *,
        retried: bool = False,
    ) -> None:
        updates = [self._update(item, issue, drop) for item, issue in batch]
        try:
            answer = await self.target.create_issues(updates)
        except SiteUnavailable as error:
            if retried:
                for item, _issue in batch:
                    self.run.fail("issue", item.label, error)
            else:
                await self._recover_batch(batch, drop, error)
            return
        except AtlassianError as error:
            for item, _issue in batch:
                self.run.fail("issue", item.label, error)
            return
        retry: dict[frozenset[str], list[tuple[ItemPlan, JSONObject]]] = {}
        for number, (item, issue) in enumerate(batch):
            created = answer.created[number]
            if created is not None:
                self._created(item, *created)
                continue
            failure = answer.failed[number]
            people = failure.fields & PEOPLE_FIELDS
            if people and not drop:
                # An original reporter or assignee the target does not accept (a person who
                # left): the issue is restored without them, and that is reported.
                retry.setdefault(frozenset(people), []).append((item, issue))
                self.run.result.not_reproduced.append(
                    f"issue {item.label}: {', '.join(sorted(people))} could not be set "
                    f"({failure.reason})"
                )
            else:
                self.run.fail("issue", item.label, failure.reason)
        for dropped, again in retry.items():
            await self._create_batch(again, dropped)

    async def _recover_batch(
        self,
        batch: list[tuple[ItemPlan, JSONObject]],
        drop: frozenset[str],
        error: SiteUnavailable,
    ) -> None:
        """After a bulk create failed on the site's side: keep what was created (found by its
        origin), and send the rest once more."""
        found: dict[str, tuple[str, str]] = {}
        try:
            for project in {item.container for item, _ in batch}:
                async for issue, origin in self.target.issues_with_origins(project):
                    if (
                        isinstance(origin, dict)
                        and origin.get("sourceSite") == self.plan.source_site
                    ):
                        found[str(origin.get("sourceId"))] = (issue["id"], str(issue["key"]))
        except AtlassianError:
            for item, _issue in batch:
                self.run.fail("issue", item.label, error)
            return
        rest = []
        for item, issue in batch:
            if item.source_id in found:
                self._created(item, *found[item.source_id])
            else:
                rest.append((item, issue))
        if rest:
            await self._create_batch(rest, drop, retried=True)

    def _created(self, item: ItemPlan, new_id: str, new_key: str) -> None:
        self.issues[item.source_id] = _Issue(new_id, new_key, status=None)
        self.run.map(item.source_id, new_id, item.label, new_key)
        self.run.count("issue", "issues")

    async def _read_statuses(self) -> None:
        """The status each new issue starts in (its workflow's initial one), 100 a request:
        the walk to its original status starts from there."""
        new = {state.target_id: state for state in self.issues.values() if state.status is None}
        ids = list(new)
        for start in range(0, len(ids), 100):
            try:
                batch = await self.target.issue_batch(ids[start : start + 100], ["status"])
            except AtlassianError as error:
                for target_id in ids[start : start + 100]:
                    self.run.fail("status", new[target_id].target_key, error)
                continue
            for issue in batch.issues:
                status = ((issue.get("fields") or {}).get("status") or {}).get("name")
                new[str(issue.get("id"))].status = str(status)

    async def _reconcile(self, skipped: list[ItemPlan]) -> None:
        """Read back what an earlier run restored, so only what is missing is added."""
        by_target = {str(item.target_id): item for item in skipped}
        ids = list(by_target)
        for start in range(0, len(ids), 100):
            try:
                batch = await self.target.issue_batch(ids[start : start + 100])
            except AtlassianError as error:
                for target_id in ids[start : start + 100]:
                    self.run.fail("issue", by_target[target_id].label, error)
                continue
            for issue in batch.issues:
                item = by_target[str(issue.get("id"))]
                fields = issue.get("fields") or {}
                state = _Issue(
                    str(issue.get("id")),
                    str(issue.get("key")),
                    status=str((fields.get("status") or {}).get("name")),
                    files={str(a.get("filename")) for a in fields.get("attachment") or []},
                    links=_links_of(fields),
                )
                comments = fields.get("comment") or {}
                listed = comments.get("comments") or []
                if (comments.get("total") or 0) > len(listed):
                    listed = [c async for c in self.target.comments(state.target_id)]
                for comment in listed:
                    original = restored_comment_id(adf_first_text(comment.get("body")))
                    if original is not None:
                        state.comments.add(original)
                self.issues[item.source_id] = state
                self.run.map(item.source_id, state.target_id, item.label, state.target_key)
                self.run.count("issue", "issues", skipped=True)

    # --- status, comments, links, attachments -------------------------------------------------

    def _status_work(self, source_id: str) -> Any:
        async def work() -> None:
            wanted = self.statuses.get(source_id)
            state = self.issues[source_id]
            if not wanted or state.status is None or state.status == wanted:
                return
            try:
                reached = await self._move(state, wanted)
            except AtlassianError as error:
                self.run.fail("status", state.target_key, error)
                return
            if reached:
                self.run.count("status", "statuses")
            else:
                self.run.result.not_reproduced.append(
                    f"issue {state.target_key}: the workflow does not lead to {wanted!r}; it stays "
                    f"in {state.status!r}"
                )

        return work

    async def _move(self, state: _Issue, wanted: str) -> bool:
        """Walk the workflow to `wanted`, learning it as it goes (shared by every issue of the
        run): the shortest known path when there is one, else a status not yet explored. A
        known status's transitions are taken from what was learnt, without asking again,
        unless the site refuses one."""
        visited = {state.status}
        for _step in range(MAX_WORKFLOW_STEPS):
            current = str(state.status)
            if current not in self.workflow:
                await self._learn(state)
            moves = self.workflow[current]
            step = wanted if wanted in moves else self._next_step(moves, wanted, visited)
            if step is None:
                return False
            try:
                await self.target.transition(state.target_id, moves[step])
            except RequestRejected:
                # The workflow differs for this issue (or changed): learn it again.
                await self._learn(state)
                continue
            state.status = step
            visited.add(step)
            if step == wanted:
                return True
        return False

    async def _learn(self, state: _Issue) -> None:
        offered = await self.target.transitions(state.target_id)
        self.workflow[str(state.status)] = {
            str((t.get("to") or {}).get("name")): str(t.get("id")) for t in offered
        }

    def _next_step(
        self, moves: dict[str, str], wanted: str, visited: set[str | None]
    ) -> str | None:
        """The first step of the shortest known path to `wanted`, else an unexplored status."""
        queue = [(name, name) for name in moves if name not in visited]
        seen = {name for name, _ in queue} | {name for name in visited if name}
        while queue:
            status, first = queue.pop(0)
            for following in self.workflow.get(status, {}):
                if following == wanted:
                    return first
                if following not in seen:
                    seen.add(following)
                    queue.append((following, first))
        unexplored = [n for n in moves if n not in visited and n not in self.workflow]
        return unexplored[0] if unexplored else None

    def _comment_work(self, planned: dict[str, ItemPlan]) -> list[Any]:
        works = []
        for comment in self.records("comments"):
            source_id = str(comment.get("issueId"))
            state = self.issues.get(source_id)
            if state is None:
                continue
            if str(comment.get("id")) in state.comments:
                self.run.count("comment", "comments", skipped=True)
                continue
            works.append(self._one_comment(state, comment))
        return works

    def _one_comment(self, state: _Issue, comment: JSONObject) -> Any:
        async def work() -> None:
            try:
                added = await self.target.add_comment(
                    state.target_id, comment_body(comment), comment.get("visibility")
                )
            except AtlassianError as error:
                self.run.fail("comment", str(comment.get("id")), error)
                return
            state.comments.add(str(comment.get("id")))
            self.run.map(str(comment.get("id")), str(added.get("id")))
            self.run.count("comment", "comments")

        return work

    def _link_work(self, planned: dict[str, ItemPlan]) -> list[Any]:
        works = []
        for issue in self.records("issues"):
            state = self.issues.get(str(issue.get("id")))
            if state is None:
                continue
            for link in (issue.get("fields") or {}).get("issuelinks") or []:
                outward = link.get("outwardIssue")
                if not isinstance(outward, dict):
                    continue  # each link is made once, from the issue at its inward end
                works.append(self._one_link(issue, state, link, str(outward.get("id"))))
        return works

    def _one_link(self, issue: JSONObject, state: _Issue, link: JSONObject, other: str) -> Any:
        async def work() -> None:
            type_name = str((link.get("type") or {}).get("name"))
            if other in self.issues:
                other_id = self.issues[other].target_id
            elif self.plan.same_site and other not in {i.source_id for i in self.plan.items}:
                other_id = other  # the other issue was not part of this restore: it is there
            else:
                self.run.result.not_reproduced.append(
                    f"issue {state.target_key}: its {type_name!r} link to issue {other} was not "
                    "made: that issue was not part of this restore"
                )
                return
            if (type_name, other_id) in state.links:
                self.run.count("link", "links", skipped=True)
                return
            try:
                await self.target.link_issues(type_name, state.target_id, other_id)
            except AtlassianError as error:
                self.run.fail("link", str(link.get("id")), error)
                return
            state.links.add((type_name, other_id))
            self.run.count("link", "links")

        return work

    def _attachment_work(self, attachment: AttachmentPlan) -> Any:
        async def work() -> None:
            state = self.issues.get(attachment.owner_source_id)
            if state is None:
                return  # its issue was not restored, which is reported already
            if attachment.filename in state.files:
                self.run.count("attachment", "attachments", skipped=True)
                return
            try:
                content = await attachment_bytes(attachment, self.source, self.stored)
                uploaded = await self.target.upload_attachment(
                    state.target_id, attachment.filename, content, attachment.media_type
                )
            except (AtlassianError, LookupError, OSError) as error:
                self.run.fail("attachment", attachment.source_id, f"{attachment.filename}: {error}")
                return
            state.files.add(attachment.filename)
            self.run.result.uploaded_bytes += len(content)
            if uploaded:
                self.run.map(attachment.source_id, str(uploaded[0].get("id")))
            self.run.count("attachment", "attachments")

        return work


def _links_of(fields: JSONObject) -> set[tuple[str, str]]:
    """(link type, other issue id) of the links an issue has at its inward end."""
    links = set()
    for link in fields.get("issuelinks") or []:
        outward = link.get("outwardIssue") if isinstance(link, dict) else None
        if isinstance(outward, dict):
            links.add((str((link.get("type") or {}).get("name")), str(outward.get("id"))))
    return links


async def execute_jira(
    plan: RestorePlan,
    records: Records,
    target: JiraClient,
    *,
    source: SiteClient | None = None,
    stored: StoredContent | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    """Execute a Jira plan: exactly its items, in its order (see the module's docstring)."""
    return await JiraRestore(
        plan, records, target, source=source, stored=stored, progress=progress
    ).execute()
