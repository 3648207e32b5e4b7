"""Confluence Cloud REST v2 (and the v1 calls v2 lacks), answered from a `SiteData`.

Every v2 listing pages with an opaque `cursor` and a `limit` of 1 to 250: when more results
exist, the next page's relative URL is given both in the body (`_links.next`) and in a
`Link: <...>; rel="next"` header, as Confluence does. Shapes follow Atlassian's OpenAPI
description (tests/data/openapi/confluence-subset.json); properties the description types as
non-nullable strings (a root page's `parentId`) are left out rather than sent as null.
Page-scoped comment listings return root comments only, as Confluence's do; the site-wide ones
return replies too, each naming its `parentCommentId`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from html import escape
from itertools import islice
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.content import RichText
from sandbox.control import Faults
from sandbox.data import (
    ConfluenceAttachment,
    ConfluenceComment,
    ContentMeta,
    Label,
    Restriction,
    SiteData,
    Space,
    User,
    Version,
    confluence_time,
)
from sandbox.errors import CONFLUENCE_V2_PREFIX, ApiError, FailingItem
from sandbox.paging import InvalidToken, decode_token, encode_token, fingerprint
from sandbox.responses import JSONResponse

V2 = CONFLUENCE_V2_PREFIX
V1 = "/wiki/rest/api"
MAX_LIMIT = 250
DEFAULT_LIMIT = 25
ATTACHMENTS_DEFAULT_LIMIT = 50
BODY_FORMATS = ("storage", "atlas_doc_format")
V1_RESTRICTION_LIMIT = 100
# Listing positions of comments and attachments are (content ordinal, item) packed in one number.
LISTING_STRIDE = 1 << 16

Render = Callable[[int], dict[str, Any]]


def _wiki_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/wiki"


def _listed(params: Iterable[str]) -> set[str]:
    """Values of a multi-valued parameter, repeated and/or comma-separated."""
    return {value.strip() for raw in params for value in raw.split(",") if value.strip()}


def _limit(request: Request, default: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(
            400,
            "Provided value for 'limit' is not valid.",
            detail=f"limit must be a whole number from 1 to {MAX_LIMIT}, got '{raw}'.",
        )
    return int(raw)


def _body_format(request: Request) -> str | None:
    value = request.query_params.get("body-format")
    if value is not None and value not in BODY_FORMATS:
        raise ApiError(
            400,
            "Provided value for 'body-format' is not valid.",
            detail=f"Supported formats: {', '.join(BODY_FORMATS)}.",
        )
    return value


def _no_sort(request: Request) -> None:
    """The sandbox lists in id order only; other orders are refused rather than ignored."""
    sort = request.query_params.get("sort")
    if sort not in (None, "id"):
        raise ApiError(
            400,
            f"Provided value for 'sort' is not supported by the sandbox site: '{sort}'.",
            detail="The sandbox site lists in id order.",
        )


def _id(request: Request, name: str = "id") -> str:
    value: str = request.path_params[name]
    if not value.isdigit():
        raise ApiError(
            400,
            f"Provided value for '{name}' is not the correct type. Expected type is Long.",
        )
    return value


def _slug(title: str) -> str:
    return quote(title.replace(" ", "+"), safe="+")


def _body(document: RichText, body_format: str | None) -> dict[str, Any]:
    if body_format == "storage":
        return {"storage": {"representation": "storage", "value": document.to_storage()}}
    if body_format == "atlas_doc_format":
        adf = json.dumps(document.to_adf(), ensure_ascii=False)
        return {"atlas_doc_format": {"representation": "atlas_doc_format", "value": adf}}
    return {}


def _version(version: Version) -> dict[str, Any]:
    return {
        "createdAt": confluence_time(version.created_ms),
        "message": version.message,
        "number": version.number,
        "minorEdit": version.minor_edit,
        "authorId": version.author.account_id,
    }


def _webui(meta: ContentMeta) -> str:
    if meta.kind == "page":
        return f"/spaces/{meta.space.key}/pages/{meta.id}/{_slug(meta.title)}"
    return f"/spaces/{meta.space.key}/blog/{meta.id}/{_slug(meta.title)}"


def _container(meta: ContentMeta) -> dict[str, str]:
    return {"pageId": meta.id} if meta.kind == "page" else {"blogPostId": meta.id}


class ConfluenceApi:
    """The Confluence routes of one sandbox site."""

    def __init__(self, data: SiteData, faults: Faults) -> None:
        self.data = data
        self.faults = faults

    def routes(self) -> list[Route]:
        return [
            Route(f"{V2}/spaces", self.spaces, methods=["GET"]),
            Route(f"{V2}/spaces/{{id}}/pages", self.space_pages, methods=["GET"]),
            Route(f"{V2}/spaces/{{id}}/blogposts", self.space_blogposts, methods=["GET"]),
            Route(f"{V2}/footer-comments", self.footer_comments, methods=["GET"]),
            Route(f"{V2}/inline-comments", self.inline_comments, methods=["GET"]),
            Route(f"{V2}/attachments", self.attachments, methods=["GET"]),
            Route(f"{V2}/labels", self.labels, methods=["GET"]),
            Route(f"{V2}/labels/{{id}}/pages", self.label_pages, methods=["GET"]),
            Route(f"{V2}/labels/{{id}}/blogposts", self.label_blogposts, methods=["GET"]),
            Route(f"{V2}/pages/{{id}}/footer-comments", self.page_footer_comments, methods=["GET"]),
            Route(f"{V2}/pages/{{id}}/inline-comments", self.page_inline_comments, methods=["GET"]),
            Route(f"{V2}/pages/{{id}}/attachments", self.page_attachments, methods=["GET"]),
            Route(f"{V2}/pages/{{id}}/labels", self.page_labels, methods=["GET"]),
            Route(
                f"{V1}/content/{{id}}/restriction/byOperation", self.restrictions, methods=["GET"]
            ),
            Route("/wiki/download/attachments/{id}/{filename}", self.download, methods=["GET"]),
        ]

    # -- shared machinery -------------------------------------------------------------------------

    def _page(
        self, request: Request, positions: Iterator[int], limit: int, render: Render
    ) -> Response:
        """One page of a listing: positions are where items sit; the cursor names the next one."""
        taken = list(islice(positions, limit + 1))
        base = _wiki_base(request)
        body: dict[str, Any] = {
            "results": [render(position) for position in taken[:limit]],
            "_links": {"base": base},
        }
        headers = {}
        if len(taken) > limit:
            cursor = encode_token(taken[limit], fingerprint(request.url.path))
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
            next_url = f"{request.url.path}?{urlencode([*query, ('cursor', cursor)])}"
            body["_links"]["next"] = next_url
            headers["Link"] = f'<{next_url}>; rel="next", <{base}>; rel="base"'
        return JSONResponse(body, headers=headers)

    def _start(self, request: Request) -> int:
        cursor = request.query_params.get("cursor")
        if not cursor:
            return 0
        try:
            return decode_token(cursor, fingerprint(request.url.path))
        except InvalidToken:
            raise ApiError(
                400,
                "Provided value for 'cursor' is not the correct type. Expected type is Cursor.",
                detail="The provided cursor was not valid. You can get a new valid cursor by "
                "making the original pagination request again.",
            ) from None

    def _check_content(self, meta: ContentMeta) -> None:
        if self.faults.page_fails(meta.id):
            raise FailingItem(f"Internal server error while loading content {meta.id}.")

    def _page_meta(self, request: Request) -> ContentMeta:
        ordinal = self.data.content_ordinal(_id(request))
        if ordinal is None or not self.data.is_page(ordinal):
            raise ApiError(404, "Page not found.")
        meta = self.data.content_meta(ordinal)
        self._check_content(meta)
        return meta

    def _space(self, request: Request) -> Space:
        space = self.data.space_by_id(_id(request))
        if space is None:
            raise ApiError(404, "Space not found.")
        return space

    # -- rendering --------------------------------------------------------------------------------

    def _space_json(self, space: Space, description_format: str | None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": space.id,
            "key": space.key,
            "name": space.name,
            "type": space.type,
            "status": "current",
            "authorId": space.author.account_id,
            "createdAt": confluence_time(space.created_ms),
            "_links": {"webui": f"/spaces/{space.key}"},
        }
        if space.homepage_id:
            result["homepageId"] = space.homepage_id
        if description_format == "plain":
            result["description"] = {
                "plain": {"representation": "plain", "value": space.description}
            }
        elif description_format == "view":
            value = f"<p>{escape(space.description)}</p>"
            result["description"] = {"view": {"representation": "view", "value": value}}
        return result

    def _content_json(self, ordinal: int, body_format: str | None) -> dict[str, Any]:
        meta = self.data.content_meta(ordinal)
        if body_format:
            self._check_content(meta)
        result: dict[str, Any] = {
            "id": meta.id,
            "status": "draft" if self.data.is_draft(ordinal) else "current",
            "title": meta.title,
            "spaceId": meta.space.id,
        }
        if meta.kind == "page":
            if meta.parent_id:
                result |= {"parentId": meta.parent_id, "parentType": "page"}
            result |= {
                "position": meta.position,
                "ownerId": meta.author.account_id,
                "lastOwnerId": None,
            }
        result |= {
            "authorId": meta.author.account_id,
            "createdAt": confluence_time(meta.created_ms),
            "version": _version(meta.version),
            "body": _body(self.data.content(ordinal).body, body_format) if body_format else {},
            "_links": {
                "webui": _webui(meta),
                "editui": f"/pages/resumedraft.action?draftId={meta.id}",
                "tinyui": f"/x/{int(meta.id):x}",
            },
        }
        return result

    def _comment_json(
        self, comment: ConfluenceComment, body_format: str | None, *, site_wide: bool
    ) -> dict[str, Any]:
        meta = comment.container
        result: dict[str, Any] = {
            "id": comment.id,
            "status": "current",
            "title": f"Re: {meta.title}",
            **_container(meta),
        }
        if site_wide and comment.parent_id:
            result["parentCommentId"] = comment.parent_id
        result |= {
            "version": _version(comment.version),
            "body": _body(comment.body, body_format),
            "_links": {"webui": f"{_webui(meta)}?focusedCommentId={comment.id}"},
        }
        if comment.kind == "inline":
            result["resolutionStatus"] = comment.resolution_status
            result["properties"] = {
                "inlineMarkerRef": comment.marker_ref,
                "inlineOriginalSelection": comment.selection,
            }
            if site_wide and comment.resolution_by and comment.resolution_ms:
                result["resolutionLastModifierId"] = comment.resolution_by.account_id
                result["resolutionLastModifiedAt"] = confluence_time(comment.resolution_ms)
        return result

    def _attachment_json(self, attachment: ConfluenceAttachment) -> dict[str, Any]:
        container = attachment.container
        number = attachment.id.removeprefix("att")
        download = (
            f"/download/attachments/{container.id}/{quote(attachment.filename)}"
            f"?version=1&modificationDate={attachment.created_ms}&cacheVersion=1&api=v2"
        )
        preview = quote(f"/{container.id}/{number}/{attachment.filename}", safe="")
        webui = f"/pages/viewpageattachments.action?pageId={container.id}&preview={preview}"
        return {
            "id": attachment.id,
            "status": "current",
            "title": attachment.filename,
            "createdAt": confluence_time(attachment.created_ms),
            **_container(container),
            "mediaType": attachment.kind.media_type,
            "mediaTypeDescription": attachment.kind.description,
            "comment": attachment.comment,
            "fileId": attachment.file_id,
            "fileSize": len(attachment.data),
            "webuiLink": webui,
            "downloadLink": download,
            "version": _version(
                Version(1, attachment.created_ms, attachment.author, attachment.comment, False)
            ),
            "_links": {"webui": webui, "download": download},
        }

    @staticmethod
    def _label_json(label: Label) -> dict[str, Any]:
        return {"id": label.id, "name": label.name, "prefix": label.prefix}

    # -- v2 listings ------------------------------------------------------------------------------

    async def spaces(self, request: Request) -> Response:
        params = request.query_params
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        _no_sort(request)
        ids, keys = _listed(params.getlist("ids")), _listed(params.getlist("keys"))
        kind, status = params.get("type"), params.get("status")
        description_format = params.get("description-format")

        def positions() -> Iterator[int]:
            for space in self.data.spaces[start:]:
                wanted = (not ids or space.id in ids) and (not keys or space.key in keys)
                if wanted and (not kind or space.type == kind) and status in (None, "current"):
                    yield space.index

        return self._page(
            request,
            positions(),
            limit,
            lambda s: self._space_json(self.data.spaces[s], description_format),
        )

    async def space_pages(self, request: Request) -> Response:
        space = self._space(request)
        params = request.query_params
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        body_format = _body_format(request)
        _no_sort(request)
        root_only = params.get("depth", "all") == "root"
        title = params.get("title")
        statuses = _listed(params.getlist("status")) or {"current", "archived"}

        def positions() -> Iterator[int]:
            if "current" not in statuses:
                return
            for ordinal in self.data.space_content(space, "page", start):
                if root_only and not self.data.is_root(ordinal):
                    continue
                if title is not None and self.data.content_meta(ordinal).title != title:
                    continue
                yield ordinal

        return self._page(request, positions(), limit, lambda o: self._content_json(o, body_format))

    async def space_blogposts(self, request: Request) -> Response:
        space = self._space(request)
        params = request.query_params
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        body_format = _body_format(request)
        _no_sort(request)
        statuses = _listed(params.getlist("status")) or {"current"}
        listed = self.data.space_content(space, "blogpost", start)
        return self._page(
            request,
            listed if "current" in statuses else iter(()),
            limit,
            lambda o: self._content_json(o, body_format),
        )

    def _site_comments(self, request: Request, kind: str) -> Response:
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        body_format = _body_format(request)
        _no_sort(request)

        def positions() -> Iterator[int]:
            first, skip = divmod(start, LISTING_STRIDE)
            for ordinal in range(first, self.data.content_count):
                if not self.data.is_listed(ordinal):
                    continue
                count = self.data.content_comment_count(ordinal, kind)
                for k in range(skip if ordinal == first else 0, count):
                    yield ordinal * LISTING_STRIDE + k

        def render(position: int) -> dict[str, Any]:
            ordinal, k = divmod(position, LISTING_STRIDE)
            comments = (
                self.data.footer_comments(ordinal)
                if kind == "footer"
                else self.data.inline_comments(ordinal)
            )
            return self._comment_json(comments[k], body_format, site_wide=True)

        return self._page(request, positions(), limit, render)

    async def footer_comments(self, request: Request) -> Response:
        return self._site_comments(request, "footer")

    async def inline_comments(self, request: Request) -> Response:
        return self._site_comments(request, "inline")

    def _attachment_filter(self, request: Request) -> Callable[[ConfluenceAttachment], bool]:
        params = request.query_params
        media_type, filename = params.get("mediaType"), params.get("filename")
        statuses = _listed(params.getlist("status")) or {"current", "archived"}

        def admits(attachment: ConfluenceAttachment) -> bool:
            if "current" not in statuses:
                return False
            if media_type and attachment.kind.media_type != media_type:
                return False
            return not filename or attachment.filename == filename

        return admits

    async def attachments(self, request: Request) -> Response:
        limit, start = _limit(request, ATTACHMENTS_DEFAULT_LIMIT), self._start(request)
        _no_sort(request)
        admits = self._attachment_filter(request)
        filtered = bool({"mediaType", "filename", "status"} & set(request.query_params))

        def positions() -> Iterator[int]:
            first, skip = divmod(start, LISTING_STRIDE)
            for ordinal in range(first, self.data.content_count):
                if not self.data.is_listed(ordinal):
                    continue
                count = self.data.content_attachment_count(ordinal)
                for k in range(skip if ordinal == first else 0, count):
                    # Building an attachment costs its bytes: only when a filter needs them.
                    if filtered and not admits(self.data.content_attachment(ordinal, k)):
                        continue
                    yield ordinal * LISTING_STRIDE + k

        return self._page(
            request,
            positions(),
            limit,
            lambda p: self._attachment_json(
                self.data.content_attachment(*divmod(p, LISTING_STRIDE))
            ),
        )

    async def labels(self, request: Request) -> Response:
        params = request.query_params
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        _no_sort(request)
        ids, prefixes = _listed(params.getlist("label-id")), _listed(params.getlist("prefix"))
        labels = self.data.labels

        def positions() -> Iterator[int]:
            for n in range(start, len(labels)):
                if (not ids or labels[n].id in ids) and (
                    not prefixes or labels[n].prefix in prefixes
                ):
                    yield n

        return self._page(request, positions(), limit, lambda n: self._label_json(labels[n]))

    def _labelled(self, request: Request, kind: str) -> Response:
        label = self.data.label_by_id(_id(request))
        if label is None:
            raise ApiError(404, "Label not found.")
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        body_format = _body_format(request)
        _no_sort(request)
        space_ids = _listed(request.query_params.getlist("space-id"))

        def positions() -> Iterator[int]:
            for ordinal in self.data.listed_content(kind, start):
                if label not in self.data.labels_of(ordinal):
                    continue
                if space_ids and self.data.content_meta(ordinal).space.id not in space_ids:
                    continue
                yield ordinal

        return self._page(request, positions(), limit, lambda o: self._content_json(o, body_format))

    async def label_pages(self, request: Request) -> Response:
        return self._labelled(request, "page")

    async def label_blogposts(self, request: Request) -> Response:
        return self._labelled(request, "blogpost")

    # -- one page ---------------------------------------------------------------------------------

    async def page_footer_comments(self, request: Request) -> Response:
        meta = self._page_meta(request)
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        body_format = _body_format(request)
        _no_sort(request)
        roots = [c for c in self.data.footer_comments(meta.ordinal) if c.parent_id is None]
        return self._page(
            request,
            iter(range(start, len(roots))),
            limit,
            lambda k: self._comment_json(roots[k], body_format, site_wide=False),
        )

    async def page_inline_comments(self, request: Request) -> Response:
        meta = self._page_meta(request)
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        body_format = _body_format(request)
        _no_sort(request)
        wanted = _listed(request.query_params.getlist("resolution-status"))
        roots = [
            c
            for c in self.data.inline_comments(meta.ordinal)
            if c.parent_id is None and (not wanted or c.resolution_status in wanted)
        ]
        return self._page(
            request,
            iter(range(start, len(roots))),
            limit,
            lambda k: self._comment_json(roots[k], body_format, site_wide=False),
        )

    async def page_attachments(self, request: Request) -> Response:
        meta = self._page_meta(request)
        limit, start = _limit(request, ATTACHMENTS_DEFAULT_LIMIT), self._start(request)
        _no_sort(request)
        admits = self._attachment_filter(request)
        found = [a for a in self.data.content_attachments(meta.ordinal) if admits(a)]
        return self._page(
            request,
            iter(range(start, len(found))),
            limit,
            lambda k: self._attachment_json(found[k]),
        )

    async def page_labels(self, request: Request) -> Response:
        meta = self._page_meta(request)
        limit, start = _limit(request, DEFAULT_LIMIT), self._start(request)
        _no_sort(request)
        prefix = request.query_params.get("prefix")
        labels = [
            label
            for label in self.data.labels_of(meta.ordinal)
            if prefix is None or label.prefix == prefix
        ]
        return self._page(
            request,
            iter(range(start, len(labels))),
            limit,
            lambda n: self._label_json(labels[n]),
        )

    # -- v1 and downloads -------------------------------------------------------------------------

    async def restrictions(self, request: Request) -> Response:
        content_id = request.path_params["id"]
        ordinal = self.data.content_ordinal(content_id)
        if ordinal is None:
            raise ApiError(404, f"No content found with id: ContentId{{id={content_id}}}")
        meta = self.data.content_meta(ordinal)
        self._check_content(meta)
        base = _wiki_base(request)
        read, update = self.data.restrictions(ordinal)
        return JSONResponse(
            {
                "read": self._restriction_json(read, meta, base),
                "update": self._restriction_json(update, meta, base),
                "_links": {
                    "base": base,
                    "context": "/wiki",
                    "self": f"{base}/rest/api/content/{meta.id}/restriction/byOperation",
                },
            }
        )

    def _restriction_json(
        self, restriction: Restriction, meta: ContentMeta, base: str
    ) -> dict[str, Any]:
        users = [self._v1_user(u, base) for u in restriction.users]
        groups = [
            {
                "type": "group",
                "name": group.name,
                "id": group.id,
                "_links": {"self": f"{base}/rest/api/group/by-id?id={group.id}"},
            }
            for group in restriction.groups
        ]
        return {
            "operation": restriction.operation,
            "restrictions": {
                "user": {
                    "results": users,
                    "start": 0,
                    "limit": V1_RESTRICTION_LIMIT,
                    "size": len(users),
                    "_links": {},
                },
                "group": {
                    "results": groups,
                    "start": 0,
                    "limit": V1_RESTRICTION_LIMIT,
                    "size": len(groups),
                },
            },
            "_expandable": {"content": f"/rest/api/content/{meta.id}"},
            "_links": {
                "self": f"{base}/rest/api/content/{meta.id}/restriction/byOperation/"
                f"{restriction.operation}"
            },
        }

    @staticmethod
    def _v1_user(user: User, base: str) -> dict[str, Any]:
        return {
            "type": "known",
            "accountId": user.account_id,
            "accountType": user.account_type,
            "email": user.email or "",
            "publicName": user.display_name,
            "displayName": user.display_name,
            "timeZone": user.time_zone,
            "profilePicture": {
                "path": f"/wiki/aa-avatar/{user.account_id}",
                "width": 48,
                "height": 48,
                "isDefault": False,
            },
            "isExternalCollaborator": False,
            "_expandable": {"operations": "", "personalSpace": ""},
            "_links": {"self": f"{base}/rest/api/user?accountId={user.account_id}"},
        }

    async def download(self, request: Request) -> Response:
        ordinal = self.data.content_ordinal(request.path_params["id"])
        filename = request.path_params["filename"]
        if ordinal is None:
            raise ApiError(404, "Attachment not found.")
        for k in range(self.data.content_attachment_count(ordinal)):
            attachment = self.data.content_attachment(ordinal, k)
            if attachment.filename == filename:
                self._check_content(attachment.container)
                return Response(attachment.data, media_type=attachment.kind.media_type)
        raise ApiError(404, "Attachment not found.")
