"""Roles asked of Atlassian (atlassian_cloud/roles.py): the sandbox organization's seeded people get
exactly their documented roles, through the Admin API, Jira's permission check and Confluence's
group memberships."""

import asyncio
import random

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from atlassian_cloud.admin import OrganizationDirectory
from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.errors import SiteUnavailable
from atlassian_cloud.jira import JiraClient
from atlassian_cloud.roles import ResolvedRoles, resolve_atlassian_roles
from policy.products import Product
from policy.roles import Roles
from sandbox import SANDBOX_TOKEN, SiteData, create_app
from sandbox.directory import CONFLUENCE_ADMINS, SANDBOX_ORG_ID, SEEDED_PEOPLE

pytestmark = pytest.mark.anyio

CHECK = "/rest/api/3/permissions/check"
MEMBEROF = "/wiki/rest/api/user/memberof"
PEOPLE = {person.email.split("@")[0]: person for person in SEEDED_PEOPLE}
BOTH = frozenset({Product.JIRA, Product.CONFLUENCE})
EXPECTED = {
    "alice": Roles(org_admin=True, app_admin_of=BOTH),
    "bob": Roles(org_admin=True, app_admin_of=BOTH),
    "carol": Roles(org_admin=False, app_admin_of=frozenset({Product.JIRA})),
    "dave": Roles(org_admin=True, app_admin_of=frozenset()),
    "erin": Roles(org_admin=False, app_admin_of=frozenset({Product.CONFLUENCE})),
}
NO_GROUPS = {"results": [], "start": 0, "limit": 200, "size": 0, "_links": {}}
NO_PERMISSIONS = {"globalPermissions": [], "projectPermissions": []}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def organization():
    return SiteData.generate(5, projects=1, issues=5, spaces=1, pages=3)


@pytest.fixture
def sandbox(organization):
    return create_app(organization)


