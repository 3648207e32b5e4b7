"""A backup of the sandbox reads back item for item: everything the site serves through its API
is in the snapshot, compared with what a plain HTTP client reads, not by counting lines."""

import json
from typing import Any

import httpx

from jobs import backup
from policy.statuses import BackupStatus
from storage.snapshot import SnapshotReader


def read_all(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a Confluence v2 listing, following the Link header's next page."""
    items: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = {"limit": 250, **params}
    while url:
        response = client.get(url, params=query)
        response.raise_for_status()
        items += response.json()["results"]
        url, query = response.links.get("next", {}).get("url"), None
    return items


def run_backup(deployment, site: str, location: str | None = None):
    queued = backup.queue(deployment.context, site, location, "alice@example.com")
    return backup.run(deployment.context, queued.id)


def snapshot(deployment, site: str, backup_id: str, location: str = "managed") -> SnapshotReader:
    return SnapshotReader(
        deployment.store(location), site, backup_id, deployment.context.manifest_key
    )


def jira_truth(api: httpx.Client, site_origin: str) -> dict[str, Any]:
    """Projects, issues and every comment as the site's API serves them."""
    projects = api.get("/rest/api/3/project/search", params={"maxResults": 100}).json()
    issues: dict[str, dict[str, Any]] = {}
    for project in projects["values"]:
        token = None
        while True:
            params = {"jql": f'project = "{project["key"]}"', "maxResults": 100}
            if token:
                params["nextPageToken"] = token
            page = api.get("/rest/api/3/search/jql", params=params).json()
            ids = [issue["id"] for issue in page["issues"]]
            if ids:
                body = {"issueIdsOrKeys": ids, "fields": ["*all"]}
                fetched = api.post("/rest/api/3/issue/bulkfetch", json=body).json()
                issues.update({issue["id"]: issue for issue in fetched["issues"]})
            token = page.get("nextPageToken")
            if not token:
                break
    comments: dict[str, dict[str, Any]] = {}
    for issue_id in issues:
        start = 0
        while True:
            page = api.get(
                f"/rest/api/3/issue/{issue_id}/comment",
                params={"startAt": start, "maxResults": 100},
            ).json()
            comments.update({c["id"]: {**c, "issueId": issue_id} for c in page["comments"]})
            start += len(page["comments"])
            if not page["comments"] or start >= page["total"]:
                break
    truth = {"projects": projects["values"], "issues": issues, "comments": comments}
    # The checker reaches the site on another port: name it as the backup did.
    origin = str(api.base_url).rstrip("/")
    return json.loads(json.dumps(truth).replace(origin, site_origin))


def test_a_jira_backup_holds_every_issue_comment_and_attachment_the_site_serves(deployment):
    site = deployment()
    result = run_backup(site, "sb-jira")
    assert result.status is BackupStatus.COMPLETED, result.error
    with site.api() as api:
        truth = jira_truth(api, site.origin)
    reader = snapshot(site, "sb-jira", result.backup_id)

    projects = {p["key"] for p in reader.records("projects")}
    assert projects == {p["key"] for p in truth["projects"]}

    issues = {issue["id"]: issue for issue in reader.records("issues")}
    assert issues.keys() == truth["issues"].keys()
    for issue_id, served in truth["issues"].items():
        stored = issues[issue_id]["fields"]
        for field in ("summary", "description", "status", "labels", "security", "issuelinks"):
            assert stored.get(field) == _without_emails(served["fields"].get(field)), field
    assert any(i["fields"].get("security") for i in issues.values()), "some issues are secured"

    comments = {c["id"]: c for c in reader.records("comments")}
    assert comments.keys() == truth["comments"].keys()
    for comment_id, served in truth["comments"].items():
        assert comments[comment_id]["body"] == served["body"]
        assert comments[comment_id]["issueId"] == served["issueId"]
    per_issue = [sum(1 for c in comments.values() if c["issueId"] == i) for i in issues]
    assert max(per_issue) > 20, "the site has issues with more comments than one page embeds"

    served_attachments = {
        str(a["id"]): (a["filename"], a["size"], issue_id)
        for issue_id, issue in truth["issues"].items()
        for a in issue["fields"].get("attachment") or []
    }
    stored_attachments = {
        a["id"]: (a["filename"], a["size"], a["owner"]["id"]) for a in reader.records("attachments")
    }
    assert stored_attachments == served_attachments
    assert result.attachment_bytes == sum(size for _, size, _ in served_attachments.values())


def test_a_confluence_backup_holds_every_page_post_comment_restriction_and_attachment(deployment):
    site = deployment()
    result = run_backup(site, "sb-wiki")
    assert result.status is BackupStatus.COMPLETED, result.error
    reader = snapshot(site, "sb-wiki", result.backup_id)

    with site.api() as api:
        spaces = read_all(api, "/wiki/api/v2/spaces")
        pages = {
            p["id"]: p
            for s in spaces
            for p in read_all(
                api, f"/wiki/api/v2/spaces/{s['id']}/pages", **{"body-format": "storage"}
            )
        }
        posts = {
            p["id"]: p
            for s in spaces
            for p in read_all(
                api, f"/wiki/api/v2/spaces/{s['id']}/blogposts", **{"body-format": "storage"}
            )
        }
        footer = {
            c["id"]: c
            for c in read_all(api, "/wiki/api/v2/footer-comments", **{"body-format": "storage"})
        }
        inline = {
            c["id"]: c
            for c in read_all(api, "/wiki/api/v2/inline-comments", **{"body-format": "storage"})
        }
        attachments = {a["id"]: a for a in read_all(api, "/wiki/api/v2/attachments")}
        labels = {
            pid: {label["name"] for label in read_all(api, f"/wiki/api/v2/pages/{pid}/labels")}
            for pid in pages
        }
        restrictions = {
            pid: api.get(f"/wiki/rest/api/content/{pid}/restriction/byOperation").json()
            for pid in pages
        }  # fmt: skip

    assert {s["id"] for s in reader.records("spaces")} == {s["id"] for s in spaces}
    stored_pages = {p["id"]: p for p in reader.records("pages")}
    assert stored_pages.keys() == pages.keys()
    for page_id, served in pages.items():
        stored = stored_pages[page_id]
        assert stored["title"] == served["title"]
        assert stored["body"]["storage"]["value"] == served["body"]["storage"]["value"]
        assert stored.get("parentId") == served.get("parentId")
        assert {label["name"] for label in stored["labels"]} == labels[page_id]
        for operation in ("read", "update"):
            assert _principals(stored["restrictions"][operation]) == _principals(
                restrictions[page_id][operation]
            )
    assert any(_principals(p["restrictions"]["read"]) for p in stored_pages.values())
    depth = max(_depth(stored_pages, page_id) for page_id in stored_pages)
    assert depth >= 3, "page trees several levels deep are kept with their parents"

    assert {p["id"] for p in reader.records("blogposts")} == posts.keys()
    assert {c["id"]: c["body"] for c in reader.records("footer_comments")} == {
        i: c["body"] for i, c in footer.items()
    }
    assert {c["id"] for c in reader.records("inline_comments")} == inline.keys()
    stored_attachments = {a["id"]: a for a in reader.records("attachments")}
    assert stored_attachments.keys() == attachments.keys()
    for attachment_id, served in attachments.items():
        assert stored_attachments[attachment_id]["size"] == served["fileSize"]
        assert stored_attachments[attachment_id]["filename"] == served["title"]


def test_no_email_address_is_stored_anywhere_in_a_backup(deployment):
    site = deployment()
    for name in ("sb-jira", "sb-wiki"):
        result = run_backup(site, name)
        reader = snapshot(site, name, result.backup_id)
        for entity in reader.entities:
            for record in reader.records(entity):
                text = json.dumps(record)
                assert "emailAddress" not in text
                assert "@example" not in text and "@acme" not in text, entity


def _without_emails(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_emails(v) for k, v in value.items() if k != "emailAddress"}
    if isinstance(value, list):
        return [_without_emails(v) for v in value]
    return value


def _principals(restriction: dict[str, Any]) -> tuple[set[str], set[str]]:
    users = restriction["restrictions"]["user"]["results"]
    groups = restriction["restrictions"]["group"]["results"]
    return {u["accountId"] for u in users}, {g.get("id") or g["name"] for g in groups}


def _depth(pages: dict[str, dict[str, Any]], page_id: str) -> int:
    depth = 1
    parent = pages[page_id].get("parentId")
    while parent in pages:
        depth += 1
        parent = pages[parent].get("parentId")
    return depth
