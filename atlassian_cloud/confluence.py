"""Reading a Confluence Cloud site through REST v2 (and v1 for content restrictions).

v2 lists are cursor-paged: the next page's URL comes relative to the origin in the `Link`
header (`rel="next"`). Each listing is an async iterator fetching one page (up to 250 items,
the v2 maximum) at a time, so callers hold a page, never a site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

from atlassian_cloud.errors import NotFound, UnexpectedResponse
from atlassian_cloud.records import JSONObject
from atlassian_cloud.transport import SiteClient

API = "/wiki/api/v2"
V1 = "/wiki/rest/api"
PAGE_LIMIT = 250  # every v2 list used here: "maximum": 250
MEMBEROF_PAGE = 200  # v1 /user/memberof: the default limit Atlassian documents
STORAGE_BODY = {"body-format": "storage"}  # the XHTML-based format Confluence stores and accepts
ORIGIN_PROPERTY = "backupbot.origin"  # the content property every restored page carries
NO_CHECK = {"X-Atlassian-Token": "no-check"}  # v1 uploads are refused without it (XSRF check)


def _id(value: str) -> str:
    """An id for a path segment; quoted so data from the site cannot change the path."""
    return quote(str(value), safe="")


class ConfluenceClient(SiteClient):
    """A `SiteClient` that knows Confluence Cloud's endpoints: the reads a backup makes, and the
    writes a restore makes (spaces, draft pages published once restricted, comments, content
    properties, and the v1 restrictions, labels and attachment upload v2 lacks)."""

    async def _paged(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[JSONObject]:
        query: Mapping[str, Any] | None = {**(params or {}), "limit": PAGE_LIMIT}
        target = path
        seen: set[str] = set()
        while True:
            body, next_url = await self.get_page(target, query)
            page = self._object(body, "GET", path)
            for item in self._list(page.get("results"), "GET", path):
                yield item
            if not next_url:
                return
            if next_url in seen:
                raise UnexpectedResponse(
                    self.site, "repeated a next-page link; paging stopped", method="GET", path=path
                )
            seen.add(next_url)
            # The link carries the cursor and the original query; it is fetched as given, and
            # `get_page` refuses it unless it stays on this site's origin.
            target, query = next_url, None

    def spaces(self) -> AsyncIterator[JSONObject]:
        return self._paged(f"{API}/spaces")

    def pages(self, space_id: str) -> AsyncIterator[JSONObject]:
        """A space's pages with their bodies in storage format."""
        return self._paged(f"{API}/spaces/{_id(space_id)}/pages", STORAGE_BODY)

    def blogposts(self, space_id: str) -> AsyncIterator[JSONObject]:
        """A space's blog posts with their bodies in storage format."""
        return self._paged(f"{API}/spaces/{_id(space_id)}/blogposts", STORAGE_BODY)

    def footer_comments(self) -> AsyncIterator[JSONObject]:
        """Every footer comment of the site (each names its `pageId` or `blogPostId`)."""
        return self._paged(f"{API}/footer-comments", STORAGE_BODY)

    def inline_comments(self) -> AsyncIterator[JSONObject]:
        """Every inline comment of the site, with its anchor properties."""
        return self._paged(f"{API}/inline-comments", STORAGE_BODY)

    def attachments(self) -> AsyncIterator[JSONObject]:
        """Every attachment of the site (each names its container and `downloadLink`)."""
        return self._paged(f"{API}/attachments")

    def labels(self) -> AsyncIterator[JSONObject]:
        return self._paged(f"{API}/labels")

    def label_pages(self, label_id: str) -> AsyncIterator[JSONObject]:
        """The pages carrying a label (without bodies: only their ids are needed)."""
        return self._paged(f"{API}/labels/{_id(label_id)}/pages")

    def label_blogposts(self, label_id: str) -> AsyncIterator[JSONObject]:
        """The blog posts carrying a label (without bodies)."""
        return self._paged(f"{API}/labels/{_id(label_id)}/blogposts")

    async def restrictions(self, content_id: str) -> JSONObject:
        """A page's or blog post's restrictions by operation (`read`, `update`), each with the
        users and groups it names (v1: v2 has no read endpoint for restrictions)."""
        path = f"{V1}/content/{_id(content_id)}/restriction/byOperation"
        return self._object(await self.get_json(path), "GET", path)

    def attachment_content(self, content_url: str) -> AsyncIterator[bytes]:
        """The bytes of an attachment, from the absolute URL its reference holds."""
        return self.download(content_url)

    async def group_names(self, account_id: str, *, page_size: int = MEMBEROF_PAGE) -> list[str]:
        """The names of every group the account is a member of on this site, all pages read
        (v1 `GET /user/memberof`, paged with start/limit: v2 has no such listing).

        Confluence may return fewer than `limit` groups a page ("restricted by fixed system
        limits"), so the next page is asked for while the answer links one (`_links.next`),
        starting after the groups received so far."""
        path = f"{V1}/user/memberof"
        names: list[str] = []
        start = 0
        while True:
            params = {"accountId": account_id, "start": start, "limit": page_size}
            page = self._object(await self.get_json(path, params), "GET", path)
            groups = self._list(page.get("results"), "GET", path)
            names += [str(group["name"]) for group in groups if group.get("name")]
            links = page.get("_links")
            more = isinstance(links, dict) and bool(links.get("next"))
            if not groups or not more:
                return names
            start += len(groups)

    # --- writing (restore) ---------------------------------------------------------------------

    async def space_by_key(self, key: str) -> JSONObject | None:
        """The space with this key, or None when the site has none."""
        path = f"{API}/spaces"
        page = self._object(await self.get_json(path, {"keys": key}), "GET", path)
        for space in self._list(page.get("results"), "GET", path):
            if space.get("key") == key:
                return space
        return None

    async def create_space(self, key: str, name: str, description: str | None) -> JSONObject:
        body: JSONObject = {"key": key, "name": name}
        if description:
            body["description"] = {"value": description, "representation": "plain"}
        path = f"{API}/spaces"
        return self._object(await self.post_json(path, body), "POST", path)

    async def create_content(
        self,
        kind: str,
        space_id: str,
        title: str,
        body: str,
        *,
        parent_id: str | None = None,
        status: str = "draft",
        private: bool = False,
    ) -> JSONObject:
        """Create a page (`kind` "pages") or blog post ("blogposts") with a storage-format
        body; a draft by default, which nobody but its creator sees until it is published. A
        page without `parent_id` is created at the space's root; a `private` blog post is
        restricted to the calling account (blog posts cannot be published from a draft)."""
        document: JSONObject = {
            "spaceId": space_id,
            "status": status,
            "title": title,
            "body": {"representation": "storage", "value": body},
        }
        path = f"{API}/{kind}"
        target = path
        if parent_id is not None and kind == "pages":
            document["parentId"] = parent_id
        elif kind == "pages":
            # Without it, a page without a parent goes under the space's homepage.
            target = f"{path}?root-level=true"
        elif private:
            target = f"{path}?private=true"
        return self._object(await self.post_json(target, document), "POST", path)

    async def publish(
        self, kind: str, content_id: str, title: str, body: str, version: int
    ) -> JSONObject:
        """Publish a draft: the content becomes `current` at `version`."""
        path = f"{API}/{kind}/{_id(content_id)}"
        document = {
            "id": content_id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": body},
            "version": {"number": version},
        }
        return self._object(await self.put_json(path, document), "PUT", path)

    async def content(self, kind: str, content_id: str) -> JSONObject | None:
        """A page or blog post with its storage body (drafts included), or None."""
        path = f"{API}/{kind}/{_id(content_id)}"
        try:
            answer = await self.get_json(path, STORAGE_BODY)
        except NotFound:
            return None
        return self._object(answer, "GET", path)

    async def delete_content(self, kind: str, content_id: str) -> None:
        await self.delete(f"{API}/{kind}/{_id(content_id)}")

    async def set_content_property(self, content_id: str, key: str, value: Any) -> None:
        path = f"{API}/pages/{_id(content_id)}/properties"
        await self.post_json(path, {"key": key, "value": value})

    async def content_properties(self, content_id: str) -> dict[str, Any]:
        """A page's content properties, key -> value."""
        properties: dict[str, Any] = {}
        async for item in self._paged(f"{API}/pages/{_id(content_id)}/properties"):
            properties[str(item.get("key"))] = item.get("value")
        return properties

    async def add_footer_comment(
        self, body: str, *, page_id: str | None = None, blogpost_id: str | None = None,
        parent_comment_id: str | None = None,
    ) -> JSONObject:  # fmt: skip
        """A footer comment on a page or blog post, or a reply to one (`parent_comment_id`);
        Confluence makes the calling account its author, now."""
        document: JSONObject = {"body": {"representation": "storage", "value": body}}
        if parent_comment_id is not None:
            document["parentCommentId"] = parent_comment_id
        elif page_id is not None:
            document["pageId"] = page_id
        elif blogpost_id is not None:
            document["blogPostId"] = blogpost_id
        else:
            raise ValueError("a footer comment needs a page, a blog post or a parent comment")
        path = f"{API}/footer-comments"
        return self._object(await self.post_json(path, document), "POST", path)

    async def set_restrictions(self, content_id: str, by_operation: JSONObject) -> None:
        """Replace a page's or blog post's restrictions (v1: v2 cannot write them) with the
        users and groups `by_operation` names per operation, in the byOperation shape a
        backup keeps."""
        path = f"{V1}/content/{_id(content_id)}/restriction"
        await self.put_json(path, restriction_update(by_operation))

    async def add_labels(self, content_id: str, labels: list[JSONObject]) -> None:
        """Add labels (`[{prefix, name}]`) to a page or blog post (v1)."""
        path = f"{V1}/content/{_id(content_id)}/label"
        body = [
            {"prefix": label.get("prefix") or "global", "name": label["name"]} for label in labels
        ]
        await self.post_json(path, body)

    async def upload_attachment(
        self, content_id: str, filename: str, content: bytes, media_type: str
    ) -> JSONObject:
        """Attach a file to a page or blog post (v1: v2 has no upload)."""
        path = f"{V1}/content/{_id(content_id)}/child/attachment"
        answer = await self.post_multipart(
            path, {"file": (filename, content, media_type)}, NO_CHECK
        )
        return self._object(answer, "POST", path)

    def content_attachments(self, kind: str, content_id: str) -> AsyncIterator[JSONObject]:
        return self._paged(f"{API}/{kind}/{_id(content_id)}/attachments")

    def content_footer_comments(self, kind: str, content_id: str) -> AsyncIterator[JSONObject]:
        return self._paged(f"{API}/{kind}/{_id(content_id)}/footer-comments", STORAGE_BODY)

    def content_labels(self, kind: str, content_id: str) -> AsyncIterator[JSONObject]:
        return self._paged(f"{API}/{kind}/{_id(content_id)}/labels")


def restriction_update(by_operation: JSONObject) -> list[JSONObject]:
    """The v1 restriction PUT body (ContentRestrictionUpdate array) for restrictions in the
    byOperation shape: per operation, the users by account id and the groups by name; an empty
    list is left out, as the API asks."""
    body: list[JSONObject] = []
    for operation in ("read", "update"):
        entry = by_operation.get(operation)
        subjects = entry.get("restrictions") if isinstance(entry, dict) else None
        if not isinstance(subjects, dict):
            continue
        users = [
            {"type": "known", "accountId": user["accountId"]}
            for user in _results(subjects.get("user"))
            if user.get("accountId")
        ]
        groups = [
            {"type": "group", "name": group["name"]}
            for group in _results(subjects.get("group"))
            if group.get("name")
        ]
        restrictions = {
            kind: subjects for kind, subjects in (("user", users), ("group", groups)) if subjects
        }
        if restrictions:
            body.append({"operation": operation, "restrictions": restrictions})
    return body


def _results(listing: Any) -> list[JSONObject]:
    if isinstance(listing, dict):
        listing = listing.get("results")
    if not isinstance(listing, list):
        return []
    return [item for item in listing if isinstance(item, dict)]
