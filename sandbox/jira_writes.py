"""Jira Cloud REST v3 writes: what a restore needs, with Jira's refusals.

Choices where Jira's behaviour depends on a site's configuration (documented for the restore):
- `reporter` and `assignee` can be set on create when they name an active person of the site
  (`{"accountId": ...}` or `{"id": ...}`), as for an admin on a company-managed project; an unknown
  or inactive account fails that element. Without `reporter`, the caller is the reporter.
- Every project uses one simple workflow: To Do (initial) -> In Progress (21) or Won't Do (51);
  In Progress -> To Do (11) or In Review (31); In Review -> In Progress (21) or Done (41); Done and
  Won't Do -> To Do (11). A transition not available from the current status answers 400.
- `POST /issueLink`: `inwardIssue` is the source and `outwardIssue` the target ("inward blocks
  outward"); on the inward issue the link shows as `outwardIssue`, and the reverse.
- Unknown request fields answer 400 (Jira's "Unrecognized field"); in `issue/bulk`, an unknown
  issue field fails that element only ("cannot be set ... or unknown").
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.content import AdfText, file_kind
from sandbox.control import EMAIL_SCOPE_KEY, Faults
from sandbox.data import (
    ISSUE_TYPES,
    LINK_TYPES,
    PRIORITIES,
    SECURITY_LEVELS,
    TRANSITIONS,
    Issue,
    IssueType,
    LinkType,
    Priority,
    Project,
    SecurityLevel,
    SiteData,
    User,
    WriteRefused,
)
from sandbox.errors import ApiError
from sandbox.jira_api import API, NOT_FOUND_ISSUE, JiraRenderer
from sandbox.responses import JSONResponse
from sandbox.uploads import json_body, json_object, read_upload, refuse_unknown

BULK_CREATE_MAX = 50
SUMMARY_MAX = 255
PROPERTY_KEY_MAX = 255
PROPERTY_VALUE_MAX = 32_768
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
PROJECT_TYPES = ("software", "business", "service_desk")
PROJECT_FIELDS = (
    "assigneeType", "avatarId", "categoryId", "description", "fieldConfigurationScheme",
    "issueSecurityScheme", "issueTypeScheme", "issueTypeScreenScheme", "key", "lead",
    "leadAccountId", "name", "notificationScheme", "permissionScheme", "projectTemplateKey",
    "projectTypeKey", "url", "workflowScheme",
)  # fmt: skip
ISSUE_FIELDS = (
    "project", "issuetype", "summary", "description", "labels", "priority", "security",
    "reporter", "assignee",
)  # fmt: skip
DEFAULT_PRIORITY = PRIORITIES[2]  # Medium


class ElementError(Exception):
    """One issue of a bulk create is invalid: Jira's error collection for that element."""

    def __init__(self, errors: dict[str, str], messages: list[str] | None = None) -> None:
        super().__init__(messages or errors)
        self.errors = errors
        self.messages = messages or []


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _is_adf(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


def _named(value: Any, choices: tuple[Any, ...], by: tuple[str, ...]) -> Any | None:
    """The item a reference like {"id": "3"} or {"name": "Medium"} names, if any."""
    if not isinstance(value, dict):
        return None
    for attribute in by:
        wanted = value.get(attribute)
        if isinstance(wanted, str):
            return next((c for c in choices if getattr(c, attribute) == wanted), None)
    return None


class JiraWrites:
    """The Jira write routes of one sandbox site."""

    def __init__(self, data: SiteData, faults: Faults) -> None:
        self.data = data
        self.faults = faults

    def routes(self) -> list[Route]:
        issue = f"{API}/issue/{{issueIdOrKey}}"
        return [
            Route(f"{API}/project", self.create_project, methods=["POST"]),
            Route(f"{API}/project/{{projectIdOrKey}}", self.get_project, methods=["GET"]),
            Route(f"{API}/issue/bulk", self.create_issues, methods=["POST"]),
            Route(f"{issue}/transitions", self.transitions, methods=["GET"]),
            Route(f"{issue}/transitions", self.transition, methods=["POST"]),
            Route(f"{issue}/comment", self.add_comment, methods=["POST"]),
            Route(f"{API}/issueLink", self.link, methods=["POST"]),
            Route(f"{issue}/properties/{{propertyKey}}", self.set_property, methods=["PUT"]),
            Route(f"{issue}/properties/{{propertyKey}}", self.get_property, methods=["GET"]),
            Route(f"{issue}/properties/{{propertyKey}}", self.delete_property, methods=["DELETE"]),
            Route(f"{issue}/attachments", self.attach, methods=["POST"]),
            Route(issue, self.delete_issue, methods=["DELETE"]),
        ]

    def _caller(self, request: Request) -> User:
        return self.data.caller(request.scope.get(EMAIL_SCOPE_KEY, ""))

    def _issue(self, request: Request) -> int:
        index = self.data.issue_index(request.path_params["issueIdOrKey"])
        if index is None:
            raise ApiError(404, NOT_FOUND_ISSUE)
        return index

    def _person(self, value: Any) -> User | None:
        """An active person of the site named by {"accountId": ...} or {"id": ...}."""
        if not isinstance(value, dict):
            return None
        account_id = value.get("accountId", value.get("id"))
        user = self.data.user(account_id) if isinstance(account_id, str) else None
        return user if user is not None and user.active else None

    # -- projects ---------------------------------------------------------------------------------

    async def create_project(self, request: Request) -> Response:
        body = await json_object(request, PROJECT_FIELDS)
        errors: dict[str, str] = {}
        key, name = body.get("key"), body.get("name")
        if not isinstance(key, str) or not PROJECT_KEY.match(key):
            errors["projectKey"] = (
                "Project keys must start with an uppercase letter, followed by one or more "
                "uppercase alphanumeric characters (at most 10)."
            )
        if not isinstance(name, str) or not name.strip():
            errors["projectName"] = "You must specify a valid project name."
        type_key = body.get("projectTypeKey")
        if type_key not in PROJECT_TYPES:
            errors["projectTypeKey"] = "You must specify a valid project type."
        lead = self._person({"accountId": body.get("leadAccountId")})
        if lead is None and body.get("leadAccountId") == self._caller(request).account_id:
            lead = self._caller(request)
        if lead is None:
            errors["projectLead"] = "You must specify a valid project lead."
        description = body.get("description", "")
        if not isinstance(description, str):
            errors["description"] = "The description must be text."
        if errors:
            raise ApiError(400, "The project could not be created.", field_errors=errors)
        assert isinstance(key, str) and isinstance(name, str) and isinstance(type_key, str)
        assert lead is not None and isinstance(description, str)
        try:
            project = self.data.create_project(
                key=key, name=name, type_key=type_key, lead=lead, description=description
            )
        except WriteRefused as refused:
            field = refused.field or "key"
            raise ApiError(400, str(refused), field_errors={field: str(refused)}) from None
        self_url = f"{_base(request)}{API}/project/{project.id}"
        return JSONResponse(
            {"id": int(project.id), "key": project.key, "self": self_url}, status_code=201
        )

    def _project(self, id_or_key: str) -> Project | None:
        return self.data.project_by_key(id_or_key) or self.data.project_by_id(id_or_key)

    async def get_project(self, request: Request) -> Response:
        name = request.path_params["projectIdOrKey"]
        project = self._project(name)
        if project is None:
            raise ApiError(404, f"No project could be found with key '{name}'.")
        expand = {"description", "lead", "issuetypes"}
        expand |= {p.strip().lower() for p in request.query_params.get("expand", "").split(",")}
        return JSONResponse(JiraRenderer(self.data, _base(request)).project(project, expand))

    # -- issues -----------------------------------------------------------------------------------

    async def create_issues(self, request: Request) -> Response:
        body = await json_object(request, ("issueUpdates",))
        updates = body.get("issueUpdates")
        if not isinstance(updates, list):
            raise ApiError(400, "'issueUpdates' must be a list of issues to create.")
        if len(updates) > BULK_CREATE_MAX:
            raise ApiError(
                400,
                f"The number of issues to create ({len(updates)}) exceeds the maximum of "
                f"{BULK_CREATE_MAX} in one request.",
            )
        caller = self._caller(request)
        base = _base(request)
        created: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for number, update in enumerate(updates):
            try:
                issue = self._create_one(update, caller)
            except ElementError as error:
                failed.append(
                    {
                        "failedElementNumber": number,
                        "elementErrors": {"errorMessages": error.messages, "errors": error.errors},
                        "status": 400,
                    }
                )
                continue
            created.append(
                {"id": issue.id, "key": issue.key, "self": f"{base}{API}/issue/{issue.id}"}
            )
        status = 201 if created or not failed else 400
        return JSONResponse({"issues": created, "errors": failed}, status_code=status)

    def _create_one(self, update: Any, caller: User) -> Issue:
        if not isinstance(update, dict):
            raise ElementError({}, ["Each issue to create must be an object."])
        unknown = sorted(set(update) - {"fields", "properties", "update"})
        if unknown:
            raise ElementError({}, [f'Unrecognized field "{unknown[0]}".'])
        if update.get("update"):
            raise ElementError({}, ["The sandbox site sets fields through 'fields' only."])
        fields = update.get("fields")
        if not isinstance(fields, dict):
            raise ElementError({}, ["'fields' must be an object."])
        errors = {
            name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in fields
            if name not in ISSUE_FIELDS
        }
        project = self._project_of(fields.get("project"))
        if project is None:
            errors["project"] = "Specify a valid project ID or key"
        issue_type = _named(fields.get("issuetype"), ISSUE_TYPES, ("id", "name"))
        if issue_type is None:
            errors["issuetype"] = "Specify an issue type"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > SUMMARY_MAX:
            errors["summary"] = f"Summary must be less than {SUMMARY_MAX} characters."
        description = fields.get("description")
        if description is not None and not _is_adf(description):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(
            isinstance(label, str) and label and " " not in label for label in labels
        ):
            errors["labels"] = "Labels are words without spaces."
        priority: Priority | None = DEFAULT_PRIORITY
        if "priority" in fields:
            priority = _named(fields["priority"], PRIORITIES, ("id", "name"))
            if priority is None:
                errors["priority"] = "Specify the Priority (id or name) in the string format"
        security: SecurityLevel | None = None
        if fields.get("security") is not None:
            security = _named(fields["security"], SECURITY_LEVELS, ("id", "name"))
            if security is None:
                errors["security"] = "Security level not valid."
        reporter, assignee = self._people(fields, caller, errors)
        properties = self._properties(update.get("properties", []), errors)
        if errors:
            raise ElementError(errors)
        assert project is not None and isinstance(issue_type, IssueType)
        assert isinstance(summary, str) and priority is not None and reporter is not None
        issue = self.data.create_issue(
            project=project,
            issue_type=issue_type,
            summary=summary,
            description=AdfText(description) if description is not None else None,
            labels=tuple(labels),
            priority=priority,
            security=security,
            reporter=reporter,
            assignee=assignee,
        )
        for key, value in properties:
            self.data.set_issue_property(issue.head.index, key, value)
        return issue

    def _people(
        self, fields: dict[str, Any], caller: User, errors: dict[str, str]
    ) -> tuple[User | None, User | None]:
        """The reporter (the caller unless given) and the assignee (none unless given)."""
        reporter: User | None = caller
        if "reporter" in fields:
            reporter = self._person(fields["reporter"])
            if reporter is None:
                errors["reporter"] = "Specified reporter is not a user."
        assignee: User | None = None
        if fields.get("assignee") is not None:
            assignee = self._person(fields["assignee"])
            if assignee is None:
                errors["assignee"] = (
                    "Specified user does not exist or you do not have required permissions"
                )
        return reporter, assignee

    def _project_of(self, value: Any) -> Project | None:
        if not isinstance(value, dict):
            return None
        for attribute in ("id", "key"):
            if isinstance(value.get(attribute), str):
                return self._project(value[attribute])
        return None

    @staticmethod
    def _properties(value: Any, errors: dict[str, str]) -> list[tuple[str, Any]]:
        if not isinstance(value, list) or not all(
            isinstance(p, dict)
            and isinstance(p.get("key"), str)
            and 0 < len(p["key"]) <= PROPERTY_KEY_MAX
            and "value" in p
            and not set(p) - {"key", "value"}
            for p in value
        ):
            errors["properties"] = "Properties are a list of {key, value} objects."
            return []
        return [(p["key"], p["value"]) for p in value]

    async def delete_issue(self, request: Request) -> Response:
        index = self._issue(request)
        if request.query_params.get("deleteSubtasks", "false") not in ("true", "false"):
            raise ApiError(400, "'deleteSubtasks' must be true or false.")
        self.data.delete_issue(index)
        return Response(status_code=204)

    # -- workflow ---------------------------------------------------------------------------------

    async def transitions(self, request: Request) -> Response:
        index = self._issue(request)
        renderer = JiraRenderer(self.data, _base(request))
        wanted = request.query_params.get("transitionId")
        shown = []
        for transition_id in self.data.transitions_of(index):
            if wanted and wanted != transition_id:
                continue
            name, status = TRANSITIONS[transition_id]
            shown.append(
                {
                    "id": transition_id,
                    "name": name,
                    "to": renderer.status(status),
                    "hasScreen": False,
                    "isGlobal": False,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "looped": False,
                }
            )
        return JSONResponse({"expand": "transitions", "transitions": shown})

    async def transition(self, request: Request) -> Response:
        index = self._issue(request)
        body = await json_object(
            request, ("transition", "fields", "update", "historyMetadata", "properties")
        )
        if body.get("fields") or body.get("update"):
            raise ApiError(400, "The sandbox site's transitions have no screen: no fields.")
        transition = body.get("transition")
        transition_id = transition.get("id") if isinstance(transition, dict) else None
        if not isinstance(transition_id, str):
            raise ApiError(400, "Missing 'transition' identifier")
        try:
            self.data.transition_issue(index, transition_id, self._caller(request))
        except WriteRefused as refused:
            raise ApiError(refused.status, str(refused)) from None
        return Response(status_code=204)

    # -- comments, links, properties, attachments --------------------------------------------------

    async def add_comment(self, request: Request) -> Response:
        index = self._issue(request)
        body = await json_object(request, ("body", "visibility", "properties"))
        if not _is_adf(body.get("body")):
            raise ApiError(
                400,
                "Comment body can not be empty!",
                field_errors={"comment": "The comment body must be an Atlassian Document."},
            )
        role = None
        visibility = body.get("visibility")
        if visibility is not None:
            if not isinstance(visibility, dict) or visibility.get("type") not in ("role", "group"):
                raise ApiError(400, "Visibility is a role or a group.")
            refuse_unknown(visibility, ("type", "value", "identifier"), "visibility")
            role = visibility.get("value") or visibility.get("identifier")
            if not isinstance(role, str):
                raise ApiError(400, "Visibility names a role or a group.")
        comment = self.data.add_jira_comment(
            index, AdfText(body["body"]), self._caller(request), role
        )
        renderer = JiraRenderer(self.data, _base(request))
        issue_id = self.data.issue_head(index).id
        return JSONResponse(renderer.comment(comment, issue_id), status_code=201)

    async def link(self, request: Request) -> Response:
        body = await json_object(request, ("type", "inwardIssue", "outwardIssue", "comment"))
        if "comment" in body:
            raise ApiError(400, "The sandbox site does not add comments with links.")
        link_type: LinkType | None = _named(body.get("type"), LINK_TYPES, ("id", "name"))
        if link_type is None:
            raise ApiError(404, "No issue link type with name or id given found.")
        ends = []
        for side in ("inwardIssue", "outwardIssue"):
            reference = body.get(side)
            if not isinstance(reference, dict):
                raise ApiError(400, f"'{side}' must name an issue by key or id.")
            refuse_unknown(reference, ("id", "key", "self", "fields"), side)
            name = reference.get("key") or reference.get("id")
            index = self.data.issue_index(name) if isinstance(name, str) else None
            if index is None:
                raise ApiError(404, f"Issue Does Not Exist: {name}")
            ends.append(index)
        self.data.link_issues(link_type, ends[0], ends[1])
        return Response(status_code=201)

    async def set_property(self, request: Request) -> Response:
        index = self._issue(request)
        key = request.path_params["propertyKey"]
        raw = await request.body()
        if len(key) > PROPERTY_KEY_MAX:
            raise ApiError(400, f"The property key is longer than {PROPERTY_KEY_MAX} characters.")
        if len(raw) > PROPERTY_VALUE_MAX:
            raise ApiError(400, f"The property value is longer than {PROPERTY_VALUE_MAX} bytes.")
        if not raw.strip():
            raise ApiError(400, "The property value must not be empty.")
        value = await json_body(request)
        created = self.data.set_issue_property(index, key, value)
        return Response(status_code=201 if created else 200)

    async def get_property(self, request: Request) -> Response:
        index = self._issue(request)
        key = request.path_params["propertyKey"]
        properties = self.data.issue_properties(index)
        if key not in properties:
            raise ApiError(404, f"The property with key '{key}' does not exist.")
        return JSONResponse({"key": key, "value": properties[key]})

    async def delete_property(self, request: Request) -> Response:
        index = self._issue(request)
        key = request.path_params["propertyKey"]
        if not self.data.delete_issue_property(index, key):
            raise ApiError(404, f"The property with key '{key}' does not exist.")
        return Response(status_code=204)

    async def attach(self, request: Request) -> Response:
        index = self._issue(request)
        upload = await read_upload(request)
        caller = self._caller(request)
        renderer = JiraRenderer(self.data, _base(request))
        shown = []
        for file in upload.files:
            attachment = self.data.add_jira_attachment(
                index,
                file.filename,
                file_kind(file.filename, file.media_type),
                file.content,
                caller,
            )
            shown.append(renderer.attachment(attachment))
        return JSONResponse(shown)
