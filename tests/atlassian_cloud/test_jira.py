"""JiraClient against a fake Jira Cloud: paging, request shapes, and every request it builds
checked against Atlassian's published description of REST v3."""

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from atlassian_cloud.errors import UnexpectedResponse
from atlassian_cloud.jira import JiraClient, jql_minute, project_jql


def run(coroutine):
    return asyncio.run(coroutine)


async def _collect(iterator):
    return [item async for item in iterator]


def test_every_request_the_reader_builds_matches_the_published_description(
    fake_jira, connect, jira_api
):
    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            await client.myself()
            await _collect(client.projects())
            since = datetime(2024, 5, 1, 8, 15, tzinfo=UTC)
            for key in ("ALPHA", "BETA", "EMPTY"):
                await _collect(client.issue_id_pages(key))
                await _collect(client.issue_id_pages(key, updated_since=since))
            await client.issue_batch(["10000", "10001"])
            await _collect(client.comments("10001"))
            await _collect(client.changelogs(["10000", "10001", "10002"]))
            url = "https://acme.atlassian.net/rest/api/3/attachment/content/20000"
            await _collect(client.attachment_content(url))

    run(scenario())
    requests = fake_jira.api_requests()
    assert {(seen.method, seen.path) for seen in requests} >= {
        ("GET", "/rest/api/3/myself"),
        ("GET", "/rest/api/3/project/search"),
        ("GET", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/issue/bulkfetch"),
        ("GET", "/rest/api/3/issue/10001/comment"),
        ("POST", "/rest/api/3/changelog/bulkfetch"),
        ("GET", "/rest/api/3/attachment/content/20000"),
    }
    for seen in requests:
        jira_api.check(seen.method, seen.path, seen.query, seen.body)


def test_projects_are_read_page_by_page_with_description_lead_and_issue_types(fake_jira, connect):
    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            return await _collect(client.projects())

    projects = run(scenario())
    assert [p["key"] for p in projects] == ["ALPHA", "BETA", "EMPTY"]
    queries = [dict(seen.query) for seen in fake_jira.seen]
    assert [q["startAt"] for q in queries] == ["0", "2"]
    assert all(q["maxResults"] == "100" for q in queries)
    assert all(q["expand"] == "description,lead,issueTypes" for q in queries)


def test_issue_ids_come_a_page_at_a_time_following_next_page_tokens(fake_jira, connect):
    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            return await _collect(client.issue_id_pages("ALPHA"))

    assert run(scenario()) == [["10000", "10001", "10002"], ["10003", "10004"]]
    first, second = (dict(seen.query) for seen in fake_jira.seen)
    assert first == {
        "jql": 'project = "ALPHA" ORDER BY key ASC',
        "fields": "id",
        "maxResults": "5000",  # the most /search/jql returns when only ids are asked for
    }
    assert second == {**first, "nextPageToken": "3"}


def test_an_incremental_listing_bounds_updated_in_the_accounts_time_zone(fake_jira, connect):
    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            since = datetime(2024, 5, 1, 8, 15, 42, tzinfo=UTC)
            await _collect(client.issue_ids("BETA", updated_since=since))
            await _collect(client.issue_ids("BETA", updated_since=since))

    run(scenario())
    searches = [dict(s.query) for s in fake_jira.seen if s.path == "/rest/api/3/search/jql"]
    # 08:15:42 UTC is 10:15 in Berlin (the account's zone, CEST), rounded down to the minute.
    expected = 'project = "BETA" AND updated >= "2024-05-01 10:15" ORDER BY key ASC'
    assert [q["jql"] for q in searches] == [expected, expected]
    assert [seen.path for seen in fake_jira.seen].count("/rest/api/3/myself") == 1


def test_jql_quotes_the_project_key_and_refuses_a_naive_bound():
    assert project_jql('A"B\\') == 'project = "A\\"B\\\\" ORDER BY key ASC'
    with pytest.raises(ValueError, match="aware"):
        jql_minute(datetime(2024, 5, 1, 8, 15), ZoneInfo("UTC"))


def test_bulkfetch_asks_for_every_field_of_at_most_100_issues(fake_jira, connect):
    ids = [str(10000 + n % 7) for n in range(250)]

    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            issues = await _collect(client.issues(ids))
            with pytest.raises(ValueError, match="at most 100"):
                await client.issue_batch(ids[:101])
            return issues

    assert len(run(scenario())) == 250
    bodies = [seen.body for seen in fake_jira.seen]
    assert [len(body["issueIdsOrKeys"]) for body in bodies] == [100, 100, 50]
    assert all(body["fields"] == ["*all"] and body["fieldsByKeys"] is False for body in bodies)


def test_issues_jira_cannot_return_are_named_with_its_reason(fake_jira, connect):
    fake_jira.unreturnable["10001"] = "Retry later: the issue is being reindexed"

    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            return await client.issue_batch(["10000", "10001"])

    batch = run(scenario())
    assert [issue["id"] for issue in batch.issues] == ["10000"]
    assert batch.errors == [("10001", "Retry later: the issue is being reindexed")]


def test_comments_are_read_by_start_at_until_the_total(fake_jira, connect):
    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            return await _collect(client.comments("10001"))

    comments = run(scenario())
    assert len(comments) == 25
    assert len({c["id"] for c in comments}) == 25
    queries = [dict(seen.query) for seen in fake_jira.seen]
    assert [q["startAt"] for q in queries] == ["0", "10", "20"]
    assert all(q["maxResults"] == "100" and q["orderBy"] == "created" for q in queries)


def test_changelogs_follow_next_page_tokens_across_issues(fake_jira, connect):
    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            return await _collect(client.changelogs(["10000", "10001", "10002", "10003", "10004"]))

    pairs = run(scenario())
    assert len(pairs) == 10
    assert [issue_id for issue_id, _ in pairs][:3] == ["10000", "10000", "10001"]
    bodies = [seen.body for seen in fake_jira.seen]
    assert [body.get("nextPageToken") for body in bodies] == [None, "4", "8"]
    assert all(body["maxResults"] == 1000 and len(body["issueIdsOrKeys"]) == 5 for body in bodies)


def test_changelogs_of_more_than_1000_issues_are_asked_for_in_batches(fake_jira, connect):
    ids = ["10000"] * 1500
    fake_jira.changelog_page = 10_000

    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            async for _ in client.changelogs(ids):
                pass

    run(scenario())
    sizes = {len(seen.body["issueIdsOrKeys"]) for seen in fake_jira.seen}
    assert sizes == {1000, 500}


def test_a_repeated_page_token_stops_paging_with_an_error(site, connect):
    site.script(
        "/rest/api/3/search/jql", (200, {}, {"issues": [{"id": "1"}], "nextPageToken": "t"})
    )

    async def scenario():
        async with connect(site, JiraClient) as client:
            return await _collect(client.issue_ids("ALPHA"))

    with pytest.raises(UnexpectedResponse, match="repeated a page token"):
        run(scenario())
    assert len(site.seen) == 2


def test_an_answer_of_the_wrong_shape_is_an_unexpected_response(site, connect):
    site.script("/rest/api/3/project/search", (200, {}, ["not", "a", "page"]))

    async def scenario():
        async with connect(site, JiraClient) as client:
            return await _collect(client.projects())

    with pytest.raises(UnexpectedResponse, match="acme: GET /rest/api/3/project/search"):
        run(scenario())


def test_the_time_zone_falls_back_to_utc_when_jira_names_an_unknown_one(site, connect):
    site.script("/rest/api/3/myself", (200, {}, {"accountId": "a", "timeZone": "Mars/Olympus"}))

    async def scenario():
        async with connect(site, JiraClient) as client:
            return await client.time_zone()

    assert run(scenario()) == ZoneInfo("UTC")
