"""Confluence over HTTP: cursor paging by the Link header, trees, comments, files, restrictions."""

import re

import pytest

from sandbox import SiteData

pytestmark = pytest.mark.anyio

V2 = "/wiki/api/v2"
NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


async def _walk(client, url, **params):
    """Follow the `Link: <...>; rel="next"` header to the end; returns results and page count."""
    results, pages, response = [], 0, await client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        results += body["results"]
        pages += 1
        match = NEXT.search(response.headers.get("link", ""))
        assert (match.group(1) if match else None) == body["_links"].get("next")
        if not match:
            return results, pages
        response = await client.get(match.group(1))


async def test_cursor_paging_reaches_every_page_of_a_space_once(client, site):
    space = site.spaces[0]
    pages, requests = await _walk(client, f"{V2}/spaces/{space.id}/pages", limit=4)
    expected = [str(1_000_000_000 + space.first_page + r) for r in range(space.page_count)]
    assert [p["id"] for p in pages] == expected
    assert requests == -(-space.page_count // 4)


async def test_the_next_link_keeps_the_query(client, site):
    space = site.spaces[1]
    response = await client.get(
        f"{V2}/spaces/{space.id}/pages", params={"limit": 2, "body-format": "storage"}
    )
    following = await client.get(NEXT.search(response.headers["link"]).group(1))
    assert all("storage" in page["body"] for page in following.json()["results"])
    assert len(following.json()["results"]) == 2


async def test_listing_without_a_body_format_answers_empty_bodies(client, site):
    response = await client.get(f"{V2}/spaces/{site.spaces[0].id}/pages")
    assert {str(page["body"]) for page in response.json()["results"]} == {"{}"}


async def test_every_space_is_listed_once(client, site):
    spaces, _ = await _walk(client, f"{V2}/spaces", limit=1)
    assert [s["key"] for s in spaces] == [s.key for s in site.spaces]
    assert {s["type"] for s in spaces} == {"global", "personal"}


async def test_the_page_tree_from_the_api_is_at_least_three_levels_deep(client, site):
    for space in site.spaces:
        pages, _ = await _walk(client, f"{V2}/spaces/{space.id}/pages", limit=250)
        parent = {p["id"]: p.get("parentId") for p in pages}

        def depth(page_id, parent=parent):
            return 1 if parent[page_id] is None else 1 + depth(parent[page_id])

        assert max(map(depth, parent)) >= 3
        assert all(p["parentType"] == "page" for p in pages if "parentId" in p)
        roots, _ = await _walk(client, f"{V2}/spaces/{space.id}/pages", depth="root")
        assert [p["id"] for p in roots] == [space.homepage_id]


async def test_site_wide_comments_reach_every_comment_once_with_replies(client, site):
    for kind, expected in (
        (
            "footer-comments",
            [c.id for o in range(site.content_count) for c in site.footer_comments(o)],
        ),
        (
            "inline-comments",
            [c.id for o in range(site.content_count) for c in site.inline_comments(o)],
        ),
    ):
        comments, _ = await _walk(client, f"{V2}/{kind}", limit=7, **{"body-format": "storage"})
        assert [c["id"] for c in comments] == expected
        assert any("parentCommentId" in c for c in comments)
        assert all(("pageId" in c) != ("blogPostId" in c) for c in comments)


async def test_page_comments_are_the_roots_only(client, site):
    page = site.content_meta(0)
    footer, _ = await _walk(client, f"{V2}/pages/{page.id}/footer-comments")
    inline, _ = await _walk(client, f"{V2}/pages/{page.id}/inline-comments")
    assert [c["id"] for c in footer] == [c.id for c in site.footer_comments(0) if not c.parent_id]
    assert [c["id"] for c in inline] == [c.id for c in site.inline_comments(0) if not c.parent_id]
    assert len(footer) < len(site.footer_comments(0))
    assert inline[0]["properties"]["inlineMarkerRef"]
    assert inline[0]["resolutionStatus"] in {"open", "resolved", "reopened", "dangling"}


async def test_a_cursor_only_continues_its_own_listing(client, site):
    first = await client.get(f"{V2}/spaces/{site.spaces[0].id}/pages", params={"limit": 1})
    cursor = first.json()["_links"]["next"].split("cursor=")[1]
    elsewhere = await client.get(
        f"{V2}/spaces/{site.spaces[1].id}/pages", params={"cursor": cursor}
    )
    garbage = await client.get(f"{V2}/spaces", params={"cursor": "%%%"})
    assert elsewhere.status_code == garbage.status_code == 400
    assert elsewhere.json()["errors"][0]["code"] == "INVALID_REQUEST_PARAMETER"


@pytest.mark.parametrize("limit", ["0", "251", "many"])
async def test_limits_outside_one_to_250_are_refused(client, limit):
    response = await client.get(f"{V2}/spaces", params={"limit": limit})
    assert response.status_code == 400


async def test_attachments_download_with_their_declared_size_and_type(client, site):
    attachments, _ = await _walk(client, f"{V2}/attachments", limit=9)
    expected = sum(site.content_attachment_count(o) for o in range(site.content_count))
    assert len(attachments) == expected
    base = "http://sandbox.test/wiki"
    for attachment in attachments[:12]:
        download = await client.get(base + attachment["downloadLink"])
        assert download.status_code == 200
        assert len(download.content) == attachment["fileSize"]
        assert download.headers["content-type"].split(";")[0] == attachment["mediaType"]
    assert any(not a["title"].isascii() for a in attachments)


async def test_attachments_can_be_filtered_by_media_type(client):
    pngs, _ = await _walk(client, f"{V2}/attachments", mediaType="image/png")
    assert pngs
    assert {a["mediaType"] for a in pngs} == {"image/png"}


async def test_a_label_lists_exactly_the_content_that_carries_it(client, site):
    labels, _ = await _walk(client, f"{V2}/labels")
    assert [label["name"] for label in labels] == [label.name for label in site.labels]
    for label in site.labels[:4]:
        pages, _ = await _walk(client, f"{V2}/labels/{label.id}/pages", limit=3)
        posts, _ = await _walk(client, f"{V2}/labels/{label.id}/blogposts")
        expected = [o for o in range(site.content_count) if label in site.labels_of(o)]
        assert [p["id"] for p in pages + posts] == [site.content_meta(o).id for o in expected]


async def test_a_page_lists_its_labels_and_attachments(client, site):
    ordinal = next(o for o in range(site.page_count) if len(site.labels_of(o)) > 1)
    page_id = site.content_meta(ordinal).id
    labels, _ = await _walk(client, f"{V2}/pages/{page_id}/labels")
    files, _ = await _walk(client, f"{V2}/pages/{page_id}/attachments")
    assert [label["id"] for label in labels] == [label.id for label in site.labels_of(ordinal)]
    assert [f["id"] for f in files] == [a.id for a in site.content_attachments(ordinal)]


async def test_blog_posts_of_a_space_are_all_listed(client, site):
    space = site.spaces[2]
    posts, _ = await _walk(client, f"{V2}/spaces/{space.id}/blogposts", limit=2)
    assert len(posts) == space.blogpost_count
    assert all("parentId" not in post for post in posts)


async def test_restricted_pages_name_users_and_groups(client, site):
    page = site.content_meta(1)
    body = (await client.get(f"/wiki/rest/api/content/{page.id}/restriction/byOperation")).json()
    read_users = body["read"]["restrictions"]["user"]["results"]
    read_groups = body["read"]["restrictions"]["group"]["results"]
    assert read_users and read_groups
    assert body["update"]["restrictions"]["user"]["size"] >= 1
    assert {u["accountId"] for u in read_users} <= {u.account_id for u in site.users}

    free = next(o for o in range(site.content_count) if not site.is_restricted(o))
    open_page = site.content_meta(free).id
    body = (await client.get(f"/wiki/rest/api/content/{open_page}/restriction/byOperation")).json()
    assert body["read"]["restrictions"]["user"]["results"] == []


async def test_an_unknown_space_or_page_is_not_found(client):
    for url in (f"{V2}/spaces/12345/pages", f"{V2}/pages/12345/labels"):
        response = await client.get(url)
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "NOT_FOUND"


async def test_an_empty_site_lists_nothing(make_app, make_client):
    async with make_client(make_app(SiteData.empty())) as client:
        for url in ("spaces", "footer-comments", "inline-comments", "attachments", "labels"):
            response = await client.get(f"{V2}/{url}")
            assert response.json() == {
                "results": [],
                "_links": {"base": "http://sandbox.test/wiki"},
            }
        projects = (await client.get("/rest/api/3/project/search")).json()
    assert projects["values"] == [] and projects["isLast"]
