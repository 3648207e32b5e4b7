"""The sandbox organization: the Admin API's user search, Jira's permission check and Confluence's
group memberships, answered from the seeded people (sandbox/directory.py)."""

import pytest

from sandbox import SANDBOX_TOKEN
from sandbox.directory import (
    CONFLUENCE_ADMINS,
    SANDBOX_DIRECTORY_ID,
    SANDBOX_ORG_ID,
    SEEDED_PEOPLE,
    SandboxDirectory,
)

pytestmark = pytest.mark.anyio

SEARCH = f"/admin/v2/orgs/{SANDBOX_ORG_ID}/directories/-/users/search"
CHECK = "/rest/api/3/permissions/check"
MEMBEROF = "/wiki/rest/api/user/memberof"
BEARER = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
PEOPLE = {person.email.split("@")[0]: person for person in SEEDED_PEOPLE}


@pytest.fixture
async def admin(app, make_client):
    """A client of the Admin API: the sandbox's API key as a Bearer token, no Basic auth."""
    async with make_client(app, auth=None) as http:
        http.headers.update(BEARER)
        yield http


def _admin_error(response, status):
    """The Admin API's error shape: `{"errors": [{status, code, title, ...}]}`."""
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["status"] == str(status)
    assert error["code"] and error["title"]
    return error


def test_the_seeded_people_have_the_documented_roles_and_stable_account_ids():
    roles = {
        name: (person.org_admin, person.jira_admin, CONFLUENCE_ADMINS in person.groups)
        for name, person in PEOPLE.items()
    }
    assert roles == {
        "alice": (True, True, True),
        "bob": (True, True, True),
        "carol": (False, True, False),
        "dave": (True, False, False),
        "erin": (False, False, True),
    }
    assert PEOPLE["alice"].account_id == "712020:a11ce000-0000-4000-8000-000000000001"
    assert len({person.account_id for person in SEEDED_PEOPLE}) == len(SEEDED_PEOPLE)


def test_the_generated_people_are_in_the_organization_without_admin_roles(site):
    directory = SandboxDirectory(site)
    generated = directory.people[len(SEEDED_PEOPLE) :]
    emailed = [user for user in site.users if user.email]
    assert [person.account_id for person in generated] == [user.account_id for user in emailed]
    assert not any(person.org_admin or person.jira_admin for person in generated)
    assert all(CONFLUENCE_ADMINS not in person.groups for person in generated)


# --- Admin API -------------------------------------------------------------------------------


async def test_the_user_search_finds_a_person_by_email_ignoring_case(admin):
    body = {"emails": ["Alice@Example.COM"], "expand": ["platformRoles"]}
    response = await admin.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    (user,) = response.json()["data"]
    assert user["accountId"] == PEOPLE["alice"].account_id
    assert user["email"] == "alice@example.com"
    assert user["accountStatus"] == "active"
    assert user["platformRoles"] == ["atlassian/org-admin"]
    assert "next" not in response.json()["links"]


async def test_platform_roles_come_only_when_expanded(admin):
    response = await admin.post(SEARCH, json={"emails": ["alice@example.com"]})
    (user,) = response.json()["data"]
    assert "platformRoles" not in user


async def test_a_person_without_org_admin_has_no_platform_role(admin):
    body = {"emails": ["carol@example.com"], "expand": ["platformRoles"]}
    (user,) = (await admin.post(SEARCH, json=body)).json()["data"]
    assert user["platformRoles"] == []


async def test_an_unknown_email_finds_nobody(admin):
    response = await admin.post(SEARCH, json={"emails": ["nobody@example.com"]})
    assert response.status_code == 200
    assert response.json()["data"] == []


