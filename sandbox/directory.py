"""The sandbox organization: a seeded set of people and their roles, and the calls that read them.

`roles.source: atlassian` learns a person's roles from three calls (see `atlassian_cloud.roles`),
which the sandbox serves from `SEEDED_PEOPLE` below plus the site's generated users:

- Admin API `POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search` (organization
  `SANDBOX_ORG_ID`; directory `-`, every directory, or `SANDBOX_DIRECTORY_ID`), authenticated with
  `Authorization: Bearer sandbox-token`. Body: `emails` (whole addresses, compared ignoring case)
  or `searchTerm` (part of a name or email; not both), `accountIds`, `expand` (`platformRoles`),
  `limit` (1 to 100, default 50) and `cursor`; answer `{"data": [...], "links": {"self", "next"}}`
  where `links.next` is the next page's cursor. Errors use the Admin API's shape
  `{"errors": [{"status", "code", "title", "detail"}]}`.
- Jira `POST /rest/api/3/permissions/check` with `accountId` (default: the caller) and
  `globalPermissions`; answers the granted subset and `projectPermissions: []` (the sandbox does
  not model project permissions, and refuses a request for them with 400 rather than ignore it).
  Jira admins hold ADMINISTER, BULK_CHANGE, MANAGE_GROUP_FILTER_SUBSCRIPTIONS and everyone's
  USER_PICKER and CREATE_SHARED_OBJECTS; nobody holds SYSTEM_ADMIN; inactive accounts hold none.
  The sandbox does not check that the caller may ask about others (Jira requires Administer Jira).
- Confluence v1 `GET /wiki/rest/api/user/memberof?accountId=...&start=...&limit=...` (limit 1 to
  200, default 200): the account's groups in the order listed here, with `_links.next` while more
  remain.

The seeded people (`SEEDED_PEOPLE`; all active, all with stable account ids):

- alice@example.com, 712020:a11ce000-0000-4000-8000-000000000001: org admin, Jira admin,
  Confluence admin (groups confluence-users, engineering, confluence-admins)
- bob@example.com, 712020:b0b00000-0000-4000-8000-000000000002: org admin, Jira admin,
  Confluence admin (groups confluence-admins, confluence-users)
- carol@example.com, 712020:ca201000-0000-4000-8000-000000000003: Jira admin only
  (group confluence-users)
- dave@example.com, 712020:da7e0000-0000-4000-8000-000000000004: org admin only
  (group confluence-users)
- erin@example.com, 712020:e2170000-0000-4000-8000-000000000005: Confluence admin only
  (groups confluence-admins, confluence-users)

A Confluence admin is a member of `confluence-admins` (`CONFLUENCE_ADMINS`); alice's membership is
on the last of her groups, so a client that stops after the first page misses it. The site's
generated people (`SiteData.users` with an email, the inactive former employee included) are in
the organization too, in `confluence-users`, with no admin role.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from sandbox.control import EMAIL_SCOPE_KEY, SANDBOX_TOKEN
from sandbox.data import SiteData, service_user
from sandbox.errors import ApiError
from sandbox.paging import InvalidToken, decode_token, encode_token, fingerprint
from sandbox.responses import JSONResponse
from sandbox.uploads import json_object

ADMIN_PREFIX = "/admin/"
SANDBOX_ORG_ID = "5a4db0c5-0000-4000-8000-00000000a7ef"
SANDBOX_DIRECTORY_ID = "5a4db0c5-0000-4000-8000-0000000d1eec"
ALL_DIRECTORIES = "-"
ORG_ADMIN_ROLE = "atlassian/org-admin"
CONFLUENCE_ADMINS = "confluence-admins"
CONFLUENCE_USERS = "confluence-users"
SEARCH_DEFAULT_LIMIT = 50
SEARCH_MAX_LIMIT = 100
MEMBEROF_MAX_LIMIT = 200
ADDED_TO_ORG = "2023-01-02T08:00:00Z"
ADMINISTER = "ADMINISTER"
GLOBAL_PERMISSIONS = frozenset(
    {
        ADMINISTER,
        "SYSTEM_ADMIN",
        "USER_PICKER",
        "CREATE_SHARED_OBJECTS",
        "MANAGE_GROUP_FILTER_SUBSCRIPTIONS",
        "BULK_CHANGE",
    }
)
EVERYONE_PERMISSIONS = frozenset({"USER_PICKER", "CREATE_SHARED_OBJECTS"})
JIRA_ADMIN_PERMISSIONS = EVERYONE_PERMISSIONS | {
    ADMINISTER,
    "MANAGE_GROUP_FILTER_SUBSCRIPTIONS",
    "BULK_CHANGE",
}
SEARCH_FIELDS = (
    "cursor", "limit", "accountIds", "directoryIds", "resourceIds", "groupIds", "mfaEnabled",
    "claimStatus", "status", "accountStatus", "membershipStatus", "roleIds", "emailDomains",
    "searchTerm", "emails", "expand", "sortBy",
)  # fmt: skip
SEARCH_SUPPORTED = frozenset({"cursor", "limit", "accountIds", "searchTerm", "emails", "expand"})
EXPANDS = frozenset({"platformRoles", "counts.resources", "productAccess", "groups"})
CHECK_FIELDS = ("accountId", "globalPermissions", "projectPermissions")
_ADMIN_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


@dataclass(frozen=True)
class DirectoryPerson:
    """One person of the sandbox organization and the roles they hold."""

    account_id: str
    email: str
    display_name: str
    org_admin: bool = False
    jira_admin: bool = False
    groups: tuple[str, ...] = (CONFLUENCE_USERS,)  # Confluence groups, in listing order
    active: bool = True


SEEDED_PEOPLE: tuple[DirectoryPerson, ...] = (
    DirectoryPerson(
        "712020:a11ce000-0000-4000-8000-000000000001", "alice@example.com", "Alice Admin",
        org_admin=True, jira_admin=True,
        groups=(CONFLUENCE_USERS, "engineering", CONFLUENCE_ADMINS),
    ),
    DirectoryPerson(
        "712020:b0b00000-0000-4000-8000-000000000002", "bob@example.com", "Bob Builder",
        org_admin=True, jira_admin=True, groups=(CONFLUENCE_ADMINS, CONFLUENCE_USERS),
    ),
    DirectoryPerson(
        "712020:ca201000-0000-4000-8000-000000000003", "carol@example.com", "Carol Jira",
        jira_admin=True,
    ),
    DirectoryPerson(
        "712020:da7e0000-0000-4000-8000-000000000004", "dave@example.com", "Dave Org",
        org_admin=True,
    ),
    DirectoryPerson(
        "712020:e2170000-0000-4000-8000-000000000005", "erin@example.com", "Erin Wiki",
        groups=(CONFLUENCE_ADMINS, CONFLUENCE_USERS),
    ),
)  # fmt: skip


def is_admin_api(path: str) -> bool:
    """Whether a request path is the Admin API's (Bearer auth, its own error shape)."""
    return path.startswith(ADMIN_PREFIX)


