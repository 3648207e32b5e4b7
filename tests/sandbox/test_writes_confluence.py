"""Confluence writes on the sandbox: what a restore does, what Confluence refuses, and reads."""

import pytest

from sandbox import SiteData, create_app

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"
NO_CHECK = {"X-Atlassian-Token": "no-check"}
pytestmark = pytest.mark.anyio


def storage(value: str) -> dict:
    return {"representation": "storage", "value": value}


async def make_space(writer, openapi, key="RST", name="Restored Space"):
    body = {
        "key": key,
        "name": name,
        "description": {"value": "From a backup", "representation": "plain"},
    }
    openapi.validate_request("/spaces", "POST", body)
    response = await writer.post(f"{V2}/spaces", json=body)
    assert response.status_code == 201, response.text
    openapi.validate_response("/spaces", "POST", 201, response.json())
    return response.json()


async def make_page(writer, openapi, space_id, title, status=200, params=None, **extra):
    body = {
        "spaceId": space_id,
        "status": "current",
        "title": title,
        "body": storage(f"<p>{title} body text</p>"),
        **extra,
    }
    openapi.validate_request("/pages", "POST", body)
    response = await writer.post(f"{V2}/pages", json=body, params=params)
    assert response.status_code == status, response.text
    if status == 200:
        openapi.validate_response("/pages", "POST", 200, response.json())
    return response.json()


async def listed_pages(writer, space_id):
    response = await writer.get(f"{V2}/spaces/{space_id}/pages", params={"limit": 250})
    return response.json()["results"]


async def test_a_created_space_is_listed_with_its_homepage(writer, confluence_openapi):
    space = await make_space(writer, confluence_openapi)
    listed = await writer.get(f"{V2}/spaces", params={"keys": "RST"})
    confluence_openapi.validate_response("/spaces", "GET", 200, listed.json())
    (shown,) = listed.json()["results"]
    assert shown["id"] == space["id"] and shown["homepageId"]
    pages = await listed_pages(writer, space["id"])
    assert [p["id"] for p in pages] == [shown["homepageId"]]


