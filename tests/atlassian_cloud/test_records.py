"""Records: e-mail addresses scrubbed, attachment references built as docs/rules.md lists."""

import json

import pytest

from atlassian_cloud.records import (
    confluence_attachment_reference,
    jira_attachment_reference,
    parse_json,
)


def test_email_addresses_are_removed_at_any_depth_and_account_ids_kept():
    record = {
        "fields": {
            "reporter": {"accountId": "a-1", "emailAddress": "ann@x.example", "displayName": "Ann"},
            "watchers": [{"accountId": "a-2", "emailAddress": "bo@x.example"}],
        },
        "restrictions": {"user": {"results": [{"accountId": "a-3", "email": "cy@x.example"}]}},
        "emailAddress": "top@x.example",
    }
    assert parse_json(json.dumps(record).encode()) == {
        "fields": {
            "reporter": {"accountId": "a-1", "displayName": "Ann"},
            "watchers": [{"accountId": "a-2"}],
        },
        "restrictions": {"user": {"results": [{"accountId": "a-3"}]}},
    }


def test_an_email_field_of_something_that_is_not_a_user_is_kept():
    field = {"customfield_10100": {"email": "support@x.example", "label": "queue"}}
    assert parse_json(json.dumps(field)) == field


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_are_refused(constant):
    with pytest.raises(ValueError, match=f"{constant} is not a JSON value"):
        parse_json(f'{{"points": {constant}}}')


def test_a_jira_attachment_becomes_a_reference_to_its_issue():
    issue = {"id": "10000", "key": "ALPHA-1"}
    attachment = {
        "id": 20000,
        "filename": "plan.pdf",
        "size": 1234,
        "mimeType": "application/pdf",
        "content": "https://acme.atlassian.net/rest/api/3/attachment/content/20000",
        "created": "2024-01-02T10:00:00.000+0000",
        "author": {"accountId": "a-1", "emailAddress": "ann@x.example"},
        "thumbnail": "https://acme.atlassian.net/rest/api/3/attachment/thumbnail/20000",
    }
    assert jira_attachment_reference(issue, attachment) == {
        "id": "20000",
        "owner": {"type": "issue", "id": "10000", "key": "ALPHA-1"},
        "filename": "plan.pdf",
        "size": 1234,
        "mediaType": "application/pdf",
        "contentUrl": "https://acme.atlassian.net/rest/api/3/attachment/content/20000",
        "created": "2024-01-02T10:00:00.000+0000",
        "authorAccountId": "a-1",
    }


def test_a_confluence_attachment_becomes_a_reference_with_an_absolute_content_url():
    attachment = {
        "id": "att5002",
        "blogPostId": "3000",
        "title": "chart.png",
        "fileSize": 42,
        "mediaType": "image/png",
        "downloadLink": "/download/attachments/3000/chart.png?version=1&api=v2",
    }
    assert confluence_attachment_reference(attachment, "https://acme.atlassian.net") == {
        "id": "att5002",
        "owner": {"type": "blogpost", "id": "3000"},
        "filename": "chart.png",
        "size": 42,
        "mediaType": "image/png",
        "contentUrl": "https://acme.atlassian.net/wiki/download/attachments/3000/chart.png"
        "?version=1&api=v2",
    }


def test_a_confluence_attachment_on_custom_content_has_no_reference():
    attachment = {"id": "att1", "customContentId": "9000", "downloadLink": "/download/x"}
    assert confluence_attachment_reference(attachment, "https://acme.atlassian.net") is None


def test_the_links_download_is_used_when_download_link_is_missing():
    attachment = {"id": "att1", "pageId": "1", "_links": {"download": "/download/a/1/b.txt"}}
    reference = confluence_attachment_reference(attachment, "https://acme.atlassian.net")
    assert reference is not None
    assert reference["contentUrl"] == "https://acme.atlassian.net/wiki/download/a/1/b.txt"