async def test_the_user_search_pages_with_a_cursor_until_no_next(admin, site):
    seen, cursor, pages = [], None, 0
    while True:
        body = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await admin.post(SEARCH, json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) <= 2
        seen += [user["accountId"] for user in page["data"]]
        pages += 1
        cursor = page["links"].get("next")
        if cursor is None:
            break
    everyone = [person.account_id for person in SandboxDirectory(site).people]
    assert seen == everyone
    assert pages == -(-len(everyone) // 2)


async def test_the_named_directory_answers_like_every_directory(admin):
    path = SEARCH.replace("/directories/-/", f"/directories/{SANDBOX_DIRECTORY_ID}/")
    response = await admin.post(path, json={"emails": ["bob@example.com"]})
    assert [user["email"] for user in response.json()["data"]] == ["bob@example.com"]


async def test_a_search_term_matches_part_of_a_name_or_email(admin):
    response = await admin.post(SEARCH, json={"searchTerm": "ERIN"})
    assert [user["email"] for user in response.json()["data"]] == ["erin@example.com"]


@pytest.mark.parametrize(
    "body",
    [
        {"emails": ["alice@example.com"], "searchTerm": "alice"},
        {"limit": 0},
        {"limit": 101},
        {"expand": ["everything"]},
        {"cursor": "not-a-cursor"},
        {"emails": "alice@example.com"},
        {"unheardOf": True},
    ],
)
async def test_a_malformed_search_is_refused_in_the_admin_error_shape(admin, body):
    _admin_error(await admin.post(SEARCH, json=body), 400)


async def test_a_cursor_of_another_query_is_refused(admin):
    first = (await admin.post(SEARCH, json={"limit": 1})).json()
    other = {"emails": ["alice@example.com"], "cursor": first["links"]["next"]}
    _admin_error(await admin.post(SEARCH, json=other), 400)


async def test_another_organization_or_directory_is_not_found(admin):
    _admin_error(await admin.post(SEARCH.replace(SANDBOX_ORG_ID, "other-org"), json={}), 404)
    elsewhere = SEARCH.replace("/directories/-/", "/directories/nope/")
    _admin_error(await admin.post(elsewhere, json={}), 404)


async def test_the_admin_api_needs_the_bearer_token_not_basic_auth(app, client, make_client):
    _admin_error(await client.post(SEARCH, json={}), 401)  # Basic sandbox credentials
    async with make_client(app, auth=None) as anonymous:
        anonymous.headers["Authorization"] = "Bearer wrong-token"
        error = _admin_error(await anonymous.post(SEARCH, json={}), 401)
    assert "wrong-token" not in str(error)
    assert app.state.stats.unauthorized == 2


async def test_the_bearer_token_does_not_open_the_product_apis(app, make_client):
    async with make_client(app, auth=None) as http:
        http.headers.update(BEARER)
        response = await http.post(CHECK, json={"globalPermissions": ["ADMINISTER"]})
    assert response.status_code == 401
    assert response.json()["errorMessages"]


async def test_the_admin_api_goes_through_injected_faults(app, admin):
    app.state.faults.fail(500, paths=[SEARCH], times=1)
    _admin_error(await admin.post(SEARCH, json={}), 500)
    assert (await admin.post(SEARCH, json={})).status_code == 200
    assert app.state.stats.faults_injected == 1


async def test_an_admin_api_429_says_when_to_retry(app, admin):
    app.state.faults.fail(429, paths=[SEARCH], times=1, retry_after=3)
    response = await admin.post(SEARCH, json={})
    _admin_error(response, 429)
    assert response.headers["Retry-After"] == "3"
    assert app.state.stats.rate_limited == 1


# --- Jira: POST /rest/api/3/permissions/check ------------------------------------------------


@pytest.mark.parametrize(("name", "granted"), [("carol", True), ("dave", False)])
async def test_the_permission_check_grants_administer_to_jira_admins_only(
    client, jira_openapi, name, granted
):
    body = {"accountId": PEOPLE[name].account_id, "globalPermissions": ["ADMINISTER"]}
    jira_openapi.validate_request(CHECK, "POST", body)
    response = await client.post(CHECK, json=body)
    assert response.status_code == 200, response.text
    jira_openapi.validate_response(CHECK, "POST", 200, response.json())
    assert response.json() == {
        "globalPermissions": ["ADMINISTER"] if granted else [],
        "projectPermissions": [],
    }


async def test_the_permission_check_answers_only_what_was_asked(client, jira_openapi):
    body = {
        "accountId": PEOPLE["alice"].account_id,
        "globalPermissions": ["USER_PICKER", "SYSTEM_ADMIN", "ADMINISTER", "USER_PICKER", None],
    }
    response = await client.post(CHECK, json=body)
    jira_openapi.validate_response(CHECK, "POST", 200, response.json())
    assert response.json()["globalPermissions"] == ["USER_PICKER", "ADMINISTER"]


async def test_the_permission_check_of_a_generated_person_grants_no_administer(client, site):
    person = next(user for user in site.users if user.email and user.active)
    body = {"accountId": person.account_id, "globalPermissions": ["ADMINISTER", "USER_PICKER"]}
    response = await client.post(CHECK, json=body)
    assert response.json()["globalPermissions"] == ["USER_PICKER"]


async def test_without_an_account_id_the_caller_is_checked(client):
    response = await client.post(CHECK, json={"globalPermissions": ["ADMINISTER", "USER_PICKER"]})
    assert response.json()["globalPermissions"] == ["USER_PICKER"]


@pytest.mark.parametrize(
    "body",
    [
        {"accountId": PEOPLE["alice"].account_id, "globalPermissions": ["PERMISSION_123"]},
        {"accountId": "unknown-account", "globalPermissions": ["ADMINISTER"]},
        {"globalPermissions": ["ADMINISTER"], "projectPermissions": [{"permissions": ["X"]}]},
        {"globalPermissions": "ADMINISTER"},
    ],
)
async def test_a_malformed_permission_check_is_an_error_collection(client, jira_openapi, body):
    response = await client.post(CHECK, json=body)
    assert response.status_code == 400
    jira_openapi.validate_response(CHECK, "POST", 400, response.json())


async def test_an_unknown_permission_is_named_under_errors(client):
    body = {"accountId": PEOPLE["alice"].account_id, "globalPermissions": ["PERMISSION_123"]}
    response = await client.post(CHECK, json=body)
    assert response.json()["errors"] == {"PERMISSION_123": "Unrecognized permission"}


# --- Confluence: GET /wiki/rest/api/user/memberof --------------------------------------------


async def test_memberof_lists_a_persons_groups(client):
    params = {"accountId": PEOPLE["erin"].account_id}
    response = await client.get(MEMBEROF, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [group["name"] for group in body["results"]] == [CONFLUENCE_ADMINS, "confluence-users"]
    assert all(group["type"] == "group" and group["id"] for group in body["results"])
    assert (body["start"], body["limit"], body["size"]) == (0, 200, 2)
    assert "next" not in body["_links"]


async def test_memberof_pages_with_start_and_limit_and_links_the_next_page(client):
    account = PEOPLE["alice"].account_id
    names, start = [], 0
    while True:
        response = await client.get(
            MEMBEROF, params={"accountId": account, "start": start, "limit": 1}
        )
        body = response.json()
        names += [group["name"] for group in body["results"]]
        if "next" not in body["_links"]:
            break
        assert f"start={start + 1}" in body["_links"]["next"]
        start += body["size"]
    assert names == ["confluence-users", "engineering", CONFLUENCE_ADMINS]


async def test_memberof_caps_the_page_at_200(client):
    response = await client.get(
        MEMBEROF, params={"accountId": PEOPLE["bob"].account_id, "limit": 1000}
    )
    assert response.json()["limit"] == 200


async def test_the_same_group_has_the_same_id_for_everyone(client):
    ids = set()
    for name in ("alice", "bob", "erin"):
        response = await client.get(MEMBEROF, params={"accountId": PEOPLE[name].account_id})
        ids |= {g["id"] for g in response.json()["results"] if g["name"] == CONFLUENCE_ADMINS}
    assert len(ids) == 1


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 400), ({"accountId": "unknown-account"}, 404), ({"accountId": "x", "start": "-1"}, 400)],
)
async def test_memberof_errors_have_the_v1_shape(client, params, status):
    response = await client.get(MEMBEROF, params=params)
    assert response.status_code == status
    assert response.json()["statusCode"] == status
    assert response.json()["message"]
