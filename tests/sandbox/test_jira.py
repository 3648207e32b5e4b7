"""Jira over HTTP: auth, the three paging styles, JQL, bulk fetches and attachment bytes."""

from datetime import UTC, datetime

import pytest

from sandbox import SANDBOX_TOKEN, SiteData
from sandbox.jql import UNBOUNDED_MESSAGE

pytestmark = pytest.mark.anyio

SEARCH = "/rest/api/3/search/jql"


async def test_requests_without_valid_credentials_are_unauthorized(app, make_client):
    for auth in (None, ("someone@example.com", "wrong-token"), ("", SANDBOX_TOKEN)):
        async with make_client(app, auth=auth) as client:
            response = await client.get("/rest/api/3/myself")
        assert response.status_code == 401
        assert response.json()["errorMessages"]
        assert response.headers["www-authenticate"].startswith("Basic")
    assert app.state.stats.unauthorized == 3


async def test_any_email_signs_in_with_the_sandbox_token(app, make_client):
    async with make_client(app, auth=("zoë@example.org", SANDBOX_TOKEN)) as client:
        first = (await client.get("/rest/api/3/myself")).json()
        again = (await client.get("/rest/api/3/myself")).json()
    assert first["emailAddress"] == "zoë@example.org"
    assert first == again


async def test_project_offset_paging_reaches_every_project_once(make_app, make_client):
    site = SiteData.generate(4, projects=7, issues=30, spaces=0, pages=0)
    async with make_client(make_app(site)) as client:
        url, keys = "/rest/api/3/project/search?maxResults=3", []
        while True:
            page = (await client.get(url)).json()
            assert page["total"] == 7
            keys += [p["key"] for p in page["values"]]
            if page["isLast"]:
                assert "nextPage" not in page
                break
            url = page["nextPage"]
    assert keys == sorted(p.key for p in site.projects)


async def _walk(client, jql, *, size, fields=None, post=False):
    """Every page of a search; returns the issues and the number of pages."""
    issues, token, pages = [], None, 0
    while True:
        if post:
            body = {"jql": jql, "maxResults": size, "fields": fields or [], "nextPageToken": token}
            response = await client.post(SEARCH, json=body)
        else:
            params = {"jql": jql, "maxResults": size}
            if fields:
                params["fields"] = ",".join(fields)
            if token:
                params["nextPageToken"] = token
            response = await client.get(SEARCH, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        issues += page["issues"]
        pages += 1
        if page["isLast"]:
            assert "nextPageToken" not in page
            return issues, pages
        token = page["nextPageToken"]


@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
async def test_search_token_paging_reaches_every_issue_once_in_key_order(client, site, post):
    project = site.projects[1]
    found, pages = await _walk(
        client, f'project = "{project.key}" ORDER BY key ASC', size=7, fields=["key"], post=post
    )
    expected = [f"{project.key}-{n}" for n in range(1, project.issue_count + 1)]
    assert [issue["key"] for issue in found] == expected
    assert pages == -(-project.issue_count // 7)


async def test_search_answers_ids_only_by_default(client, site):
    page = (await client.get(SEARCH, params={"jql": f"project = {site.projects[0].key}"})).json()
    assert page["issues"][0] == {"id": str(10000 + site.projects[0].first_issue)}


async def test_search_pages_hold_5000_ids_but_100_issues_with_fields(make_app, make_client):
    site = SiteData.generate(8, projects=1, issues=6001, spaces=0, pages=0)
    async with make_client(make_app(site)) as client:
        ids, pages = await _walk(client, "project = ENG", size=10_000, fields=["id"])
        assert (len(ids), pages) == (6001, 2)
        response = await client.get(
            SEARCH, params={"jql": "project = ENG", "maxResults": 500, "fields": "summary"}
        )
    assert len(response.json()["issues"]) == 100


@pytest.mark.parametrize(
    "jql",
    [
        'project = "ENG" ORDER BY key ASC',
        "project = ENG order by key asc",
        "PROJECT = eng ORDER BY KEY",
        "project in (ENG)",
        "project = 10000",
    ],
)
async def test_jql_project_clauses_are_read_alike(client, site, jql):
    found, _ = await _walk(client, jql, size=100, fields=["key"])
    assert len(found) == site.projects[0].issue_count
    assert {issue["key"].split("-")[0] for issue in found} == {"ENG"}


async def test_jql_updated_since_selects_exactly_the_issues_updated_since(client, site):
    since = "2025-11-20 10:00"
    found, _ = await _walk(client, f'updated >= "{since}"', size=50, fields=["updated"])
    both, _ = await _walk(
        client, f'project = OPS AND updated >= "{since}" ORDER BY updated DESC', size=5,
        fields=["updated"],
    )  # fmt: skip
    moment = int(datetime(2025, 11, 20, 10, 0, tzinfo=UTC).timestamp() * 1000)
    expected = [i for i in range(site.issue_count) if site.issue_updated_ms(i) >= moment]
    assert sorted(int(issue["id"]) - 10000 for issue in found) == expected
    ops = site.project_by_key("OPS")
    assert [int(issue["id"]) - 10000 for issue in both] == sorted(
        (i for i in expected if site.project_of(i) == ops),
        key=site.issue_updated_ms,
        reverse=True,
    )
    assert 0 < len(both) < len(found) < site.issue_count


@pytest.mark.parametrize("jql", ["", "   ", "ORDER BY key ASC", "order by updated desc"])
@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
async def test_unbounded_queries_are_refused_as_jira_refuses_them(client, jql, post):
    if post:
        response = await client.post(SEARCH, json={"jql": jql})
    else:
        response = await client.get(SEARCH, params={"jql": jql})
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [UNBOUNDED_MESSAGE], "errors": {}}


@pytest.mark.parametrize(
    ("jql", "says"),
    [
        ("project = ENG OR project = OPS", "AND only"),
        ("assignee = currentUser()", "'assignee'"),
        ("project = NOPE", "'NOPE' does not exist"),
        ('updated >= "yesterday"', "Date value 'yesterday'"),
        ("project = ENG ORDER BY summary", "sort using field 'summary'"),
        ("project ~ ENG", "operator '~'"),
    ],
)
async def test_unsupported_jql_is_refused_with_a_reason(client, jql, says):
    response = await client.get(SEARCH, params={"jql": jql})
    assert response.status_code == 400
    assert says in response.json()["errorMessages"][0]


async def test_a_token_only_continues_the_query_it_came_from(client):
    first = (await client.get(SEARCH, params={"jql": "project = ENG", "maxResults": 2})).json()
    token = first["nextPageToken"]
    other = await client.get(
        SEARCH, params={"jql": "project = OPS", "maxResults": 2, "nextPageToken": token}
    )
    garbage = await client.get(
        SEARCH, params={"jql": "project = ENG", "nextPageToken": "not-a-token"}
    )
    assert other.status_code == garbage.status_code == 400


async def test_bulkfetch_returns_known_issues_in_id_order(client, site):
    response = await client.post(
        "/rest/api/3/issue/bulkfetch",
        json={"issueIdsOrKeys": ["eng-3", "10000", "ENG-3", "NOPE-1", "99999"], "fields": ["key"]},
    )
    body = response.json()
    assert [issue["key"] for issue in body["issues"]] == ["ENG-1", "ENG-3"]
    assert body["issueErrors"] == []


@pytest.mark.parametrize("count", [0, 101])
async def test_bulkfetch_takes_one_to_a_hundred_issues(client, count):
    names = [str(10000 + n) for n in range(count)]
    response = await client.post("/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": names})
    assert response.status_code == 400