async def test_an_existing_space_key_is_refused(writer, fresh_site):
    key = fresh_site.spaces[0].key
    response = await writer.post(f"{V2}/spaces", json={"key": key, "name": "Again"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] == 400


async def test_an_unknown_field_is_refused(writer, fresh_site):
    body = {"spaceId": fresh_site.spaces[0].id, "title": "x", "colour": "red"}
    response = await writer.post(f"{V2}/pages", json=body)
    assert response.status_code == 400
    assert "colour" in response.json()["errors"][0]["title"]


async def test_created_pages_appear_in_listings_with_their_body(writer, confluence_openapi):
    space = await make_space(writer, confluence_openapi)
    parent = await make_page(writer, confluence_openapi, space["id"], "Parent")
    child = await make_page(writer, confluence_openapi, space["id"], "Child", parentId=parent["id"])
    assert parent["parentId"] == space["homepageId"]
    response = await writer.get(
        f"{V2}/spaces/{space['id']}/pages", params={"body-format": "storage"}
    )
    confluence_openapi.validate_response("/spaces/{id}/pages", "GET", 200, response.json())
    shown = {p["title"]: p for p in response.json()["results"]}
    assert shown["Child"]["parentId"] == parent["id"]
    assert shown["Child"]["body"]["storage"]["value"] == "<p>Child body text</p>"
    one = await writer.get(f"{V2}/pages/{child['id']}", params={"body-format": "atlas_doc_format"})
    confluence_openapi.validate_response("/pages/{id}", "GET", 200, one.json())


async def test_a_duplicate_title_in_a_space_is_refused(writer, fresh_site, confluence_openapi):
    space = fresh_site.spaces[0]
    taken = fresh_site.content_meta(space.first_page).title
    await make_page(writer, confluence_openapi, space.id, taken, status=400)
    other = fresh_site.spaces[1]
    await make_page(writer, confluence_openapi, other.id, taken)  # another space: fine


async def test_a_draft_is_hidden_until_published(writer, confluence_openapi):
    space = await make_space(writer, confluence_openapi)
    draft = await make_page(writer, confluence_openapi, space["id"], "Secret", status=200)
    body = {
        "spaceId": space["id"],
        "status": "draft",
        "title": "Draft",
        "body": storage("<p>d</p>"),
    }
    response = await writer.post(f"{V2}/pages", json=body)
    draft = response.json()
    assert draft["status"] == "draft"
    assert "Draft" not in [p["title"] for p in await listed_pages(writer, space["id"])]
    assert (await writer.get(f"{V2}/pages/{draft['id']}")).status_code == 404
    got = await writer.get(f"{V2}/pages/{draft['id']}", params={"get-draft": "true"})
    assert got.json()["status"] == "draft"
    update = {
        "id": draft["id"],
        "status": "current",
        "title": "Draft",
        "body": storage("<p>published</p>"),
        "version": {"number": 1},
    }
    confluence_openapi.validate_request("/pages/{id}", "PUT", update)
    published = await writer.put(f"{V2}/pages/{draft['id']}", json=update)
    assert published.status_code == 200, published.text
    confluence_openapi.validate_response("/pages/{id}", "PUT", 200, published.json())
    assert "Draft" in [p["title"] for p in await listed_pages(writer, space["id"])]


async def test_an_update_needs_the_next_version(writer, confluence_openapi):
    space = await make_space(writer, confluence_openapi)
    page = await make_page(writer, confluence_openapi, space["id"], "Versioned")
    update = {
        "id": page["id"],
        "status": "current",
        "title": "Renamed",
        "body": storage("<p>v2</p>"),
        "version": {"number": 1},
    }
    assert (await writer.put(f"{V2}/pages/{page['id']}", json=update)).status_code == 409
    update["version"]["number"] = 2
    response = await writer.put(f"{V2}/pages/{page['id']}", json=update)
    assert response.json()["version"]["number"] == 2 and response.json()["title"] == "Renamed"


async def test_a_private_page_is_restricted_to_its_creator(
    writer, confluence_openapi, restrictions_schema
):
    space = await make_space(writer, confluence_openapi)
    page = await make_page(
        writer, confluence_openapi, space["id"], "Mine", params={"private": "true"}
    )
    me = (await writer.get("/rest/api/3/myself")).json()["accountId"]
    response = await writer.get(f"{V1}/content/{page['id']}/restriction/byOperation")
    assert not list(restrictions_schema.iter_errors(response.json()))
    users = response.json()["read"]["restrictions"]["user"]["results"]
    assert [u["accountId"] for u in users] == [me]


async def test_restrictions_are_replaced_and_read_back(
    writer, fresh_site, check_v1, restrictions_schema
):
    page = fresh_site.content_meta(1)  # generated with restrictions
    user, group = fresh_site.users[3], fresh_site.groups[2]
    body = [
        {
            "operation": "read",
            "restrictions": {
                "user": [{"type": "known", "accountId": user.account_id}],
                "group": [{"type": "group", "name": group.name}],
            },
        },
        {"operation": "update", "restrictions": {"group": [{"type": "group", "id": group.id}]}},
    ]
    check_v1("restrictionUpdateRequest", body)
    response = await writer.put(f"{V1}/content/{page.id}/restriction", json=body)
    assert response.status_code == 200, response.text
    check_v1("restrictionUpdateResponse", response.json())
    read_back = await writer.get(f"{V1}/content/{page.id}/restriction/byOperation")
    assert not list(restrictions_schema.iter_errors(read_back.json()))
    read, update = read_back.json()["read"], read_back.json()["update"]
    assert [u["accountId"] for u in read["restrictions"]["user"]["results"]] == [user.account_id]
    assert [g["id"] for g in read["restrictions"]["group"]["results"]] == [group.id]
    assert update["restrictions"]["user"]["results"] == []
    assert [g["name"] for g in update["restrictions"]["group"]["results"]] == [group.name]


async def test_an_unknown_account_in_restrictions_is_refused(writer, fresh_site):
    body = [
        {"operation": "read", "restrictions": {"user": [{"type": "known", "accountId": "nobody"}]}}
    ]
    response = await writer.put(
        f"{V1}/content/{fresh_site.content_meta(0).id}/restriction", json=body
    )
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


async def test_labels_are_added_and_listed(writer, fresh_site, check_v1, confluence_openapi):
    page = fresh_site.content_meta(2)
    body = [{"prefix": "global", "name": "restored"}, {"prefix": "global", "name": "runbook"}]
    check_v1("labelAddRequest", body)
    response = await writer.post(f"{V1}/content/{page.id}/label", json=body)
    assert response.status_code == 200, response.text
    check_v1("labelAddResponse", response.json())
    listed = await writer.get(f"{V2}/pages/{page.id}/labels")
    confluence_openapi.validate_response("/pages/{id}/labels", "GET", 200, listed.json())
    names = [label["name"] for label in listed.json()["results"]]
    assert "restored" in names and names.count("runbook") == 1
    label_id = next(
        label["id"] for label in listed.json()["results"] if label["name"] == "restored"
    )
    labelled = await writer.get(f"{V2}/labels/{label_id}/pages")
    assert [p["id"] for p in labelled.json()["results"]] == [page.id]


async def test_an_attachment_needs_the_no_check_header(writer, fresh_site):
    page = fresh_site.content_meta(3)
    files = {"file": ("a.txt", b"x", "text/plain")}
    response = await writer.post(f"{V1}/content/{page.id}/child/attachment", files=files)
    assert response.status_code == 403
    assert response.json()["statusCode"] == 403


async def test_an_uploaded_attachment_is_listed_and_downloadable(
    writer, fresh_site, check_v1, confluence_openapi
):
    page = fresh_site.content_meta(3)
    content = b"\x89PNG\r\n" + bytes(range(256))
    response = await writer.post(
        f"{V1}/content/{page.id}/child/attachment",
        files={"file": ("схема.png", content, "image/png")},
        data={"comment": "restored"},
        headers=NO_CHECK,
    )
    assert response.status_code == 200, response.text
    check_v1("attachmentUploadResponse", response.json())
    (made,) = response.json()["results"]
    listed = await writer.get(f"{V2}/pages/{page.id}/attachments")
    confluence_openapi.validate_response("/pages/{id}/attachments", "GET", 200, listed.json())
    shown = next(a for a in listed.json()["results"] if a["id"] == made["id"])
    assert shown["comment"] == "restored" and shown["fileSize"] == len(content)
    site_wide = await writer.get(f"{V2}/attachments", params={"limit": 250})
    assert made["id"] in [a["id"] for a in site_wide.json()["results"]]
    download = await writer.get("/wiki" + shown["downloadLink"].split("?")[0])
    assert download.content == content
    again = await writer.post(
        f"{V1}/content/{page.id}/child/attachment",
        files={"file": ("схема.png", b"y", "image/png")},
        headers=NO_CHECK,
    )
    assert again.status_code == 400


async def test_comments_are_authored_by_the_caller(writer, confluence_openapi):
    space = await make_space(writer, confluence_openapi)
    page = await make_page(writer, confluence_openapi, space["id"], "Discussed")
    me = (await writer.get("/rest/api/3/myself")).json()["accountId"]
    footer = {"pageId": page["id"], "body": storage("<p>Originally by Ana</p>")}
    confluence_openapi.validate_request("/footer-comments", "POST", footer)
    response = await writer.post(f"{V2}/footer-comments", json=footer)
    assert response.status_code == 201, response.text
    confluence_openapi.validate_response("/footer-comments", "POST", 201, response.json())
    assert response.json()["version"]["authorId"] == me
    reply = {"parentCommentId": response.json()["id"], "body": storage("<p>reply</p>")}
    assert (await writer.post(f"{V2}/footer-comments", json=reply)).status_code == 201
    inline = {
        "pageId": page["id"],
        "body": storage("<p>note</p>"),
        "inlineCommentProperties": {
            "textSelection": "body text",
            "textSelectionMatchCount": 1,
            "textSelectionMatchIndex": 0,
        },
    }
    confluence_openapi.validate_request("/inline-comments", "POST", inline)
    made = await writer.post(f"{V2}/inline-comments", json=inline)
    assert made.status_code == 201, made.text
    confluence_openapi.validate_response("/inline-comments", "POST", 201, made.json())
    roots = await writer.get(f"{V2}/pages/{page['id']}/footer-comments")
    assert len(roots.json()["results"]) == 1
    site_wide = await writer.get(f"{V2}/footer-comments", params={"limit": 250})
    ids = [c["id"] for c in site_wide.json()["results"]]
    assert response.json()["id"] in ids
    inline_listed = await writer.get(f"{V2}/pages/{page['id']}/inline-comments")
    assert (
        inline_listed.json()["results"][0]["properties"]["inlineOriginalSelection"] == "body text"
    )


async def test_an_inline_comment_needs_a_selection_found_on_the_page(writer, confluence_openapi):
    space = await make_space(writer, confluence_openapi)
    page = await make_page(writer, confluence_openapi, space["id"], "Annotated")
    body = {"pageId": page["id"], "body": storage("<p>note</p>")}
    assert (await writer.post(f"{V2}/inline-comments", json=body)).status_code == 400
    body["inlineCommentProperties"] = {
        "textSelection": "absent",
        "textSelectionMatchCount": 1,
        "textSelectionMatchIndex": 0,
    }
    assert (await writer.post(f"{V2}/inline-comments", json=body)).status_code == 400


async def test_content_properties_are_added_and_listed(writer, fresh_site, confluence_openapi):
    page = fresh_site.content_meta(4)
    body = {"key": "backupbot.origin", "value": {"originId": "123"}}
    confluence_openapi.validate_request("/pages/{page-id}/properties", "POST", body)
    response = await writer.post(f"{V2}/pages/{page.id}/properties", json=body)
    assert response.status_code == 200, response.text
    confluence_openapi.validate_response(
        "/pages/{page-id}/properties", "POST", 200, response.json()
    )
    listed = await writer.get(f"{V2}/pages/{page.id}/properties")
    confluence_openapi.validate_response("/pages/{page-id}/properties", "GET", 200, listed.json())
    assert [p["value"] for p in listed.json()["results"]] == [{"originId": "123"}]
    assert (await writer.post(f"{V2}/pages/{page.id}/properties", json=body)).status_code == 400


async def test_blog_posts_are_created_and_listed(writer, confluence_openapi):
    space = await make_space(writer, confluence_openapi)
    body = {"spaceId": space["id"], "title": "News", "body": storage("<p>news</p>")}
    confluence_openapi.validate_request("/blogposts", "POST", body)
    response = await writer.post(f"{V2}/blogposts", json=body)
    assert response.status_code == 200, response.text
    confluence_openapi.validate_response("/blogposts", "POST", 200, response.json())
    listed = await writer.get(f"{V2}/spaces/{space['id']}/blogposts")
    assert [b["title"] for b in listed.json()["results"]] == ["News"]


async def test_deleting_a_page_removes_its_attachments_and_comments(writer, fresh_site):
    page = fresh_site.content_meta(0)  # has attachments and comments
    attachment = fresh_site.content_attachment(0, 0)
    assert (await writer.delete(f"{V2}/pages/{page.id}")).status_code == 204
    assert (await writer.get(f"{V2}/pages/{page.id}")).status_code == 404
    pages = await listed_pages(writer, page.space.id)
    assert page.id not in [p["id"] for p in pages]
    assert all(p.get("parentId") != page.id for p in pages)
    attachments = await writer.get(f"{V2}/attachments", params={"limit": 250})
    assert attachment.id not in [a["id"] for a in attachments.json()["results"]]
    comments = await writer.get(f"{V2}/footer-comments", params={"limit": 250})
    assert all(c.get("pageId") != page.id for c in comments.json()["results"])
    download = await writer.get(f"/wiki/download/attachments/{page.id}/{attachment.filename}")
    assert download.status_code == 404
    title_free = {"spaceId": page.space.id, "title": page.title, "body": storage("<p>back</p>")}
    assert (await writer.post(f"{V2}/pages", json=title_free)).status_code == 200


async def test_an_empty_site_has_users_but_no_spaces(make_client):
    app = create_app(SiteData.empty(4))
    async with make_client(app) as client:
        spaces = await client.get(f"{V2}/spaces")
        assert spaces.json()["results"] == []
        assert app.state.data.users


async def test_a_large_site_starts_at_once_and_writes_stay_cheap(make_client):
    data = SiteData.generate(2, projects=5, issues=100_000, spaces=2, pages=200)
    app = create_app(data)
    async with make_client(app) as client:
        body = {
            "issueUpdates": [
                {
                    "fields": {
                        "project": {"key": "ENG"},
                        "issuetype": {"id": "10003"},
                        "summary": "new",
                    }
                }
            ]
        }
        created = await client.post("/rest/api/3/issue/bulk", json=body)
        assert created.status_code == 201
        key = created.json()["issues"][0]["key"]
        found = await client.get("/rest/api/3/search/jql", params={"jql": f"key = {key}"})
        assert [i["id"] for i in found.json()["issues"]] == [created.json()["issues"][0]["id"]]
