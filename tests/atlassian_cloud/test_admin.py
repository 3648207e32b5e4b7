"""The Admin API client (atlassian_cloud/admin.py): finding an organization's person by email,
against the sandbox organization through httpx.ASGITransport, and against scripted answers for
what the sandbox never does."""

import random

import httpx
import pytest

from atlassian_cloud.admin import ORG_ADMIN_ROLE, OrganizationDirectory, OrgUser
from atlassian_cloud.errors import AuthenticationFailed, NotFound, UnexpectedResponse
from sandbox import SANDBOX_TOKEN, SiteData, create_app
from sandbox.directory import SANDBOX_ORG_ID, SEEDED_PEOPLE, SandboxDirectory

pytestmark = pytest.mark.anyio

API_URL = "https://api.atlassian.com"
SEARCH = f"/admin/v2/orgs/{SANDBOX_ORG_ID}/directories/-/users/search"
PEOPLE = {person.email.split("@")[0]: person for person in SEEDED_PEOPLE}
WRONG_KEY = "ATCTT3xFfGN0-wrong-admin-key"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def organization():
    return SiteData.generate(3, projects=1, issues=5, spaces=1, pages=3)


@pytest.fixture
def sandbox(organization):
    return create_app(organization)


@pytest.fixture
def directory_on(fake_time):
    """`directory_on(app, key=..., **options)`: a directory client whose requests reach `app`
    in-process, with virtual time."""

    def make(app, key=SANDBOX_TOKEN, org_id=SANDBOX_ORG_ID, **options):
        return OrganizationDirectory(
            org_id,
            API_URL,
            key,
            transport=httpx.ASGITransport(app=app),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            rng=random.Random(7),
            **options,
        )

    return make


@pytest.mark.parametrize(("name", "org_admin"), [("alice", True), ("carol", False)])
async def test_a_person_is_found_by_email_with_whether_they_are_an_org_admin(
    sandbox, directory_on, name, org_admin
):
    person = PEOPLE[name]
    async with directory_on(sandbox) as directory:
        found = await directory.find_by_email(person.email)
    assert found == OrgUser(person.account_id, person.email, org_admin=org_admin, active=True)


async def test_emails_compare_case_insensitively(sandbox, directory_on):
    async with directory_on(sandbox) as directory:
        found = await directory.find_by_email("  Dave@EXAMPLE.com ")
    assert found is not None
    assert found.account_id == PEOPLE["dave"].account_id
    assert found.org_admin


async def test_an_unknown_email_finds_nobody(sandbox, directory_on):
    async with directory_on(sandbox) as directory:
        assert await directory.find_by_email("mallory@example.com") is None


async def test_a_blank_email_finds_nobody_without_asking(sandbox, directory_on):
    async with directory_on(sandbox) as directory:
        assert await directory.find_by_email("   ") is None
    assert sandbox.state.stats.requests == 0


async def test_an_inactive_account_is_found_and_reported_inactive(sandbox, directory_on):
    async with directory_on(sandbox) as directory:
        found = await directory.find_by_email("former.employee@example.com")
    assert found is not None
    assert not found.active
    assert not found.org_admin


