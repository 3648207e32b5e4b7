"""Jira writes on the sandbox: what a restore does, what Jira refuses, and every read seeing it."""

import pytest

from sandbox import SiteData, create_app

API = "/rest/api/3"
pytestmark = pytest.mark.anyio


def adf(text: str) -> dict:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def issue_update(project: str, summary: str, **fields) -> dict:
    return {
        "fields": {
            "project": {"key": project},
            "issuetype": {"name": "Task"},
            "summary": summary,
            **fields,
        }
    }


@pytest.fixture
async def project(writer, fresh_site, jira_openapi):
    lead = fresh_site.users[0].account_id
    body = {
        "key": "RST",
        "name": "Restored Project",
        "projectTypeKey": "software",
        "leadAccountId": lead,
        "description": "Restored by backupbot",
    }
    jira_openapi.validate_request(f"{API}/project", "POST", body)
    response = await writer.post(f"{API}/project", json=body)
    assert response.status_code == 201, response.text
    jira_openapi.validate_response(f"{API}/project", "POST", 201, response.json())
    return response.json()


async def create(writer, jira_openapi, updates, status=201):
    body = {"issueUpdates": updates}
    jira_openapi.validate_request(f"{API}/issue/bulk", "POST", body)
    response = await writer.post(f"{API}/issue/bulk", json=body)
    assert response.status_code == status, response.text
    jira_openapi.validate_response(f"{API}/issue/bulk", "POST", status, response.json())
    return response.json()


async def test_a_created_project_is_listed_and_readable(writer, project, jira_openapi):
    assert project["key"] == "RST"
    response = await writer.get(f"{API}/project/RST")
    assert response.status_code == 200
    jira_openapi.validate_response(f"{API}/project/{{projectIdOrKey}}", "GET", 200, response.json())
    assert response.json()["name"] == "Restored Project"
    listed = await writer.get(f"{API}/project/search", params={"expand": "insight"})
    values = {p["key"]: p for p in listed.json()["values"]}
    assert values["RST"]["insight"]["totalIssueCount"] == 0


async def test_an_existing_project_key_is_refused(writer, project, jira_openapi):
    body = {
        "key": "RST",
        "name": "Another",
        "projectTypeKey": "business",
        "leadAccountId": project and (await writer.get(f"{API}/myself")).json()["accountId"],
    }
    response = await writer.post(f"{API}/project", json=body)
    assert response.status_code == 400
    jira_openapi.validate_component("ErrorCollection", response.json())
    assert "projectKey" in response.json()["errors"]


async def test_an_unknown_field_is_refused(writer, fresh_site):
    body = {
        "key": "NEW",
        "name": "New",
        "projectTypeKey": "software",
        "leadAccountId": fresh_site.users[0].account_id,
        "colour": "red",
    }
    response = await writer.post(f"{API}/project", json=body)
    assert response.status_code == 400
    assert "colour" in response.json()["errorMessages"][0]


async def test_created_issues_start_in_to_do_and_appear_in_search_and_bulkfetch(
    writer, project, jira_openapi
):
    result = await create(
        writer,
        jira_openapi,
        [
            {
                **issue_update(
                    "RST",
                    "First restored",
                    description=adf("Hallo Welt"),
                    labels=["größe"],
                    priority={"name": "High"},
                ),
                "properties": [{"key": "backupbot.origin", "value": {"originId": "ENG-7"}}],
            },
            issue_update("RST", "Second restored"),
        ],
    )
    assert [i["key"] for i in result["issues"]] == ["RST-1", "RST-2"]
    assert result["errors"] == []
    response = await writer.get(
        f"{API}/search/jql",
        params={
            "jql": "project = RST",
            "fields": "summary,status,description,labels",
            "properties": "backupbot.origin",
        },
    )
    assert response.status_code == 200
    jira_openapi.validate_response(f"{API}/search/jql", "GET", 200, response.json())
    first, second = response.json()["issues"]
    assert first["fields"]["status"]["name"] == "To Do"
    assert first["fields"]["description"] == adf("Hallo Welt")
    assert first["fields"]["labels"] == ["größe"]
    assert first["properties"] == {"backupbot.origin": {"originId": "ENG-7"}}
    assert second["properties"] == {}
    fetched = await writer.post(
        f"{API}/issue/bulkfetch",
        json={
            "issueIdsOrKeys": ["RST-1"],
            "fields": ["reporter", "priority"],
            "properties": ["backupbot.origin"],
        },
    )
    jira_openapi.validate_response(f"{API}/issue/bulkfetch", "POST", 200, fetched.json())
    (issue,) = fetched.json()["issues"]
    me = (await writer.get(f"{API}/myself")).json()
    assert issue["fields"]["reporter"]["accountId"] == me["accountId"]
    assert issue["fields"]["priority"]["name"] == "High"
    assert issue["properties"]["backupbot.origin"] == {"originId": "ENG-7"}


