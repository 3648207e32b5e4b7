"""Who is asking: Slack user -> email (`users.info`) -> roles, cached for at most 60 s.

People are compared by the email their roles resolve to, never by Slack id alone (docs/rules.md), so
a second Slack account of the same person is the same person. A user whose email Slack does not
give (the app lacks `users:read.email`, or a bot) gets a message that says what to grant.
"""

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from atlassian_cloud.admin import OrganizationDirectory
from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.errors import AtlassianError
from atlassian_cloud.jira import JiraClient
from atlassian_cloud.roles import resolve_atlassian_roles
from commands.handlers import Actor
from jobs.context import JobContext, site_client
from policy.products import Product
from policy.roles import Roles
from settings.schema import AtlassianRoles, ConfigRoles

CACHE_SECONDS = 60.0

RoleSource = Callable[[str], Roles]  # email -> roles held now


class UnknownIdentity(Exception):
    """The person could not be resolved to an email; the message says why and what to do."""


def config_roles(settings: ConfigRoles) -> RoleSource:
    """`roles.source: config`: the lists in the config file (emails compared in lower case)."""
    org = {email.lower() for email in settings.org_admins}
    apps = {
        Product.JIRA: {email.lower() for email in settings.app_admins.jira},
        Product.CONFLUENCE: {email.lower() for email in settings.app_admins.confluence},
    }

    def roles_of(email: str) -> Roles:
        key = email.lower()
        return Roles(key in org, frozenset(p for p, emails in apps.items() if key in emails))

    return roles_of


def atlassian_roles(context: JobContext, settings: AtlassianRoles) -> RoleSource:
    """`roles.source: atlassian`: org admin from the Organizations API, Jira admin from the
    ADMINISTER global permission, Confluence admin from membership of the configured groups,
    on the sites this bot is configured with (`atlassian_cloud.roles`). The Admin API key is read
    from its variable now, so a missing one stops start-up with its name."""
    api_key = context.environment.secret(settings.admin_api_key_env).reveal()

    async def resolve(email: str) -> Roles:
        async with AsyncExitStack() as stack:
            directory = await stack.enter_async_context(
                OrganizationDirectory(
                    settings.org_id,
                    settings.admin_api_url,
                    api_key,
                    transport=context.http_transport,
                )
            )
            clients = [
                await stack.enter_async_context(site_client(context, name))
                for name in sorted(context.config.sites)
            ]
            resolved = await resolve_atlassian_roles(
                email,
                directory=directory,
                jira_sites=[c for c in clients if isinstance(c, JiraClient)],
                confluence_sites=[c for c in clients if isinstance(c, ConfluenceClient)],
                confluence_admin_groups=settings.confluence_admin_groups,
            )
            return resolved.roles

    def roles_of(email: str) -> Roles:
        try:
            return asyncio.run(resolve(email))
        except AtlassianError as error:
            raise UnknownIdentity(
                f"I could not check your Atlassian roles: {error}. Try again in a minute."
            ) from None

    return roles_of


@dataclass(frozen=True)
class _Entry:
    actor: Actor
    until: float


class IdentityResolver:
    """Resolves and caches; one per app. Thread-safe (Bolt's listeners run on a pool)."""

    def __init__(
        self,
        client: WebClient,
        roles_of: RoleSource,
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._roles_of = roles_of
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop every cached identity, so a role change counts at the next request."""
        with self._lock:
            self._cache.clear()

    def actor(self, slack_user: str) -> Actor:
        now = self._clock()
        with self._lock:
            entry = self._cache.get(slack_user)
        if entry is not None and entry.until > now:
            return entry.actor
        email = self._email(slack_user)
        actor = Actor(slack_user, email, self._roles_of(email))
        with self._lock:
            self._cache[slack_user] = _Entry(actor, now + self._ttl)
        return actor

    def _email(self, slack_user: str) -> str:
        try:
            answer = self._client.users_info(user=slack_user)
        except SlackApiError as error:
            reason = error.response.get("error", "an error") if error.response else "an error"
            if reason == "missing_scope":
                raise UnknownIdentity(_MISSING_SCOPE) from None
            raise UnknownIdentity(
                f"Slack answered `users.info` with {reason}, so I cannot tell who you are; "
                "try again in a minute."
            ) from None
        user = answer.get("user") or {}
        email = (user.get("profile") or {}).get("email")
        if not email:
            if user.get("is_bot"):
                raise UnknownIdentity("Bots cannot back up or restore sites.")
            raise UnknownIdentity(_MISSING_SCOPE)
        return str(email).lower()


_MISSING_SCOPE = (
    "I cannot see your email address, which is how I check your Atlassian roles. An admin of "
    "this Slack app must grant it the `users:read.email` scope (OAuth & Permissions) and "
    "reinstall it."
)