async def test_an_issue_embeds_twenty_comments_and_the_rest_page_by_offset(client, site):
    index = next(i for i in range(site.issue_count) if len(site.issue(i).comments) > 20)
    issue = site.issue(index)
    fetched = await client.post(
        "/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": [issue.key], "fields": ["comment"]}
    )
    embedded = fetched.json()["issues"][0]["fields"]["comment"]
    assert (len(embedded["comments"]), embedded["total"]) == (20, len(issue.comments))
    assert embedded["maxResults"] == 20 and embedded["startAt"] == 0

    seen, start = [], 0
    while start < len(issue.comments):
        page = (
            await client.get(
                f"/rest/api/3/issue/{issue.key}/comment", params={"startAt": start, "maxResults": 8}
            )
        ).json()
        assert page["total"] == len(issue.comments)
        seen += [c["id"] for c in page["comments"]]
        start += len(page["comments"])
    assert seen == [c.id for c in issue.comments]


async def test_changelog_paging_reaches_every_history_once(client, site):
    keys = [site.issue_head(i).key for i in range(30)]
    expected = [(site.issue_head(i).id, h.id) for i in range(30) for h in site.changelog(i)]
    seen, token = [], None
    while True:
        body = {"issueIdsOrKeys": keys, "maxResults": 4}
        if token:
            body["nextPageToken"] = token
        page = (await client.post("/rest/api/3/changelog/bulkfetch", json=body)).json()
        seen += [
            (log["issueId"], h["id"])
            for log in page["issueChangeLogs"]
            for h in log["changeHistories"]
        ]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert seen == expected


async def test_changelogs_can_be_filtered_by_field(client, site):
    keys = [site.issue_head(i).key for i in range(30)]
    page = (
        await client.post(
            "/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": keys, "fieldIds": ["status"]}
        )
    ).json()
    items = [
        i for log in page["issueChangeLogs"] for h in log["changeHistories"] for i in h["items"]
    ]
    assert items
    assert {item["fieldId"] for item in items} == {"status"}


async def test_attachment_content_redirects_then_serves_the_declared_bytes(client, site):
    index = next(i for i in range(site.issue_count) if len(site.issue(i).attachments) > 1)
    fetched = await client.post(
        "/rest/api/3/issue/bulkfetch",
        json={"issueIdsOrKeys": [site.issue_head(index).key], "fields": ["attachment"]},
    )
    for declared in fetched.json()["issues"][0]["fields"]["attachment"]:
        assert declared["content"].startswith("http://sandbox.test/rest/api/3/attachment/content/")
        redirect = await client.get(declared["content"])
        assert redirect.status_code == 303
        assert redirect.headers["location"].endswith("?redirect=false")
        download = await client.get(declared["content"], follow_redirects=True)
        assert download.status_code == 200
        assert len(download.content) == declared["size"]
        assert download.headers["content-type"].split(";")[0] == declared["mimeType"]
        direct = await client.get(declared["content"], params={"redirect": "false"})
        assert direct.content == download.content