@pytest.fixture
async def clients(fake_time):
    """`clients(app, cls, site=...)`: a client of `cls` whose requests reach `app` in-process,
    signed in with the sandbox's token, on virtual time."""
    made = []

    def make(app, cls, site="acme"):
        options = {
            "transport": httpx.ASGITransport(app=app),
            "clock": fake_time.clock,
            "sleep": fake_time.sleep,
            "rng": random.Random(7),
        }
        if cls is OrganizationDirectory:
            client = cls(SANDBOX_ORG_ID, "https://api.atlassian.com", SANDBOX_TOKEN, **options)
        else:
            base = f"https://{site}.atlassian.net"
            client = cls(site, base, "svc@example.com", SANDBOX_TOKEN, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


async def _resolve(email, directory, jira_sites, confluence_sites):
    return await resolve_atlassian_roles(
        email,
        directory=directory,
        jira_sites=jira_sites,
        confluence_sites=confluence_sites,
        confluence_admin_groups=[CONFLUENCE_ADMINS],
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_every_seeded_person_gets_exactly_their_roles(sandbox, clients, name):
    person = PEOPLE[name]
    resolved = await _resolve(
        person.email,
        clients(sandbox, OrganizationDirectory),
        [clients(sandbox, JiraClient, "acme-jira")],
        [clients(sandbox, ConfluenceClient, "acme-wiki")],
    )
    assert resolved == ResolvedRoles(person.account_id, EXPECTED[name])


async def test_an_email_in_another_case_resolves_to_the_same_person(sandbox, clients):
    resolved = await _resolve(
        "ERIN@Example.com",
        clients(sandbox, OrganizationDirectory),
        [clients(sandbox, JiraClient)],
        [clients(sandbox, ConfluenceClient)],
    )
    assert resolved == ResolvedRoles(PEOPLE["erin"].account_id, EXPECTED["erin"])


async def test_a_generated_person_of_the_site_holds_no_role(sandbox, clients, organization):
    user = next(u for u in organization.users if u.email and u.active)
    resolved = await _resolve(
        user.email,
        clients(sandbox, OrganizationDirectory),
        [clients(sandbox, JiraClient)],
        [clients(sandbox, ConfluenceClient)],
    )
    assert resolved == ResolvedRoles(user.account_id, Roles())


async def test_an_unknown_email_has_no_account_and_no_roles_and_asks_no_site(sandbox, clients):
    resolved = await _resolve(
        "mallory@example.com",
        clients(sandbox, OrganizationDirectory),
        [clients(sandbox, JiraClient)],
        [clients(sandbox, ConfluenceClient)],
    )
    assert resolved == ResolvedRoles(None, Roles())
    assert sandbox.state.stats.requests == 1  # the directory only


async def test_an_inactive_account_holds_no_role(sandbox, clients):
    resolved = await _resolve(
        "former.employee@example.com",
        clients(sandbox, OrganizationDirectory),
        [clients(sandbox, JiraClient)],
        [clients(sandbox, ConfluenceClient)],
    )
    assert resolved.account_id is not None
    assert resolved.roles == Roles()


async def test_without_configured_sites_only_the_org_admin_role_is_known(sandbox, clients):
    resolved = await _resolve("alice@example.com", clients(sandbox, OrganizationDirectory), [], [])
    assert resolved.roles == Roles(org_admin=True)


async def test_an_admin_of_the_product_on_any_configured_site_is_its_admin(sandbox, clients, site):
    # `site` answers that nobody is an admin there; the sandbox site says carol and erin are.
    site.script(CHECK, (200, {}, NO_PERMISSIONS))
    site.script(MEMBEROF, (200, {}, NO_GROUPS))
    directory = clients(sandbox, OrganizationDirectory)
    for name in ("carol", "erin"):
        resolved = await _resolve(
            PEOPLE[name].email,
            directory,
            [clients(site, JiraClient, "other-jira"), clients(sandbox, JiraClient, "acme-jira")],
            [clients(site, ConfluenceClient, "other"), clients(sandbox, ConfluenceClient, "acme")],
        )
        assert resolved.roles == EXPECTED[name]
    assert len(site.requests_to(CHECK)) == len(site.requests_to(MEMBEROF)) == 2


async def test_a_jira_check_hitting_a_persisting_500_raises_an_error_naming_the_site(
    sandbox, clients
):
    sandbox.state.faults.fail(500, paths=[CHECK], times=None)
    with pytest.raises(SiteUnavailable) as failed:
        await _resolve(
            "alice@example.com",
            clients(sandbox, OrganizationDirectory),
            [clients(sandbox, JiraClient, "acme-jira")],
            [clients(sandbox, ConfluenceClient, "acme-wiki")],
        )
    message = str(failed.value)
    assert message.startswith("acme-jira: POST /rest/api/3/permissions/check")
    assert "HTTP 500" in message
    assert SANDBOX_TOKEN not in message
    assert sandbox.state.stats.faults_injected > 1  # retried before giving up


async def test_the_sites_are_asked_at_the_same_time(sandbox, clients):
    """Two sites that each hold their answer until the other has been asked: asked one after the
    other, the first would give up waiting (after many turns of the event loop, not a timer)."""
    state = {"in_flight": 0, "most": 0}

    async def hold(request: Request):
        state["in_flight"] += 1
        state["most"] = max(state["most"], state["in_flight"])
        for _ in range(1000):
            if state["in_flight"] == 2:
                break
            await asyncio.sleep(0)
        body = NO_PERMISSIONS if request.url.path == CHECK else NO_GROUPS
        response = JSONResponse(body)
        state["in_flight"] -= 1
        return response

    async def app(scope, receive, send):
        response = await hold(Request(scope, receive))
        await response(scope, receive, send)

    resolved = await _resolve(
        "alice@example.com",
        clients(sandbox, OrganizationDirectory),
        [clients(app, JiraClient, "slow-jira")],
        [clients(app, ConfluenceClient, "slow-wiki")],
    )
    assert resolved.roles == Roles(org_admin=True)
    assert state["most"] == 2


async def test_the_jira_check_is_the_request_atlassian_describes(site, clients, jira_api):
    def answer(seen):
        jira_api.check(seen.method, seen.path, seen.query, seen.body)
        body = {"globalPermissions": ["ADMINISTER"], "projectPermissions": []}
        jira_api.check_response(seen.method, seen.path, 200, body)
        return 200, {}, body

    site.script(CHECK, answer)
    assert await clients(site, JiraClient).is_administrator("acct-1")
    (seen,) = site.seen
    assert seen.body == {"accountId": "acct-1", "globalPermissions": ["ADMINISTER"]}


async def test_an_answer_without_administer_is_not_an_admin(site, clients):
    site.script(CHECK, (200, {}, {"globalPermissions": ["USER_PICKER"], "projectPermissions": []}))
    assert not await clients(site, JiraClient).is_administrator("acct-1")


async def test_confluence_groups_are_read_from_every_page(sandbox, clients):
    wiki = clients(sandbox, ConfluenceClient)
    names = await wiki.group_names(PEOPLE["alice"].account_id, page_size=1)
    assert names == ["confluence-users", "engineering", CONFLUENCE_ADMINS]
    assert sandbox.state.stats.requests == 3
