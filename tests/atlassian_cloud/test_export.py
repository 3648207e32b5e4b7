"""Exporting whole sites: every entity in its documented shape, e-mail addresses gone, per-item
failures reported without failing the export, and memory bounded by backpressure."""

import asyncio
import json
from collections import defaultdict

import pytest

from atlassian_cloud import export
from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.errors import AuthenticationFailed, OriginRefused, SiteUnavailable
from atlassian_cloud.export import export_confluence, export_jira, fetch_attachment
from atlassian_cloud.jira import JiraClient


def run(coroutine):
    return asyncio.run(coroutine)


class Recorder:
    """A sink, progress and failure callbacks that keep what they are given."""

    def __init__(self):
        self.records = defaultdict(list)
        self.progress = defaultdict(list)
        self.failures = []
        self.concurrent = 0
        self.most_concurrent = 0

    async def sink(self, entity, record):
        self.concurrent += 1
        self.most_concurrent = max(self.most_concurrent, self.concurrent)
        await asyncio.sleep(0)
        self.records[entity].append(record)
        self.concurrent -= 1

    def on_progress(self, phase, done):
        self.progress[phase].append(done)

    def on_failed(self, entity, item_id, reason):
        self.failures.append((entity, item_id, reason))

    def by_id(self, entity):
        return {record["id"]: record for record in self.records[entity]}


def _export_jira(fake, connect, recorder, **options):
    async def scenario():
        async with connect(fake, JiraClient) as client:
            return await export_jira(
                client, recorder.sink, recorder.on_progress, recorder.on_failed, **options
            )

    return run(scenario())


def _export_confluence(fake, connect, recorder):
    async def scenario():
        async with connect(fake, ConfluenceClient) as client:
            return await export_confluence(
                client, recorder.sink, recorder.on_progress, recorder.on_failed
            )

    return run(scenario())


# --- Jira -------------------------------------------------------------------------------------


def test_a_jira_export_writes_every_entity_in_its_documented_shape(fake_jira, connect, jira_api):
    recorder = Recorder()
    summary = _export_jira(fake_jira, connect, recorder)

    assert summary.complete
    assert summary.counts == {
        "projects": 3,
        "issues": 7,
        "comments": 25 + 2,
        "attachments": 1,
        "changelogs": 7 * 2,
    }
    assert {entity: len(records) for entity, records in recorder.records.items()} == {
        entity: count for entity, count in summary.counts.items() if count
    }
    issues = recorder.by_id("issues")
    assert all("comment" not in issue["fields"] for issue in issues.values())
    assert issues["10000"]["fields"]["summary"] == "Issue 10000"
    assert recorder.records["attachments"] == [
        {
            "id": "20000",
            "owner": {"type": "issue", "id": "10000", "key": "ALPHA-1"},
            "filename": "plan.pdf",
            "size": 1234,
            "mediaType": "application/pdf",
            "contentUrl": "https://acme.atlassian.net/rest/api/3/attachment/content/20000",
            "created": "2024-01-02T10:00:00.000+0000",
            "authorAccountId": "author-1",
        }
    ]
    assert {c["issueId"] for c in recorder.records["comments"]} == {"10001", "10002"}
    assert {h["issueId"] for h in recorder.records["changelogs"]} == set(issues)
    assert all(
        set(h) >= {"issueId", "id", "created", "items"} for h in recorder.records["changelogs"]
    )
    assert recorder.progress["issues"] == list(range(1, 8))
    assert recorder.most_concurrent == 1  # the sink is never entered twice at once
    for seen in fake_jira.api_requests():
        jira_api.check(seen.method, seen.path, seen.query, seen.body)


def test_no_record_keeps_an_email_address(fake_jira, connect):
    recorder = Recorder()
    _export_jira(fake_jira, connect, recorder)
    text = json.dumps(recorder.records)
    assert "emailAddress" not in text and "@people.example" not in text
    assert '"accountId": "reporter-1"' in text


