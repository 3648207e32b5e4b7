"""Atlassian's Organizations REST API (the "Admin API"): find a person of the organization by
email, with whether they are an organization admin.

The call, as Atlassian documents it ("Search for users in an organization", Organizations REST
API, group Users: developer.atlassian.com/cloud/admin/organization/rest/api-group-users/, anchor
`#api-v2-orgs-orgid-directories-directoryid-users-search-post`; its request and answer models as
generated from Atlassian's description in the jira.js library, `src/admin/api/users.ts`
`searchDirectoryUsers` and `src/admin/models/multiDirectoryUser*.ts`):

    POST {admin_api_url}/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search
    Authorization: Bearer <organization API key>
    {"emails": [...], "expand": ["platformRoles"], "limit": 100, "cursor": "..."}
    -> {"data": [{"accountId", "email", "accountStatus", "platformRoles": [...], ...}],
        "links": {"self", "prev", "next"}}

- `emails` filters by full address, exact match only (`searchTerm`, a free-text match on names
  and emails, is the other way to search and may not be combined with it);
- `expand: ["platformRoles"]` adds each user's organization-level admin roles, among them
  `atlassian/org-admin` (organization admin), `atlassian/site-admin`, `atlassian/user-access-admin`;
- `directoryId` `-` searches every directory the API key may manage;
- paging is by cursor: `links.next` is the cursor of the next page, absent or null on the last;
- a refused key answers 401, too many requests 429 with `Retry-After` (`SiteClient` waits and
  retries it, as it does 5xx: a search changes nothing, so it is safe to send again).

Why this call: it is the one documented request that both finds a person by exact email and says
whether they are an org admin. The older listing `GET /admin/v2/orgs/{orgId}/directories/
{directoryId}/users` carries the same roles but cannot filter by email (it would page through
the whole organization) and Atlassian deprecates it (it stops working after 30 June 2027, pointing
to this search); `POST /admin/v1/orgs/{orgId}/users/search` matches email user names and domains
rather than a full address.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from atlassian_cloud.errors import UnexpectedResponse
from atlassian_cloud.records import JSONObject
from atlassian_cloud.transport import SiteClient

ALL_DIRECTORIES = "-"  # every directory the API key may manage
ORG_ADMIN_ROLE = "atlassian/org-admin"
SEARCH_PAGE = 100  # users a page; the Admin API's user listings allow at most 100
ADMIN_API_SITE = "Atlassian Admin API"  # how errors name the Admin API


@dataclass(frozen=True)
class OrgUser:
    """A person of the organization as the Admin API shows them."""

    account_id: str
    email: str
    org_admin: bool  # holds the platform role `atlassian/org-admin`
    active: bool = True  # `accountStatus` is "active" (not "inactive" or "closed")


def _cursor(link: str) -> str:
    """`links.next` is the next page's cursor; should it come as a URL, its `cursor` parameter."""
    if "?" in link:
        values = parse_qs(urlsplit(link).query).get("cursor")
        if values:
            return values[0]
    return link


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _user(item: JSONObject) -> OrgUser | None:
    account_id = item.get("accountId")
    if not isinstance(account_id, str) or not account_id:
        return None
    email = item.get("email")
    roles = item.get("platformRoles")
    status = item.get("accountStatus")
    return OrgUser(
        account_id=account_id,
        email=email if isinstance(email, str) else "",
        org_admin=isinstance(roles, list) and ORG_ADMIN_ROLE in roles,
        active=status in (None, "active"),
    )


class OrganizationDirectory(SiteClient):
    """The people of one Atlassian organization, read through the Admin API.

    A `SiteClient` on the Admin API's origin (`api_url`, https://api.atlassian.com for Atlassian
    Cloud) that sends the organization's API key as a Bearer token, so retries, rate limiting,
    origin checks and secret-free error messages are the transport's. `client_options` go to
    `SiteClient` (transport, retry and rate policies, clocks). Use it as an async context
    manager, or call `aclose()`.
    """

    def __init__(
        self,
        org_id: str,
        api_url: str,
        api_key: str,
        *,
        directory_id: str = ALL_DIRECTORIES,
        page_size: int = SEARCH_PAGE,
        **client_options: Any,
    ) -> None:
        if not org_id:
            raise ValueError("an organization id is needed")
        if not 1 <= page_size <= SEARCH_PAGE:
            raise ValueError(f"page_size must be from 1 to {SEARCH_PAGE}, got {page_size}")
        super().__init__(ADMIN_API_SITE, api_url, None, api_key, **client_options)
        self.org_id = org_id
        self.directory_id = directory_id
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"OrganizationDirectory(org_id={self.org_id!r}, origin={self.origin!r})"

    async def __aenter__(self) -> OrganizationDirectory:
        return self

    @property
    def search_path(self) -> str:
        org, directory = quote(self.org_id, safe=""), quote(self.directory_id, safe="")
        return f"/admin/v2/orgs/{org}/directories/{directory}/users/search"

    async def search(self, *, emails: Sequence[str] = ()) -> AsyncGenerator[OrgUser, None]:
        """The organization's users with their platform roles, every page read; with `emails`,
        only those whose address is one of them (the Admin API matches whole addresses)."""
        path = self.search_path
        body: dict[str, Any] = {"expand": ["platformRoles"], "limit": self.page_size}
        if emails:
            body["emails"] = list(dict.fromkeys(emails))
        seen: set[str] = set()
        while True:
            page = self._object(await self._search_page(path, body), "POST", path)
            for item in self._list(page.get("data"), "POST", path):
                user = _user(item)
                if user is not None:
                    yield user
            links = page.get("links")
            following = links.get("next") if isinstance(links, dict) else None
            if not isinstance(following, str) or not following:
                return
            cursor = _cursor(following)
            if cursor in seen:
                raise UnexpectedResponse(
                    self.site, "repeated a page cursor; paging stopped", method="POST",
                    path=path,
                )  # fmt: skip
            seen.add(cursor)
            body["cursor"] = cursor

    async def _search_page(self, path: str, body: JSONObject) -> Any:
        """One page of the search, parsed as it is. `SiteClient`'s readers drop every e-mail
        address from an answer (backups name people by account id only); finding a person by
        email must see the address, to check that the user found is the one asked for."""
        response = await self._fetch("POST", path, json_body=body, idempotent=True)
        try:
            return json.loads(response.content, parse_constant=_not_json)
        except ValueError:
            raise UnexpectedResponse(
                self.site, "answered with something that is not JSON", method="POST", path=path,
                status=response.status_code,
            ) from None  # fmt: skip

    async def find_by_email(self, email: str) -> OrgUser | None:
        """The organization's user with this email, compared case-insensitively; None when the
        organization has nobody with it. The address is asked for as given and in lower case,
        since the Admin API's exact match may not ignore case."""
        wanted = email.strip()
        if not wanted:
            return None
        async with aclosing(self.search(emails=[wanted, wanted.lower()])) as users:
            async for user in users:
                if user.email.casefold() == wanted.casefold():
                    return user
        return None
