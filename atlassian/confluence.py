"""Reading a Confluence Cloud site through REST v2 (and v1 for content restrictions).

v2 lists are cursor-paged: the next page's URL comes relative to the origin in the `Link`
header (`rel="next"`). Each listing is an async iterator fetching one page (up to 250 items,
the v2 maximum) at a time, so callers hold a page, never a site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

from atlassian.errors import UnexpectedResponse
from atlassian.records import JSONObject
from atlassian.transport import SiteClient

API = "/wiki/api/v2"
V1 = "/wiki/rest/api"
PAGE_LIMIT = 250  # every v2 list used here: "maximum": 250
STORAGE_BODY = {"body-format": "storage"}  # the XHTML-based format Confluence stores and accepts


def _id(value: str) -> str:
    """An id for a path segment; quoted so data from the site cannot change the path."""
    return quote(str(value), safe="")


class ConfluenceClient(SiteClient):
    """A `SiteClient` that knows Confluence Cloud's read endpoints."""

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