async def test_issues_in_a_generated_project_continue_its_numbering(
    writer, fresh_site, jira_openapi
):
    project = fresh_site.projects[0]
    result = await create(writer, jira_openapi, [issue_update(project.key, "Late arrival")])
    assert result["issues"][0]["key"] == f"{project.key}-{project.issue_count + 1}"
    found = await writer.get(
        f"{API}/search/jql", params={"jql": f"project = {project.key}", "maxResults": 5000}
    )
    assert len(found.json()["issues"]) == project.issue_count + 1


async def test_more_than_50_issues_in_one_request_are_refused(writer, project, jira_openapi):
    body = {"issueUpdates": [issue_update("RST", f"n{n}") for n in range(51)]}
    response = await writer.post(f"{API}/issue/bulk", json=body)
    assert response.status_code == 400
    jira_openapi.validate_component("ErrorCollection", response.json())
    assert "50" in response.json()["errorMessages"][0]


async def test_invalid_elements_fail_alone(writer, project, fresh_site, jira_openapi):
    inactive = next(u for u in fresh_site.users if not u.active)
    result = await create(
        writer,
        jira_openapi,
        [
            issue_update(
                "RST",
                "good",
                assignee={"accountId": fresh_site.users[1].account_id},
                reporter={"accountId": fresh_site.users[2].account_id},
            ),
            issue_update("RST", "unknown field", customfield_10001="x"),
            issue_update("RST", "", security={"name": "Internal"}),
            issue_update("RST", "inactive assignee", assignee={"accountId": inactive.account_id}),
        ],
    )
    assert [i["key"] for i in result["issues"]] == ["RST-1"]
    errors = {e["failedElementNumber"]: e["elementErrors"]["errors"] for e in result["errors"]}
    assert set(errors) == {1, 2, 3}
    assert "customfield_10001" in errors[1]
    assert "summary" in errors[2]
    assert "assignee" in errors[3]
    fetched = await writer.post(
        f"{API}/issue/bulkfetch",
        json={"issueIdsOrKeys": ["RST-1"], "fields": ["assignee", "reporter"]},
    )
    fields = fetched.json()["issues"][0]["fields"]
    assert fields["assignee"]["accountId"] == fresh_site.users[1].account_id
    assert fields["reporter"]["accountId"] == fresh_site.users[2].account_id


async def test_all_elements_invalid_answers_400(writer, project, jira_openapi):
    result = await create(writer, jira_openapi, [issue_update("NOPE", "x")], status=400)
    assert result["issues"] == [] and result["errors"][0]["status"] == 400


async def test_transitions_walk_the_workflow(writer, project, jira_openapi):
    await create(writer, jira_openapi, [issue_update("RST", "to be done")])
    path = f"{API}/issue/{{issueIdOrKey}}/transitions"
    for name in ("In Progress", "In Review", "Done"):
        listed = await writer.get(f"{API}/issue/RST-1/transitions")
        jira_openapi.validate_response(path, "GET", 200, listed.json())
        chosen = next(t for t in listed.json()["transitions"] if t["to"]["name"] == name)
        body = {"transition": {"id": chosen["id"]}}
        jira_openapi.validate_request(path, "POST", body)
        response = await writer.post(f"{API}/issue/RST-1/transitions", json=body)
        assert response.status_code == 204
    fetched = await writer.post(
        f"{API}/issue/bulkfetch",
        json={
            "issueIdsOrKeys": ["RST-1"],
            "fields": ["status", "resolution"],
            "expand": ["changelog"],
        },
    )
    issue = fetched.json()["issues"][0]
    assert issue["fields"]["status"]["name"] == "Done"
    assert issue["fields"]["resolution"]["name"] == "Done"
    assert issue["changelog"]["total"] == 3


async def test_an_unavailable_transition_is_refused(writer, project, jira_openapi):
    await create(writer, jira_openapi, [issue_update("RST", "straight to done")])
    response = await writer.post(
        f"{API}/issue/RST-1/transitions", json={"transition": {"id": "41"}}
    )
    assert response.status_code == 400
    jira_openapi.validate_component("ErrorCollection", response.json())


async def test_a_comment_is_authored_by_the_caller_now(writer, fresh_site, jira_openapi):
    key = fresh_site.issue_head(3).key  # an issue without comments
    body = {"body": adf("Originally by Ana on 2024-01-02")}
    path = f"{API}/issue/{{issueIdOrKey}}/comment"
    jira_openapi.validate_request(path, "POST", body)
    response = await writer.post(f"{API}/issue/{key}/comment", json=body)
    assert response.status_code == 201
    jira_openapi.validate_response(path, "POST", 201, response.json())
    me = (await writer.get(f"{API}/myself")).json()
    assert response.json()["author"]["accountId"] == me["accountId"]
    assert response.json()["created"].startswith("20")
    listed = await writer.get(f"{API}/issue/{key}/comment")
    assert listed.json()["comments"][-1]["body"] == body["body"]


