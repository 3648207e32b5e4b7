"""Roles asked of Atlassian (`roles.source: atlassian`): who a person is, and what they administer.

- Organization admin: the Admin API says so (platform role `atlassian/org-admin`, see
  `atlassian_cloud.admin`).
- Jira admin: Jira grants the account the global permission `ADMINISTER` ("Administer Jira",
  `POST /rest/api/3/permissions/check`) on **at least one** configured Jira site.
- Confluence admin: the account is a member of one of `confluence_admin_groups` (compared exactly,
  as Confluence names groups) on **at least one** configured Confluence site (v1
  `GET /wiki/rest/api/user/memberof`).

"Any configured site of the product" is deliberate: the rules (docs/rules.md) speak of an admin
of the *product*, and every site configured in the bot belongs to the one organization whose
org admins the Admin API names, so an admin of one of its Jira (or Confluence) sites is an admin
of the product there. A deployment that wants per-site admins configures one bot per site.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from atlassian_cloud.admin import OrgUser
from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.jira import JiraClient
from policy.products import Product
from policy.roles import Roles


class Directory(Protocol):
    """Finds an organization's person by email (`atlassian_cloud.admin.OrganizationDirectory`)."""

    async def find_by_email(self, email: str) -> OrgUser | None: ...


@dataclass(frozen=True)
class ResolvedRoles:
    """A person's Atlassian account (None: the organization has nobody with that email) and the
    roles it holds now."""

    account_id: str | None
    roles: Roles


async def _in_any_group(site: ConfluenceClient, account_id: str, groups: frozenset[str]) -> bool:
    return not groups.isdisjoint(await site.group_names(account_id))


async def resolve_atlassian_roles(
    email: str,
    *,
    directory: Directory,
    jira_sites: Sequence[JiraClient],
    confluence_sites: Sequence[ConfluenceClient],
    confluence_admin_groups: Collection[str],
) -> ResolvedRoles:
    """The roles of the person with this email (compared case-insensitively), asked of Atlassian.

    The directory is asked first (the account id is needed for the rest); then every configured
    site is asked at once. An email the organization does not know, or an account that is not
    active, holds no role. Any Atlassian failure propagates as its `atlassian_cloud.errors`
    exception, whose message names the site (never a token): roles that could not be learnt are
    not guessed.
    When several sites fail, the error of the first site in the order given is raised, once every
    check has finished (none is left running).
    """
    user = await directory.find_by_email(email)
    if user is None:
        return ResolvedRoles(None, Roles())
    if not user.active:
        return ResolvedRoles(user.account_id, Roles())
    groups = frozenset(confluence_admin_groups)
    checks: list[Awaitable[bool]] = [site.is_administrator(user.account_id) for site in jira_sites]
    checks += [_in_any_group(site, user.account_id, groups) for site in confluence_sites]
    answers = await asyncio.gather(*checks, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    jira_admin = any(answers[: len(jira_sites)])
    confluence_admin = any(answers[len(jira_sites) :])
    products = {Product.JIRA} if jira_admin else set()
    if confluence_admin:
        products.add(Product.CONFLUENCE)
    return ResolvedRoles(user.account_id, Roles(user.org_admin, frozenset(products)))
