"""The records a backup is made of, built from what the Atlassian APIs return.

Pure functions of plain JSON values: user e-mail addresses are removed (people are kept as
account ids only) and attachments become references — id, owner item, file name, size, media
type and content URL — which restore re-links while the file still exists (ARCHITECTURE §1).
"""

from __future__ import annotations

from typing import Any

JSONObject = dict[str, Any]


def scrub_emails(value: Any) -> Any:
    """Remove `emailAddress` anywhere in `value`, and `email` from any user object (a mapping
    that carries an `accountId`): a backup names people by account id only.

    In place, and returns `value`: records are freshly parsed JSON that nothing else holds, and
    rebuilding every mapping of a 2 MB bulkfetch answer costs more than reading it.
    """
    containers = (dict, list)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            node.pop("emailAddress", None)
            if "accountId" in node:
                node.pop("email", None)
            stack += [item for item in node.values() if isinstance(item, containers)]
        elif isinstance(node, list):
            stack += [item for item in node if isinstance(item, containers)]
    return value


def jira_attachment_reference(issue: JSONObject, attachment: JSONObject) -> JSONObject:
    """`{id, owner: {type: "issue", id, key}, filename, size, mediaType, contentUrl, created,
    authorAccountId}` from an entry of an issue's `fields.attachment`."""
    author = attachment.get("author")
    return {
        "id": str(attachment.get("id")),
        "owner": {"type": "issue", "id": str(issue.get("id")), "key": issue.get("key")},
        "filename": attachment.get("filename"),
        "size": attachment.get("size"),
        "mediaType": attachment.get("mimeType"),
        "contentUrl": attachment.get("content"),
        "created": attachment.get("created"),
        "authorAccountId": author.get("accountId") if isinstance(author, dict) else None,
    }


def confluence_attachment_owner(attachment: JSONObject) -> JSONObject | None:
    """The page or blog post an attachment belongs to; None for any other container."""
    if attachment.get("pageId"):
        return {"type": "page", "id": str(attachment["pageId"])}
    if attachment.get("blogPostId"):
        return {"type": "blogpost", "id": str(attachment["blogPostId"])}
    return None


def confluence_attachment_reference(attachment: JSONObject, origin: str) -> JSONObject | None:
    """`{id, owner: {type: "page"|"blogpost", id}, filename, size, mediaType, contentUrl}` from a
    v2 attachment; None when it belongs to neither a page nor a blog post.

    v2 gives `downloadLink` relative to the Confluence base (`<origin>/wiki`); the reference holds
    an absolute URL on the site's origin, as Jira's `content` URLs are.
    """
    owner = confluence_attachment_owner(attachment)
    if owner is None:
        return None
    link = attachment.get("downloadLink")
    if not isinstance(link, str):
        links = attachment.get("_links")
        link = links.get("download") if isinstance(links, dict) else None
    content_url: str | None = None
    if isinstance(link, str):
        content_url = link if "://" in link else f"{origin}/wiki/{link.lstrip('/')}"
    return {
        "id": str(attachment.get("id")),
        "owner": owner,
        "filename": attachment.get("title"),
        "size": attachment.get("fileSize"),
        "mediaType": attachment.get("mediaType"),
        "contentUrl": content_url,
    }