def test_comments_beyond_those_an_issue_embeds_are_all_read_once(fake_jira, connect):
    recorder = Recorder()
    _export_jira(fake_jira, connect, recorder)
    ids = [c["id"] for c in recorder.records["comments"] if c["issueId"] == "10001"]
    assert len(ids) == len(set(ids)) == 25
    comment_reads = [s for s in fake_jira.seen if s.path.endswith("/comment")]
    assert {s.path for s in comment_reads} == {"/rest/api/3/issue/10001/comment"}  # not 10002


def test_an_issue_jira_cannot_return_is_reported_and_the_export_goes_on(fake_jira, connect):
    fake_jira.unreturnable["10003"] = "Issue could not be loaded"
    recorder = Recorder()
    summary = _export_jira(fake_jira, connect, recorder)
    assert recorder.failures == [("issues", "10003", "Issue could not be loaded")]
    assert summary.failures == 1 and not summary.complete
    assert summary.counts["issues"] == 6


def test_an_item_failing_after_its_retries_is_reported_and_the_rest_exported(fake_jira, connect):
    fake_jira.failures["/rest/api/3/issue/10001/comment"] = (500, {"errorMessages": ["boom"]})
    recorder = Recorder()
    summary = _export_jira(fake_jira, connect, recorder)
    ((entity, item_id, reason),) = recorder.failures
    assert (entity, item_id) == ("comments", "10001")
    assert "GET /rest/api/3/issue/10001/comment" in reason and "boom" in reason
    assert summary.counts["issues"] == 7 and summary.counts["comments"] == 2
    assert len([s for s in fake_jira.seen if s.path.endswith("10001/comment")]) == 6


def test_refused_credentials_stop_the_export_with_the_error_itself(fake_jira, connect):
    fake_jira.failures["/rest/api/3/issue/bulkfetch"] = (401, {"errorMessages": ["Unauthorized"]})
    with pytest.raises(AuthenticationFailed, match="check the site's email and API token"):
        _export_jira(fake_jira, connect, Recorder())


def test_an_outage_stops_the_export_instead_of_failing_item_after_item(
    fake_jira, connect, monkeypatch
):
    monkeypatch.setattr(export, "MAX_OUTAGE", 3)
    for path in ("/rest/api/3/issue/bulkfetch", "/rest/api/3/changelog/bulkfetch"):
        fake_jira.failures[path] = (500, {})
    with pytest.raises(SiteUnavailable, match="the export stopped: 3 requests in a row failed"):
        _export_jira(fake_jira, connect, Recorder())


def test_a_slow_sink_holds_the_export_back_instead_of_filling_memory(fake_jira, connect):
    fake_jira.issue_ids["ALPHA"] = [str(10000 + n) for n in range(3000)]
    fake_jira.issue_ids["BETA"] = []
    written = asyncio.Event()
    release = asyncio.Event()

    async def slow_sink(entity, record):
        if entity == "issues":
            written.set()
            await release.wait()

    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            task = asyncio.create_task(
                export_jira(client, slow_sink, lambda *_: None, concurrency=4)
            )
            await written.wait()
            for _ in range(500):
                await asyncio.sleep(0)
            requests_while_blocked = len(fake_jira.seen)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return requests_while_blocked

    # A site of 3000 issues needs some 2000 requests; with the sink stuck, only a handful go
    # out: the project listing, a few id pages and the batches that fill the pool.
    assert run(scenario()) < 25


# --- Confluence -------------------------------------------------------------------------------