def has_sandbox_bearer(scope: Scope) -> bool:
    """Whether the request carries `Authorization: Bearer sandbox-token`."""
    header: bytes = dict(scope.get("headers", [])).get(b"authorization", b"")
    scheme, _, token = header.partition(b" ")
    return scheme.lower() == b"bearer" and token.strip() == SANDBOX_TOKEN.encode()


def admin_error_response(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error as the Admin API answers one: `{"errors": [{status, code, title, detail}]}`."""
    error: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": str(status),
        "code": _ADMIN_CODES.get(status, "ERROR"),
        "title": title,
    }
    if detail:
        error["detail"] = detail
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


class SandboxDirectory:
    """The organization's people: the seeded ones, then the site's generated users."""

    def __init__(self, data: SiteData, seeded: Sequence[DirectoryPerson] = SEEDED_PEOPLE) -> None:
        generated = [
            DirectoryPerson(user.account_id, user.email, user.display_name, active=user.active)
            for user in data.users
            if user.email and user.account_type == "atlassian"
        ]
        self.people: tuple[DirectoryPerson, ...] = (*seeded, *generated)
        self._by_account = {person.account_id: person for person in self.people}
        known = {group.name: group.id for group in data.groups}
        names = dict.fromkeys(group for person in self.people for group in person.groups)
        self.group_ids = {
            name: known.get(name) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-group:{name}"))
            for name in names
        }

    def person(self, account_id: str) -> DirectoryPerson | None:
        return self._by_account.get(account_id)

    def search(
        self,
        *,
        emails: Sequence[str] = (),
        search_term: str | None = None,
        account_ids: Sequence[str] = (),
    ) -> list[DirectoryPerson]:
        """People matching every filter given: whole emails (ignoring case), a part of the name
        or email, account ids."""
        wanted = {email.casefold() for email in emails}
        term = search_term.casefold() if search_term else None
        return [
            person
            for person in self.people
            if (not wanted or person.email.casefold() in wanted)
            and (
                term is None
                or term in person.email.casefold()
                or term in person.display_name.casefold()
            )
            and (not account_ids or person.account_id in account_ids)
        ]

    def global_permissions(self, account_id: str) -> frozenset[str]:
        person = self.person(account_id)
        if person is not None and not person.active:
            return frozenset()
        if person is not None and person.jira_admin:
            return JIRA_ADMIN_PERMISSIONS
        return EVERYONE_PERMISSIONS


def _string_list(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, f"'{name}' must be a list of strings.")
    return value


class DirectoryApi:
    """The routes that answer who holds which role (see the module's description)."""

    def __init__(self, data: SiteData) -> None:
        self.data = data
        self.directory = SandboxDirectory(data)

    def routes(self) -> list[Route]:
        search = "/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search"
        return [
            Route(search, self.search_users, methods=["POST"]),
            Route("/rest/api/3/permissions/check", self.check_permissions, methods=["POST"]),
            Route("/wiki/rest/api/user/memberof", self.member_of, methods=["GET"]),
        ]

    # -- Admin API ------------------------------------------------------------------------------

    async def search_users(self, request: Request) -> Response:
        try:
            return await self._search_users(request)
        except ApiError as error:
            return admin_error_response(error.status, error.message, detail=error.detail)

    async def _search_users(self, request: Request) -> Response:
        if request.path_params["orgId"] != SANDBOX_ORG_ID:
            raise ApiError(404, "Organization not found.", detail=f"Use {SANDBOX_ORG_ID}.")
        if request.path_params["directoryId"] not in (ALL_DIRECTORIES, SANDBOX_DIRECTORY_ID):
            raise ApiError(404, "Directory not found.")
        body = await json_object(request, SEARCH_FIELDS)
        unsupported = sorted(key for key in body if key not in SEARCH_SUPPORTED)
        if unsupported:
            raise ApiError(
                400, f"'{unsupported[0]}' is not supported by the sandbox site.",
                detail=f"Supported: {', '.join(sorted(SEARCH_SUPPORTED))}.",
            )  # fmt: skip
        emails = _string_list(body, "emails")
        term = body.get("searchTerm")
        if term is not None and not isinstance(term, str):
            raise ApiError(400, "'searchTerm' must be a string.")
        if emails and term:
            raise ApiError(400, "'searchTerm' and 'emails' cannot be used together.")
        expand = _string_list(body, "expand")
        unknown = sorted(set(expand) - EXPANDS)
        if unknown:
            raise ApiError(400, f"'{unknown[0]}' is not a valid expand value.")
        if set(expand) - {"platformRoles"}:
            raise ApiError(400, "The sandbox site expands 'platformRoles' only.")
        limit = body.get("limit", SEARCH_DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise ApiError(400, "'limit' must be a whole number.")
        if not 1 <= limit <= SEARCH_MAX_LIMIT:
            raise ApiError(400, f"'limit' must be from 1 to {SEARCH_MAX_LIMIT}, got {limit}.")
        account_ids = _string_list(body, "accountIds")
        # A cursor continues one query: the same filters, whatever the page size.
        scope = fingerprint(request.url.path, repr((sorted(emails), term, sorted(account_ids))))
        start = 0
        cursor = body.get("cursor")
        if cursor is not None:
            try:
                start = decode_token(str(cursor), scope)
            except InvalidToken:
                raise ApiError(400, "The page cursor is not valid.") from None
        found = self.directory.search(emails=emails, search_term=term, account_ids=account_ids)
        page = found[start : start + limit]
        links: dict[str, str] = {"self": encode_token(start, scope)}
        if start + limit < len(found):
            links["next"] = encode_token(start + limit, scope)
        roles = "platformRoles" in expand
        return JSONResponse({"data": [self._user(p, roles) for p in page], "links": links})

    @staticmethod
    def _user(person: DirectoryPerson, with_roles: bool) -> dict[str, Any]:
        user: dict[str, Any] = {
            "accountId": person.account_id,
            "accountType": "atlassian",
            "status": "active" if person.active else "deactivated",
            "accountStatus": "active" if person.active else "inactive",
            "membershipStatus": "active",
            "addedToOrg": ADDED_TO_ORG,
            "name": person.display_name,
            "nickname": person.display_name.split()[0],
            "email": person.email,
            "emailVerified": True,
            "claimStatus": "managed",
            "mfaEnabled": False,
            "avatar": f"https://avatar-management.sandbox.invalid/{person.account_id}/48.png",
        }
        if with_roles:
            user["platformRoles"] = [ORG_ADMIN_ROLE] if person.org_admin else []
        return user

    # -- Jira -----------------------------------------------------------------------------------

    async def check_permissions(self, request: Request) -> Response:
        body = await json_object(request, CHECK_FIELDS)
        if body.get("projectPermissions"):
            raise ApiError(400, "Project permissions are not supported by the sandbox site.")
        account_id = body.get("accountId")
        if account_id is None:
            account_id = service_user(request.scope.get(EMAIL_SCOPE_KEY, "")).account_id
        elif not isinstance(account_id, str) or not self._known(account_id):
            raise ApiError(400, f"The account ID '{account_id}' is not valid.")
        asked = body.get("globalPermissions") or []
        if not isinstance(asked, list):
            raise ApiError(400, "'globalPermissions' must be a list of strings.")
        # Jira ignores nulls in the list.
        keys = [key for key in dict.fromkeys(asked) if key is not None]
        unrecognized = {str(key): "Unrecognized permission" for key in keys
                        if key not in GLOBAL_PERMISSIONS}  # fmt: skip
        if unrecognized:
            raise ApiError(400, "Unrecognized permission", field_errors=unrecognized)
        held = self.directory.global_permissions(account_id)
        granted = [key for key in keys if key in held]
        return JSONResponse({"globalPermissions": granted, "projectPermissions": []})

    def _known(self, account_id: str) -> bool:
        return (
            self.directory.person(account_id) is not None or self.data.user(account_id) is not None
        )

    # -- Confluence -----------------------------------------------------------------------------

    async def member_of(self, request: Request) -> Response:
        params = request.query_params
        account_id = params.get("accountId")
        if not account_id:
            raise ApiError(400, "accountId is required.")
        start = _whole(params.get("start"), "start", 0, minimum=0)
        limit = min(_whole(params.get("limit"), "limit", MEMBEROF_MAX_LIMIT, minimum=1),
                    MEMBEROF_MAX_LIMIT)  # fmt: skip
        person = self.directory.person(account_id)
        if person is None and self.data.user(account_id) is None:
            raise ApiError(404, f"No user found with accountId: {account_id}")
        groups = person.groups if person is not None else ()
        page = groups[start : start + limit]
        base = str(request.base_url).rstrip("/") + "/wiki"
        account = quote(account_id, safe="")
        links: dict[str, str] = {
            "base": base,
            "context": "/wiki",
            "self": f"{base}/rest/api/user/memberof?accountId={account}",
        }
        if start + limit < len(groups):
            query = urlencode({"accountId": account_id, "start": start + limit, "limit": limit})
            links["next"] = f"/rest/api/user/memberof?{query}"
        results = [
            {
                "type": "group",
                "name": name,
                "id": self.directory.group_ids[name],
                "_links": {
                    "self": f"{base}/rest/api/group/by-id?id={self.directory.group_ids[name]}"
                },
            }
            for name in page
        ]
        return JSONResponse(
            {"results": results, "start": start, "limit": limit, "size": len(results),
             "_links": links}
        )  # fmt: skip


def _whole(raw: str | None, name: str, default: int, *, minimum: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.lstrip("-").isdigit() or int(raw) < minimum:
        raise ApiError(400, f"'{name}' must be a whole number of at least {minimum}, got '{raw}'.")
    return int(raw)