async def test_the_search_reads_every_page_by_cursor(sandbox, directory_on, organization):
    everyone = SandboxDirectory(organization).people
    async with directory_on(sandbox, page_size=2) as directory:
        found = [user async for user in directory.search()]
    assert [user.account_id for user in found] == [person.account_id for person in everyone]
    assert sandbox.state.stats.requests == -(-len(everyone) // 2)
    assert {user.email for user in found if user.org_admin} == {
        "alice@example.com",
        "bob@example.com",
        "dave@example.com",
    }


async def test_a_search_for_several_emails_pages_through_them(sandbox, directory_on):
    emails = ["alice@example.com", "erin@example.com", "bob@example.com"]
    async with directory_on(sandbox, page_size=1) as directory:
        found = [user.email async for user in directory.search(emails=emails)]
    assert found == ["alice@example.com", "bob@example.com", "erin@example.com"]
    assert sandbox.state.stats.requests == 3


async def test_a_wrong_key_is_refused_with_a_message_that_does_not_contain_it(
    sandbox, directory_on
):
    async with directory_on(sandbox, key=WRONG_KEY) as directory:
        with pytest.raises(AuthenticationFailed) as refused:
            await directory.find_by_email("alice@example.com")
    message = str(refused.value)
    assert refused.value.status == 401
    assert "Atlassian Admin API" in message
    assert "API key" in message
    assert WRONG_KEY not in message
    assert WRONG_KEY not in repr(refused.value)
    assert sandbox.state.stats.unauthorized == 1  # a 401 is not retried


async def test_a_429_is_waited_out_for_as_long_as_retry_after_says(
    sandbox, directory_on, fake_time
):
    sandbox.state.faults.fail(429, paths=[SEARCH], times=1, retry_after=3)
    async with directory_on(sandbox) as directory:
        found = await directory.find_by_email("erin@example.com")
    assert found is not None
    assert found.account_id == PEOPLE["erin"].account_id
    assert fake_time.sleeps == [3.0]
    assert sandbox.state.stats.rate_limited == 1


async def test_a_server_error_is_retried(sandbox, directory_on):
    sandbox.state.faults.fail(500, paths=[SEARCH], times=2)
    async with directory_on(sandbox) as directory:
        found = await directory.find_by_email("bob@example.com")
    assert found is not None
    assert sandbox.state.stats.faults_injected == 2


async def test_another_organization_is_not_found(sandbox, directory_on):
    async with directory_on(sandbox, org_id="someone-elses-org") as directory:
        with pytest.raises(NotFound, match=r"someone-elses-org.*found nothing") as missing:
            await directory.find_by_email("alice@example.com")
    assert missing.value.detail.startswith("Organization not found.")


def test_the_key_never_shows_in_the_directorys_repr():
    directory = OrganizationDirectory("org-1", API_URL, WRONG_KEY)
    assert WRONG_KEY not in repr(directory)
    assert "org-1" in repr(directory)


def test_a_page_size_beyond_the_admin_apis_limit_is_refused():
    with pytest.raises(ValueError, match="page_size"):
        OrganizationDirectory("org-1", API_URL, "key", page_size=101)


# --- the request as Atlassian documents it, and answers the sandbox never gives ---------------


async def test_the_search_is_the_documented_request_with_the_key_as_a_bearer_token(
    site, directory_on
):
    site.script(
        "/admin/v2/orgs/org/1/directories/-/users/search",  # as the server decodes it
        (200, {}, {"data": [], "links": {"self": "c0"}}),
    )
    async with directory_on(site, key="admin-key-123", org_id="org/1") as directory:
        assert await directory.find_by_email("Ann@Example.com") is None
    (seen,) = site.seen
    assert seen.method == "POST"
    assert seen.raw_path.decode() == "/admin/v2/orgs/org%2F1/directories/-/users/search"
    assert seen.host == "api.atlassian.com"
    assert seen.headers["authorization"] == "Bearer admin-key-123"
    assert seen.body == {
        "emails": ["Ann@Example.com", "ann@example.com"],
        "expand": ["platformRoles"],
        "limit": 100,
    }


async def test_a_next_link_given_as_a_url_continues_with_its_cursor(site, directory_on):
    path = "/admin/v2/orgs/o/directories/-/users/search"
    user = {"accountId": "a-2", "email": "x@example.com", "platformRoles": [ORG_ADMIN_ROLE]}
    site.script(
        path,
        (200, {}, {"data": [], "links": {"next": f"{API_URL}{path}?cursor=c2&limit=100"}}),
        (200, {}, {"data": [user], "links": {"next": None}}),
    )
    async with directory_on(site, org_id="o") as directory:
        found = await directory.find_by_email("x@example.com")
    assert found == OrgUser("a-2", "x@example.com", org_admin=True)
    assert [seen.body.get("cursor") for seen in site.seen] == [None, "c2"]


async def test_a_repeated_cursor_stops_the_paging_with_an_error(site, directory_on):
    path = "/admin/v2/orgs/o/directories/-/users/search"
    site.script(path, (200, {}, {"data": [], "links": {"next": "same"}}))
    async with directory_on(site, org_id="o") as directory:
        with pytest.raises(UnexpectedResponse, match="repeated a page cursor"):
            await directory.find_by_email("x@example.com")
    assert len(site.seen) == 2


async def test_a_user_without_platform_roles_is_not_an_org_admin(site, directory_on):
    path = "/admin/v2/orgs/o/directories/-/users/search"
    answer = {"data": [{"accountId": "a-1", "email": "x@example.com", "accountStatus": "closed"}]}
    site.script(path, (200, {}, answer))
    async with directory_on(site, org_id="o") as directory:
        found = await directory.find_by_email("x@example.com")
    assert found == OrgUser("a-1", "x@example.com", org_admin=False, active=False)
