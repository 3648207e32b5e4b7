"""ConfluenceClient against a fake Confluence Cloud: cursor paging through the `Link` header,
request shapes checked against the published v2 description, and the v1 restrictions call."""

import asyncio

import pytest

from atlassian_cloud.confluence import ConfluenceClient
from atlassian_cloud.errors import OriginRefused, UnexpectedResponse
from atlassian_cloud.records import confluence_attachment_reference


def run(coroutine):
    return asyncio.run(coroutine)


async def _collect(iterator):
    return [item async for item in iterator]


def test_every_request_the_reader_builds_matches_the_published_description(
    fake_confluence, connect, confluence_api
):
    async def scenario():
        async with connect(fake_confluence, ConfluenceClient) as client:
            await _collect(client.spaces())
            for space in ("1001", "1002"):
                await _collect(client.pages(space))
                await _collect(client.blogposts(space))
            await _collect(client.footer_comments())
            await _collect(client.inline_comments())
            await _collect(client.attachments())
            for label in ("501", "503"):
                await _collect(client.label_pages(label))
                await _collect(client.label_blogposts(label))
            await _collect(client.labels())
            await client.restrictions("2001")

    run(scenario())
    requests = fake_confluence.api_requests()
    v1 = [seen for seen in requests if seen.path.startswith("/wiki/rest/api/")]
    assert [(seen.method, seen.path, seen.query) for seen in v1] == [
        ("GET", "/wiki/rest/api/content/2001/restriction/byOperation", [])
    ]
    v2 = [seen for seen in requests if seen.path.startswith("/wiki/api/v2/")]
    assert len(v2) > 15
    for seen in v2:
        confluence_api.check(seen.method, seen.path, seen.query, seen.body)


def test_lists_follow_the_relative_next_link_until_there_is_none(fake_confluence, connect):
    async def scenario():
        async with connect(fake_confluence, ConfluenceClient) as client:
            return await _collect(client.pages("1001"))

    pages = run(scenario())
    assert [page["id"] for page in pages] == ["2000", "2001", "2002", "2003", "2004"]
    assert all(page["body"]["storage"]["value"] for page in pages)
    queries = [dict(seen.query) for seen in fake_confluence.seen]
    assert queries[0] == {"body-format": "storage", "limit": "250"}
    assert [q.get("cursor") for q in queries] == [None, "2", "4"]
    assert all(q["body-format"] == "storage" and q["limit"] == "250" for q in queries)


def test_a_next_link_on_another_origin_is_refused(site, connect):
    link = '<https://evil.example/wiki/api/v2/spaces?cursor=abc>; rel="next"'
    site.script("/wiki/api/v2/spaces", (200, {"Link": link}, {"results": [{"id": "1"}]}))

    async def scenario():
        async with connect(site, ConfluenceClient) as client:
            return await _collect(client.spaces())

    with pytest.raises(OriginRefused):
        run(scenario())
    assert [seen.host for seen in site.seen] == ["acme.atlassian.net"]


def test_the_body_next_link_is_used_when_the_header_is_missing(site, connect):
    first = {"results": [{"id": "1"}], "_links": {"next": "/wiki/api/v2/labels?cursor=c2"}}
    site.script("/wiki/api/v2/labels", (200, {}, first), (200, {}, {"results": [{"id": "2"}]}))

    async def scenario():
        async with connect(site, ConfluenceClient) as client:
            return await _collect(client.labels())

    assert [label["id"] for label in run(scenario())] == ["1", "2"]
    assert site.seen[1].query == [("cursor", "c2")]


def test_a_next_link_that_repeats_stops_paging_with_an_error(site, connect):
    link = '</wiki/api/v2/labels?cursor=same>; rel="next"'
    site.script("/wiki/api/v2/labels", (200, {"Link": link}, {"results": []}))

    async def scenario():
        async with connect(site, ConfluenceClient) as client:
            return await _collect(client.labels())

    with pytest.raises(UnexpectedResponse, match="repeated a next-page link"):
        run(scenario())


def test_restrictions_are_read_by_operation(fake_confluence, connect):
    async def scenario():
        async with connect(fake_confluence, ConfluenceClient) as client:
            return await client.restrictions("2001")

    restrictions = run(scenario())
    assert set(restrictions) >= {"read", "update"}
    users = restrictions["read"]["restrictions"]["user"]["results"]
    assert [user["accountId"] for user in users] == ["acct-9"]


def test_ids_cannot_change_the_path_they_are_put_in(site, connect):
    site.script("/wiki/rest/api/content/../../admin/restriction/byOperation", (200, {}, {}))

    async def scenario():
        async with connect(site, ConfluenceClient) as client:
            await client.restrictions("../../admin")

    run(scenario())
    assert (
        site.seen[0].raw_path == b"/wiki/rest/api/content/..%2F..%2Fadmin/restriction/byOperation"
    )


def test_an_attachment_downloads_from_its_v2_download_link(fake_confluence, connect):
    async def scenario():
        async with connect(fake_confluence, ConfluenceClient) as client:
            attachments = await _collect(client.attachments())
            reference = confluence_attachment_reference(attachments[0], client.origin)
            assert reference is not None
            content = b"".join(await _collect(client.attachment_content(reference["contentUrl"])))
            return reference, content

    reference, content = run(scenario())
    assert reference["contentUrl"] == (
        "https://acme.atlassian.net/wiki/download/attachments/2000/att5000.png?version=1&api=v2"
    )
    assert content == b"png 2000/att5000.png"
