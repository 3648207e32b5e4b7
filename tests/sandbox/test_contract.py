"""Every endpoint the sandbox serves answers bodies that Atlassian's descriptions admit."""

import pytest

from sandbox.data import SiteData

JIRA = "jira"
CONFLUENCE = "confluence"
V2 = "/wiki/api/v2"

# (name, API, HTTP method, URL with {placeholders}, JSON body, path in the description)
CASES = [
    (
        "permissions-check",
        JIRA,
        "POST",
        "/rest/api/3/permissions/check",
        {"globalPermissions": ["USER_PICKER", "ADMINISTER"]},
        "/rest/api/3/permissions/check",
    ),
    ("myself", JIRA, "GET", "/rest/api/3/myself", None, "/rest/api/3/myself"),
    (
        "myself-expanded",
        JIRA,
        "GET",
        "/rest/api/3/myself?expand=groups,applicationRoles",
        None,
        "/rest/api/3/myself",
    ),
    (
        "projects",
        JIRA,
        "GET",
        "/rest/api/3/project/search?maxResults=2",
        None,
        "/rest/api/3/project/search",
    ),
    (
        "projects-expanded",
        JIRA,
        "GET",
        "/rest/api/3/project/search?expand=description,lead,issueTypes,url,insight",
        None,
        "/rest/api/3/project/search",
    ),
    (
        "search-ids",
        JIRA,
        "GET",
        "/rest/api/3/search/jql?jql=project%20%3D%20{project}&maxResults=10",
        None,
        "/rest/api/3/search/jql",
    ),
    (
        "search-all-fields",
        JIRA,
        "GET",
        "/rest/api/3/search/jql?jql=project={project}&maxResults=20&fields=*all&expand=changelog",
        None,
        "/rest/api/3/search/jql",
    ),
    (
        "search-post",
        JIRA,
        "POST",
        "/rest/api/3/search/jql",
        {"jql": "project = {project} ORDER BY key", "fields": ["summary", "key"], "maxResults": 5},
        "/rest/api/3/search/jql",
    ),
    (
        "bulkfetch",
        JIRA,
        "POST",
        "/rest/api/3/issue/bulkfetch",
        {"issueIdsOrKeys": "{issues}", "fields": ["*all"], "expand": ["changelog"]},
        "/rest/api/3/issue/bulkfetch",
    ),
    (
        "comments",
        JIRA,
        "GET",
        "/rest/api/3/issue/{many_comments}/comment?startAt=5&maxResults=10",
        None,
        "/rest/api/3/issue/{issueIdOrKey}/comment",
    ),
    (
        "changelogs",
        JIRA,
        "POST",
        "/rest/api/3/changelog/bulkfetch",
        {"issueIdsOrKeys": "{issues}", "maxResults": 5},
        "/rest/api/3/changelog/bulkfetch",
    ),
    ("spaces", CONFLUENCE, "GET", f"{V2}/spaces?limit=2", None, "/spaces"),
    (
        "spaces-described",
        CONFLUENCE,
        "GET",
        f"{V2}/spaces?description-format=plain",
        None,
        "/spaces",
    ),
    (
        "pages-storage",
        CONFLUENCE,
        "GET",
        f"{V2}/spaces/{{space}}/pages?body-format=storage&limit=20",
        None,
        "/spaces/{id}/pages",
    ),
    (
        "pages-adf",
        CONFLUENCE,
        "GET",
        f"{V2}/spaces/{{space}}/pages?body-format=atlas_doc_format",
        None,
        "/spaces/{id}/pages",
    ),
    (
        "pages-root",
        CONFLUENCE,
        "GET",
        f"{V2}/spaces/{{space}}/pages?depth=root",
        None,
        "/spaces/{id}/pages",
    ),
    (
        "blogposts",
        CONFLUENCE,
        "GET",
        f"{V2}/spaces/{{space}}/blogposts?body-format=storage",
        None,
        "/spaces/{id}/blogposts",
    ),
    (
        "footer-comments",
        CONFLUENCE,
        "GET",
        f"{V2}/footer-comments?body-format=storage&limit=50",
        None,
        "/footer-comments",
    ),
    (
        "inline-comments",
        CONFLUENCE,
        "GET",
        f"{V2}/inline-comments?body-format=storage&limit=50",
        None,
        "/inline-comments",
    ),
    ("attachments", CONFLUENCE, "GET", f"{V2}/attachments?limit=30", None, "/attachments"),
    ("labels", CONFLUENCE, "GET", f"{V2}/labels", None, "/labels"),
    (
        "label-pages",
        CONFLUENCE,
        "GET",
        f"{V2}/labels/{{label}}/pages?body-format=storage",
        None,
        "/labels/{id}/pages",
    ),
    (
        "label-blogposts",
        CONFLUENCE,
        "GET",
        f"{V2}/labels/{{label}}/blogposts?body-format=storage",
        None,
        "/labels/{id}/blogposts",
    ),
    (
        "page-footer-comments",
        CONFLUENCE,
        "GET",
        f"{V2}/pages/{{page}}/footer-comments?body-format=storage",
        None,
        "/pages/{id}/footer-comments",
    ),
    (
        "page-inline-comments",
        CONFLUENCE,
        "GET",
        f"{V2}/pages/{{page}}/inline-comments?body-format=storage",
        None,
        "/pages/{id}/inline-comments",
    ),
    (
        "page-attachments",
        CONFLUENCE,
        "GET",
        f"{V2}/pages/{{page}}/attachments",
        None,
        "/pages/{id}/attachments",
    ),
    (
        "page-labels",
        CONFLUENCE,
        "GET",
        f"{V2}/pages/{{labelled_page}}/labels",
        None,
        "/pages/{id}/labels",
    ),
]
# Served but not JSON described by the vendored descriptions: checked in their own tests.
OTHER_ROUTES = {
    ("GET", "/rest/api/3/attachment/content/{id}"),  # bytes (test_jira)
    ("GET", "/wiki/rest/api/content/{id}/restriction/byOperation"),  # v1 (below)
    ("GET", "/wiki/download/attachments/{id}/{filename}"),  # bytes (test_confluence)
    ("GET", "/__sandbox/stats"),  # the sandbox's own (test_knobs)
    # No vendored description: checked against the documented shapes (test_directory).
    ("POST", "/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search"),
    ("GET", "/wiki/rest/api/user/memberof"),
}
# Writes, and the reads that check them: their answers are validated in test_writes_*.
DESCRIBED_WRITE_ROUTES = {
    ("POST", "/rest/api/3/project"),
    ("GET", "/rest/api/3/project/{projectIdOrKey}"),
    ("POST", "/rest/api/3/issue/bulk"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/comment"),
    ("POST", "/rest/api/3/issueLink"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("PUT", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("DELETE", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/attachments"),
    ("DELETE", "/rest/api/3/issue/{issueIdOrKey}"),
    ("POST", f"{V2}/spaces"),
    ("POST", f"{V2}/pages"),
    ("GET", f"{V2}/pages/{{id}}"),
    ("PUT", f"{V2}/pages/{{id}}"),
    ("DELETE", f"{V2}/pages/{{id}}"),
    ("POST", f"{V2}/blogposts"),
    ("POST", f"{V2}/footer-comments"),
    ("POST", f"{V2}/inline-comments"),
    ("GET", f"{V2}/pages/{{page-id}}/properties"),
    ("POST", f"{V2}/pages/{{page-id}}/properties"),
}
V1_WRITE_ROUTES = {  # described by tests/data/openapi/confluence-v1-writes.schema.json
    ("PUT", "/wiki/rest/api/content/{id}/restriction"),
    ("POST", "/wiki/rest/api/content/{id}/label"),
    ("POST", "/wiki/rest/api/content/{id}/child/attachment"),
}
# The sandbox names a path parameter `id` where the description says `page-id`.
_SPEC_PATHS = {f"{V2}/pages/{{id}}/properties": f"{V2}/pages/{{page-id}}/properties"}


@pytest.fixture
def ids(site: SiteData) -> dict[str, object]:
    """Items that make each case interesting: comments, labels, restrictions, links."""
    label = next(
        label
        for label in site.labels
        if any(label in site.labels_of(o) for o in range(site.page_count))
        and any(label in site.labels_of(o) for o in range(site.page_count, site.content_count))
    )
    labelled_page = next(o for o in range(site.page_count) if site.labels_of(o))
    return {
        "project": site.projects[0].key,
        "issues": [site.issue_head(i).key for i in range(12)],
        "many_comments": site.issue_head(7).key,
        "space": site.spaces[0].id,
        "page": site.content_meta(0).id,
        "labelled_page": site.content_meta(labelled_page).id,
        "label": label.id,
    }


def _fill(template: object, ids: dict[str, object]) -> object:
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in ids:
            return ids[template[1:-1]]
        for name, value in ids.items():
            template = template.replace(f"{{{name}}}", str(value))
        return template
    if isinstance(template, dict):
        return {key: _fill(value, ids) for key, value in template.items()}
    return template


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "api", "method", "url", "body", "path"), CASES, ids=[c[0] for c in CASES]
)
async def test_response_matches_the_description(
    client, ids, jira_openapi, confluence_openapi, name, api, method, url, body, path
):
    response = await client.request(method, str(_fill(url, ids)), json=_fill(body, ids))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    spec = jira_openapi if api == JIRA else confluence_openapi
    spec.validate_response(path, method, 200, payload)
    results = payload.get("results", payload.get("issues", payload.get("values", [1])))
    assert results, f"{name}: an empty answer proves little"


def test_every_served_route_is_covered_by_a_contract_case(app, jira_openapi, confluence_openapi):
    served = {
        (method, _SPEC_PATHS.get(route.path, route.path))
        for route in app.routes
        for method in route.methods
        if method != "HEAD"
    }
    covered = {(method, path if api == JIRA else V2 + path) for _, api, method, _, _, path in CASES}
    assert served == covered | OTHER_ROUTES | DESCRIBED_WRITE_ROUTES | V1_WRITE_ROUTES
    described = jira_openapi.operations() | {
        (method, V2 + path) for method, path in confluence_openapi.operations()
    }
    assert covered | DESCRIBED_WRITE_ROUTES <= described


@pytest.mark.anyio
async def test_issue_fields_match_their_schemas(client, site, jira_openapi):
    interesting = [
        i
        for i in range(site.issue_count)
        if site.issue(i).security or site.issue(i).links or site.issue(i).attachments
    ][:40]
    response = await client.post(
        "/rest/api/3/issue/bulkfetch",
        json={"issueIdsOrKeys": [str(10000 + i) for i in interesting], "fields": ["*all"]},
    )
    single = {
        "status": "StatusDetails",
        "issuetype": "IssueTypeDetails",
        "project": "ProjectDetails",
        "priority": "Priority",
        "reporter": "UserDetails",
        "creator": "UserDetails",
        "comment": "PageOfComments",
    }
    nullable = {"assignee": "UserDetails", "security": "SecurityLevel"}
    listed = {"attachment": "Attachment", "issuelinks": "IssueLinkOnIssue"}
    seen: set[str] = set()
    for issue in response.json()["issues"]:
        fields = issue["fields"]
        for name, schema in single.items():
            jira_openapi.validate_component(schema, fields[name])
        for name, schema in nullable.items():
            if fields[name] is not None:
                jira_openapi.validate_component(schema, fields[name])
                seen.add(name)
        for name, schema in listed.items():
            for item in fields[name]:
                jira_openapi.validate_component(schema, item)
                seen.add(name)
        for comment in fields["comment"]["comments"]:
            jira_openapi.validate_component("Comment", comment)
    assert seen == {"assignee", "security", "attachment", "issuelinks"}


@pytest.mark.anyio
async def test_restrictions_match_the_v1_schema(client, site, restrictions_schema):
    for ordinal in (0, 1, site.page_count):  # unrestricted, restricted, a blog post
        content_id = site.content_meta(ordinal).id
        response = await client.get(f"/wiki/rest/api/content/{content_id}/restriction/byOperation")
        assert response.status_code == 200
        errors = [e.message for e in restrictions_schema.iter_errors(response.json())]
        assert not errors, errors


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("GET", "/rest/api/3/search/jql?jql=", None, 400),
        ("POST", "/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": []}, 400),
        ("GET", "/rest/api/3/issue/NOPE-1/comment", None, 404),
        ("GET", "/rest/api/3/nothing-here", None, 404),
        ("GET", "/rest/api/3/attachment/content/1", None, 404),
    ],
)
async def test_jira_errors_are_error_collections(client, jira_openapi, method, url, body, status):
    response = await client.request(method, url, json=body)
    assert response.status_code == status
    jira_openapi.validate_component("ErrorCollection", response.json())
    assert response.json()["errorMessages"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"{V2}/spaces/1/pages", 404),
        (f"{V2}/spaces/abc/pages", 400),
        (f"{V2}/spaces?limit=0", 400),
        (f"{V2}/nothing-here", 404),
    ],
)
async def test_confluence_v2_errors_have_its_error_shape(client, url, status):
    response = await client.get(url)
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["status"] == status
    assert error["code"] and error["title"]


@pytest.mark.anyio
async def test_confluence_v1_errors_have_its_error_shape(client):
    response = await client.get("/wiki/rest/api/content/42/restriction/byOperation")
    assert response.status_code == 404
    body = response.json()
    assert body["statusCode"] == 404
    assert body["reason"] == "Not Found"
    assert "42" in body["message"]