def test_a_confluence_export_writes_every_entity_in_its_documented_shape(
    fake_confluence, connect, confluence_api
):
    recorder = Recorder()
    summary = _export_confluence(fake_confluence, connect, recorder)

    assert summary.counts == {
        "spaces": 2,
        "pages": 6,
        "blogposts": 2,
        "footer_comments": 3,
        "inline_comments": 2,
        "attachments": 3,
    }
    pages = recorder.by_id("pages")
    assert [label["name"] for label in pages["2001"]["labels"]] == ["howto", "draft"]
    assert pages["2004"]["labels"] == []
    assert pages["2000"]["body"]["storage"]["value"] == "<p>hi</p>"
    assert set(pages["2001"]["restrictions"]) == {"read", "update"}
    (reader,) = pages["2001"]["restrictions"]["read"]["restrictions"]["user"]["results"]
    assert reader["accountId"] == "acct-9" and "email" not in reader
    blogposts = recorder.by_id("blogposts")
    assert [label["name"] for label in blogposts["3000"]["labels"]] == ["news"]
    assert recorder.by_id("attachments")["att5002"] == {
        "id": "att5002",
        "owner": {"type": "blogpost", "id": "3000"},
        "filename": "att5002.png",
        "size": 42,
        "mediaType": "image/png",
        "contentUrl": "https://acme.atlassian.net/wiki/download/attachments/3000/att5002.png"
        "?version=1&api=v2",
    }
    assert recorder.by_id("footer_comments")["4001"]["blogPostId"] == "3000"
    # The attachment on custom content cannot be kept as a page or blog post reference.
    assert [(e, i) for e, i, _ in recorder.failures] == [("attachments", "att5003")]
    assert summary.failures == 1
    assert "@people.example" not in json.dumps(recorder.records)
    assert recorder.most_concurrent == 1
    for seen in fake_confluence.api_requests():
        if seen.path.startswith("/wiki/api/v2/"):
            confluence_api.check(seen.method, seen.path, seen.query, seen.body)


def test_a_page_whose_restrictions_fail_is_reported_and_not_written(fake_confluence, connect):
    path = "/wiki/rest/api/content/2002/restriction/byOperation"
    fake_confluence.failures[path] = (500, {"statusCode": 500, "message": "oops"})
    recorder = Recorder()
    summary = _export_confluence(fake_confluence, connect, recorder)
    assert "2002" not in recorder.by_id("pages")
    assert summary.counts["pages"] == 5
    failure = next(f for f in recorder.failures if f[0] == "pages")
    assert failure[1] == "2002" and "HTTP 500" in failure[2] and "oops" in failure[2]


def test_a_label_that_cannot_be_read_is_reported_and_the_pages_still_written(
    fake_confluence, connect
):
    fake_confluence.failures["/wiki/api/v2/labels/502/pages"] = (500, {})
    recorder = Recorder()
    summary = _export_confluence(fake_confluence, connect, recorder)
    assert ("labels", "502") in [(e, i) for e, i, _ in recorder.failures]
    assert [label["name"] for label in recorder.by_id("pages")["2001"]["labels"]] == ["howto"]
    assert summary.counts["pages"] == 6


def test_restrictions_that_continue_past_one_answer_are_flagged(fake_confluence, connect):
    original = fake_confluence._restrict

    def restrict(seen, content_id):
        status, headers, body = original(seen, content_id)
        if content_id == "2000":
            body["read"]["restrictions"]["user"]["_links"] = {"next": "/rest/api/more"}
        return status, headers, body

    fake_confluence.routes = [
        (m, p, restrict if "restriction" in p.pattern else h) for m, p, h in fake_confluence.routes
    ]
    recorder = Recorder()
    _export_confluence(fake_confluence, connect, recorder)
    assert ("pages", "2000") in [(e, i) for e, i, _ in recorder.failures]
    assert "2000" in recorder.by_id("pages")


# --- attachments in `copy` mode ---------------------------------------------------------------


def test_fetch_attachment_streams_jira_content_through_the_media_redirect(fake_jira, connect):
    async def scenario():
        async with connect(fake_jira, JiraClient) as client:
            reference = {
                "id": "20000",
                "contentUrl": f"{client.origin}/rest/api/3/attachment/content/20000",
            }
            return b"".join([chunk async for chunk in fetch_attachment(client, reference)])

    assert run(scenario()) == b"bytes of f-20000"
    media = [s for s in fake_jira.seen if s.host == "api.media.atlassian.com"]
    assert len(media) == 1 and "authorization" not in media[0].headers


def test_fetch_attachment_refuses_a_reference_off_the_site(fake_confluence, connect):
    async def scenario():
        async with connect(fake_confluence, ConfluenceClient) as client:
            with pytest.raises(OriginRefused):
                fetch_attachment(client, {"id": "1", "contentUrl": "https://evil.example/x"})
            with pytest.raises(ValueError, match="no content URL"):
                fetch_attachment(client, {"id": "1", "contentUrl": None})

    run(scenario())
    assert fake_confluence.seen == []