async def test_a_link_shows_on_both_issues(writer, fresh_site, jira_openapi):
    a, b = fresh_site.issue_head(40).key, fresh_site.issue_head(41).key
    body = {"type": {"name": "Blocks"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}}
    jira_openapi.validate_request(f"{API}/issueLink", "POST", body)
    response = await writer.post(f"{API}/issueLink", json=body)
    assert response.status_code == 201
    fetched = await writer.post(
        f"{API}/issue/bulkfetch", json={"issueIdsOrKeys": [a, b], "fields": ["issuelinks"]}
    )
    links = {i["key"]: i["fields"]["issuelinks"] for i in fetched.json()["issues"]}
    assert any(link.get("outwardIssue", {}).get("key") == b for link in links[a])
    assert any(link.get("inwardIssue", {}).get("key") == a for link in links[b])
    for link in links[a] + links[b]:
        jira_openapi.validate_component("IssueLinkOnIssue", link)


async def test_entity_properties_are_set_read_and_deleted(writer, fresh_site, jira_openapi):
    key = fresh_site.issue_head(5).key
    url = f"{API}/issue/{key}/properties/backupbot.origin"
    assert (await writer.put(url, json={"originId": "X-1"})).status_code == 201
    assert (await writer.put(url, json={"originId": "X-2"})).status_code == 200
    got = await writer.get(url)
    jira_openapi.validate_response(
        f"{API}/issue/{{issueIdOrKey}}/properties/{{propertyKey}}", "GET", 200, got.json()
    )
    assert got.json() == {"key": "backupbot.origin", "value": {"originId": "X-2"}}
    assert (await writer.delete(url)).status_code == 204
    assert (await writer.get(url)).status_code == 404


async def test_an_attachment_needs_the_no_check_header(writer, fresh_site):
    key = fresh_site.issue_head(5).key
    files = {"file": ("notes.txt", b"hello", "text/plain")}
    response = await writer.post(f"{API}/issue/{key}/attachments", files=files)
    assert response.status_code == 403
    assert response.json()["errorMessages"] == ["XSRF check failed"]


async def test_an_uploaded_attachment_is_listed_and_downloadable(writer, fresh_site, jira_openapi):
    key = fresh_site.issue_head(5).key
    content = bytes(range(256)) * 4
    response = await writer.post(
        f"{API}/issue/{key}/attachments",
        files={"file": ("Überblick.bin", content, "application/octet-stream")},
        headers={"X-Atlassian-Token": "no-check"},
    )
    assert response.status_code == 200, response.text
    jira_openapi.validate_response(
        f"{API}/issue/{{issueIdOrKey}}/attachments", "POST", 200, response.json()
    )
    (attachment,) = response.json()
    assert attachment["filename"] == "Überblick.bin" and attachment["size"] == len(content)
    download = await writer.get(
        f"{API}/attachment/content/{attachment['id']}", params={"redirect": "false"}
    )
    assert download.content == content
    fetched = await writer.post(
        f"{API}/issue/bulkfetch", json={"issueIdsOrKeys": [key], "fields": ["attachment"]}
    )
    assert attachment["id"] in [
        a["id"] for a in fetched.json()["issues"][0]["fields"]["attachment"]
    ]


async def test_deleting_an_issue_removes_it_with_its_comments_and_attachments(writer, fresh_site):
    index = next(i for i in range(fresh_site.issue_count) if fresh_site.issue(i).attachments)
    issue = fresh_site.issue(index)
    attachment_id = issue.attachments[0].id
    assert (await writer.delete(f"{API}/issue/{issue.key}")).status_code == 204
    assert (await writer.get(f"{API}/issue/{issue.key}/comment")).status_code == 404
    content = await writer.get(f"{API}/attachment/content/{attachment_id}")
    assert content.status_code == 404
    found = await writer.get(
        f"{API}/search/jql",
        params={"jql": f"project = {issue.head.project.key}", "maxResults": 5000},
    )
    assert issue.id not in [i["id"] for i in found.json()["issues"]]
    bulk = await writer.post(f"{API}/issue/bulkfetch", json={"issueIdsOrKeys": [issue.key]})
    assert bulk.json()["issues"] == []


async def test_an_empty_site_has_users_but_no_projects(make_client):
    app = create_app(SiteData.empty(4))
    async with make_client(app) as client:
        projects = await client.get(f"{API}/project/search")
        assert projects.json()["values"] == []
        assert len(app.state.data.users) > 5


async def test_writes_are_counted_limited_and_faulted(make_client):
    app = create_app(SiteData.empty(4))
    async with make_client(app) as client:
        app.state.faults.fail(503, paths=[f"{API}/project"], times=1)
        lead = app.state.data.users[0].account_id
        body = {"key": "AB", "name": "Ab", "projectTypeKey": "business", "leadAccountId": lead}
        assert (await client.post(f"{API}/project", json=body)).status_code == 503
        assert (await client.post(f"{API}/project", json=body)).status_code == 201
        stats = (await client.get("/__sandbox/stats")).json()
        assert stats["writes"] == 1 and stats["writesByKind"] == {"projects": 1}
