"""Confluence Cloud writes (REST v2, and the v1 calls v2 lacks): what a restore needs.

Choices where Confluence's behaviour is not spelled out (documented for the restore):
- A space made with `POST /spaces` gets a homepage titled like the space, as Confluence makes one;
  a page created without `parentId` goes under that homepage unless `root-level=true`.
- Page titles are unique among a space's published pages (a duplicate answers 400). A draft
  (`status: draft`) holds no title, is not listed anywhere and is read with `GET /pages/{id}`
  and `get-draft=true`; `PUT /pages/{id}` with `status: current` publishes it (version 1 or the
  draft's version + 1 accepted; the published page is version 1). Labels, restrictions,
  attachments and properties can be set on a draft, so a restore can protect a page before it
  becomes visible; comments cannot (400).
- `private=true` on create restricts reading and editing to the caller.
- A top-level inline comment needs `inlineCommentProperties` whose `textSelection` occurs in the
  page's text exactly `textSelectionMatchCount` times, with `textSelectionMatchIndex` below that;
  replies (`parentCommentId`) take their thread's selection and need none.
- Comment authors are the caller; a page's author is the caller.
- Unknown request fields answer 400.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.confluence_api import (
    DEFAULT_LIMIT,
    V1,
    V1_RESTRICTION_LIMIT,
    V2,
    ConfluenceApi,
    _body_format,
    _id,
    _limit,
    _version,
    _wiki_base,
)
from sandbox.content import AdfText, RichText, StorageText, file_kind
from sandbox.control import EMAIL_SCOPE_KEY
from sandbox.data import (
    ConfluenceAttachment,
    ContentMeta,
    ContentProperty,
    Group,
    Label,
    Restriction,
    Space,
    User,
    WriteRefused,
    confluence_time,
)
from sandbox.errors import ApiError
from sandbox.responses import JSONResponse
from sandbox.uploads import json_body, json_object, read_upload, refuse_unknown

SPACE_FIELDS = ("name", "key", "alias", "description", "roleAssignments")
PAGE_FIELDS = ("spaceId", "status", "title", "parentId", "body")
BLOGPOST_FIELDS = ("spaceId", "status", "title", "body")
UPDATE_FIELDS = ("id", "status", "title", "spaceId", "parentId", "ownerId", "body", "version")
FOOTER_FIELDS = (
    "blogPostId", "pageId", "parentCommentId", "attachmentId", "customContentId", "body",
)  # fmt: skip
INLINE_FIELDS = ("blogPostId", "pageId", "parentCommentId", "body", "inlineCommentProperties")
SELECTION_FIELDS = ("textSelection", "textSelectionMatchCount", "textSelectionMatchIndex")
LABEL_PREFIXES = ("global", "my", "team")
TITLE_MAX = 255


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise ApiError(400, f"Provided value for '{name}' is not valid: true or false.")
    return value == "true"


def _rich_text(value: Any, *, required: bool = True) -> RichText | None:
    """A body `{representation, value}` or `{storage: {...}}` in storage or ADF."""
    if value is None and not required:
        return None
    if isinstance(value, dict) and "representation" not in value and len(value) == 1:
        value = next(iter(value.values()))
    if not isinstance(value, dict):
        raise ApiError(400, "A body with a representation and a value is required.")
    refuse_unknown(value, ("representation", "value"), "body")
    representation, text = value.get("representation"), value.get("value")
    if not isinstance(text, str):
        raise ApiError(400, "The body's value must be a string.")
    if representation == "storage":
        return StorageText(text)
    if representation == "atlas_doc_format":
        try:
            return AdfText(json.loads(text))
        except ValueError:
            raise ApiError(400, "The atlas_doc_format body is not valid JSON.") from None
    raise ApiError(
        400, f"The sandbox site accepts storage and atlas_doc_format bodies, not {representation}."
    )


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "A title is required for a page or blog post that is not a draft.")
    if len(value) > TITLE_MAX:
        raise ApiError(400, f"A title must be at most {TITLE_MAX} characters long.")
    return value


def _refused(refused: WriteRefused) -> ApiError:
    return ApiError(refused.status, str(refused))


class ConfluenceWrites:
    """The Confluence write routes of one sandbox site; reads are rendered by `ConfluenceApi`."""

    def __init__(self, reader: ConfluenceApi) -> None:
        self.reader = reader
        self.data = reader.data

    def routes(self) -> list[Route]:
        return [
            Route(f"{V2}/spaces", self.create_space, methods=["POST"]),
            Route(f"{V2}/pages", self.create_page, methods=["POST"]),
            Route(f"{V2}/pages/{{id}}", self.get_page, methods=["GET"]),
            Route(f"{V2}/pages/{{id}}", self.update_page, methods=["PUT"]),
            Route(f"{V2}/pages/{{id}}", self.delete_page, methods=["DELETE"]),
            Route(f"{V2}/blogposts", self.create_blogpost, methods=["POST"]),
            Route(f"{V2}/footer-comments", self.create_footer_comment, methods=["POST"]),
            Route(f"{V2}/inline-comments", self.create_inline_comment, methods=["POST"]),
            Route(f"{V2}/pages/{{id}}/properties", self.page_properties, methods=["GET"]),
            Route(f"{V2}/pages/{{id}}/properties", self.add_page_property, methods=["POST"]),
            Route(f"{V1}/content/{{id}}/restriction", self.set_restrictions, methods=["PUT"]),
            Route(f"{V1}/content/{{id}}/label", self.add_labels, methods=["POST"]),
            Route(f"{V1}/content/{{id}}/child/attachment", self.attach, methods=["POST"]),
        ]

    def _caller(self, request: Request) -> User:
        return self.data.caller(request.scope.get(EMAIL_SCOPE_KEY, ""))

    def _space_of(self, value: Any) -> Space:
        space = self.data.space_by_id(value) if isinstance(value, str) else None
        if space is None:
            raise ApiError(404, "Space not found.", detail=f"No space with id {value}.")
        return space

    def _content(self, content_id: str, *, kind: str | None = None) -> int:
        ordinal = self.data.content_ordinal(content_id)
        if ordinal is None or (kind and self.data.content_meta(ordinal).kind != kind):
            raise ApiError(404, f"No content found with id: ContentId{{id={content_id}}}")
        return ordinal

    def _single(self, request: Request, ordinal: int, body_format: str | None) -> dict[str, Any]:
        result = self.reader._content_json(ordinal, body_format)
        result["_links"]["base"] = _wiki_base(request)
        return result

    # -- spaces -----------------------------------------------------------------------------------

    async def create_space(self, request: Request) -> Response:
        body = await json_object(request, SPACE_FIELDS)
        name = body.get("name")
        key = body.get("key", body.get("alias"))
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "A space name is required.")
        if not isinstance(key, str) or not key.isalnum() or len(key) > 255:
            raise ApiError(400, "A space key of letters and digits is required.")
        description = body.get("description") or {}
        if not isinstance(description, dict):
            raise ApiError(400, "The description is an object with value and representation.")
        refuse_unknown(description, ("value", "representation"), "description")
        if description.get("representation", "plain") != "plain":
            raise ApiError(400, "Only the 'plain' representation of a description is supported.")
        text = description.get("value", "")
        if not isinstance(text, str):
            raise ApiError(400, "The description's value must be a string.")
        try:
            space = self.data.create_space(
                key=key, name=name, description=text, author=self._caller(request)
            )
        except WriteRefused as refused:
            raise _refused(refused) from None
        result = self.reader._space_json(space, "plain")
        result["_links"]["base"] = _wiki_base(request)
        return JSONResponse(result, status_code=201)

    # -- pages and blog posts ---------------------------------------------------------------------

    def _status(self, body: dict[str, Any]) -> bool:
        status = body.get("status", "current")
        if status not in ("current", "draft"):
            raise ApiError(400, "The status of new content is current or draft.")
        return bool(status == "draft")

    async def create_page(self, request: Request) -> Response:
        body = await json_object(request, PAGE_FIELDS)
        space = self._space_of(body.get("spaceId"))
        draft = self._status(body)
        title = body.get("title", "") if draft else _title(body.get("title"))
        if not isinstance(title, str):
            raise ApiError(400, "The title must be a string.")
        root_level = _flag(request, "root-level")
        parent_id = body.get("parentId")
        if root_level and parent_id is not None:
            raise ApiError(400, "A root-level page cannot have a parent.")
        homepage = space.homepage_id
        if parent_id is None and not root_level and homepage:
            # Under the homepage, unless it was deleted: then at the root.
            parent_id = homepage if self.data.content_ordinal(homepage) is not None else None
        if parent_id is not None:
            parent = self.data.content_ordinal(str(parent_id))
            if parent is None or not self.data.is_page(parent):
                raise ApiError(404, f"The parent page {parent_id} does not exist.")
            if self.data.content_meta(parent).space.id != space.id:
                raise ApiError(400, "The parent page is in another space.")
        return self._create(
            request, kind="page", space=space, title=title, parent_id=parent_id, body=body,
            draft=draft,
        )  # fmt: skip

    async def create_blogpost(self, request: Request) -> Response:
        body = await json_object(request, BLOGPOST_FIELDS)
        space = self._space_of(body.get("spaceId"))
        draft = self._status(body)
        title = body.get("title", "") if draft else _title(body.get("title"))
        if not isinstance(title, str):
            raise ApiError(400, "The title must be a string.")
        return self._create(
            request, kind="blogpost", space=space, title=title, parent_id=None, body=body,
            draft=draft,
        )  # fmt: skip

    def _create(
        self,
        request: Request,
        *,
        kind: str,
        space: Space,
        title: str,
        parent_id: str | None,
        body: dict[str, Any],
        draft: bool,
    ) -> Response:
        text = _rich_text(body.get("body"), required=False) or StorageText("")
        try:
            meta = self.data.create_content(
                kind=kind,
                space=space,
                title=title,
                parent_id=parent_id,
                body=text,
                author=self._caller(request),
                draft=draft,
                private=_flag(request, "private"),
            )
        except WriteRefused as refused:
            raise _refused(refused) from None
        return JSONResponse(self._single(request, meta.ordinal, "storage"))

    async def get_page(self, request: Request) -> Response:
        ordinal = self._content(_id(request), kind="page")
        statuses = set(request.query_params.getlist("status"))
        wants_draft = _flag(request, "get-draft") or "draft" in statuses
        if self.data.is_draft(ordinal) and not wants_draft:
            raise ApiError(404, "Page not found.", detail="The page is a draft: use get-draft.")
        self.reader._check_content(self.data.content_meta(ordinal))
        return JSONResponse(self._single(request, ordinal, _body_format(request)))

    async def update_page(self, request: Request) -> Response:
        ordinal = self._content(_id(request), kind="page")
        body = await json_object(request, UPDATE_FIELDS)
        missing = [
            name for name in ("id", "status", "title", "body", "version") if name not in body
        ]
        if missing:
            raise ApiError(400, f"'{missing[0]}' is required to update a page.")
        if str(body["id"]) != _id(request):
            raise ApiError(400, "The id in the body is not the page's id.")
        meta = self.data.content_meta(ordinal)
        if "spaceId" in body and str(body["spaceId"]) != meta.space.id:
            raise ApiError(400, "Moving a page to another space is not supported.")
        if body.get("ownerId") not in (None, meta.author.account_id):
            raise ApiError(400, "The sandbox site does not transfer page ownership.")
        draft = self._status(body)
        version = body["version"]
        if not isinstance(version, dict):
            raise ApiError(400, "'version' is an object with a number.")
        refuse_unknown(version, ("number", "message"), "version")
        number, message = version.get("number"), version.get("message", "")
        if not isinstance(number, int) or isinstance(number, bool) or not isinstance(message, str):
            raise ApiError(400, "'version.number' must be a whole number.")
        parent_id = body.get("parentId")
        if parent_id is not None:
            parent = self.data.content_ordinal(str(parent_id))
            if parent is None or self.data.content_meta(parent).space.id != meta.space.id:
                raise ApiError(400, f"The parent page {parent_id} is not in this space.")
        try:
            self.data.update_content(
                ordinal,
                title=_title(body["title"]),
                body=_rich_text(body["body"]),
                draft=draft,
                version=number,
                message=message,
                parent_id=None if parent_id is None else str(parent_id),
                author=self._caller(request),
            )
        except WriteRefused as refused:
            raise _refused(refused) from None
        return JSONResponse(self._single(request, ordinal, "storage"))

    async def delete_page(self, request: Request) -> Response:
        ordinal = self._content(_id(request), kind="page")
        _flag(request, "purge")
        _flag(request, "draft")
        self.data.delete_content(ordinal)
        return Response(status_code=204)

    # -- comments ---------------------------------------------------------------------------------

    async def create_footer_comment(self, request: Request) -> Response:
        body = await json_object(request, FOOTER_FIELDS)
        if body.get("attachmentId") or body.get("customContentId"):
            raise ApiError(400, "The sandbox site comments on pages and blog posts only.")
        return self._comment(request, "footer", body, None)

    async def create_inline_comment(self, request: Request) -> Response:
        body = await json_object(request, INLINE_FIELDS)
        return self._comment(request, "inline", body, body.get("inlineCommentProperties"))

    def _comment(
        self, request: Request, kind: str, body: dict[str, Any], selection: Any
    ) -> Response:
        targets = [name for name in ("pageId", "blogPostId", "parentCommentId") if body.get(name)]
        if len(targets) != 1:
            raise ApiError(400, "Give exactly one of pageId, blogPostId and parentCommentId.")
        parent = None
        if targets[0] == "parentCommentId":
            found = self.data.find_comment(str(body["parentCommentId"]), kind)
            if found is None:
                raise ApiError(404, "The parent comment does not exist.")
            ordinal, parent = found
            if selection is not None:
                raise ApiError(400, "A reply takes its thread's selection: no properties.")
        else:
            wanted = "page" if targets[0] == "pageId" else "blogpost"
            ordinal = self._content(str(body[targets[0]]), kind=wanted)
        if self.data.is_draft(ordinal):
            raise ApiError(400, "Comments can be added to published content only.")
        text = _rich_text(body.get("body"))
        assert text is not None
        selected = None
        if kind == "inline" and parent is None:
            selected = self._selection(ordinal, selection)
        comment = self.data.add_confluence_comment(
            ordinal,
            kind=kind,
            body=text,
            author=self._caller(request),
            parent=parent,
            selection=selected,
        )
        result = self.reader._comment_json(comment, "storage", site_wide=True)
        result["_links"]["base"] = _wiki_base(request)
        return JSONResponse(result, status_code=201)

    def _selection(self, ordinal: int, selection: Any) -> str:
        if not isinstance(selection, dict):
            raise ApiError(400, "A top-level inline comment needs inlineCommentProperties.")
        refuse_unknown(selection, SELECTION_FIELDS, "inlineCommentProperties")
        text = selection.get("textSelection")
        count = selection.get("textSelectionMatchCount")
        index = selection.get("textSelectionMatchIndex")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "textSelection must be the text to highlight.")
        if not isinstance(count, int) or not isinstance(index, int) or not 0 <= index < count:
            raise ApiError(400, "textSelectionMatchIndex must be below textSelectionMatchCount.")
        found = self.data.content(ordinal).body.plain_text().count(text)
        if found != count:
            raise ApiError(
                400,
                f"The text selection occurs {found} times in the page, not {count}.",
            )
        return text

    # -- content properties -----------------------------------------------------------------------

    @staticmethod
    def _property_json(prop: ContentProperty) -> dict[str, Any]:
        return {
            "id": prop.id,
            "key": prop.key,
            "value": prop.value,
            "version": _version(prop.version),
        }

    async def page_properties(self, request: Request) -> Response:
        ordinal = self._content(_id(request), kind="page")
        limit, start = _limit(request, DEFAULT_LIMIT), self.reader._start(request)
        key = request.query_params.get("key")
        found = [p for p in self.data.content_properties(ordinal) if key in (None, p.key)]
        return self.reader._page(
            request,
            iter(range(start, len(found))),
            limit,
            lambda n: self._property_json(found[n]),
        )

    async def add_page_property(self, request: Request) -> Response:
        ordinal = self._content(_id(request), kind="page")
        body = await json_object(request, ("key", "value"))
        key = body.get("key")
        if not isinstance(key, str) or not key or "value" not in body:
            raise ApiError(400, "A content property needs a key and a value.")
        try:
            prop = self.data.add_content_property(
                ordinal, key, body["value"], self._caller(request)
            )
        except WriteRefused as refused:
            raise _refused(refused) from None
        return JSONResponse(self._property_json(prop))

    # -- v1: restrictions, labels, attachments ----------------------------------------------------

    async def set_restrictions(self, request: Request) -> Response:
        content_id = request.path_params["id"]
        ordinal = self._content(content_id)
        body = await json_body(request)
        if not isinstance(body, list):
            raise ApiError(400, "The body is a list of restrictions, one per operation.")
        chosen: dict[str, Restriction] = {}
        for item in body:
            if not isinstance(item, dict):
                raise ApiError(400, "Each restriction is an object.")
            refuse_unknown(item, ("operation", "restrictions"), "restriction")
            operation = item.get("operation")
            if operation not in ("read", "update") or operation in chosen:
                raise ApiError(400, "Each restriction's operation is read or update, once.")
            restrictions = item.get("restrictions", {})
            if not isinstance(restrictions, dict):
                raise ApiError(400, "'restrictions' is an object with user and group.")
            refuse_unknown(restrictions, ("user", "group"), "restrictions")
            users = tuple(self._user(u) for u in self._entries(restrictions.get("user")))
            groups = tuple(self._group(g) for g in self._entries(restrictions.get("group")))
            chosen[operation] = Restriction(operation, users, groups)
        read = chosen.get("read", Restriction("read", (), ()))
        update = chosen.get("update", Restriction("update", (), ()))
        self.data.set_restrictions(ordinal, read, update)
        meta = self.data.content_meta(ordinal)
        base = _wiki_base(request)
        results = [self.reader._restriction_json(r, meta, base) for r in (read, update)]
        return JSONResponse(
            {
                "results": results,
                "start": 0,
                "limit": V1_RESTRICTION_LIMIT,
                "size": len(results),
                "restrictionsHash": hashlib.sha256(repr((read, update)).encode()).hexdigest()[:40],
                "_links": {
                    "base": base,
                    "context": "/wiki",
                    "self": f"{base}/rest/api/content/{meta.id}/restriction",
                },
            }
        )

    @staticmethod
    def _entries(value: Any) -> list[Any]:
        """A list of users or groups: a plain array, or an object with `results`."""
        if value is None:
            return []
        if isinstance(value, dict):
            value = value.get("results", [])
        if not isinstance(value, list):
            raise ApiError(400, "Users and groups are given as lists.")
        return value

    def _user(self, entry: Any) -> User:
        account_id = entry.get("accountId") if isinstance(entry, dict) else None
        user = self.data.user(account_id) if isinstance(account_id, str) else None
        if user is None:
            raise ApiError(400, f"No user found with accountId: {account_id}")
        return user

    def _group(self, entry: Any) -> Group:
        if isinstance(entry, dict):
            for group in self.data.groups:
                if entry.get("id") == group.id or entry.get("name") == group.name:
                    return group
        raise ApiError(400, f"No group found: {entry}")

    async def add_labels(self, request: Request) -> Response:
        ordinal = self._content(request.path_params["id"])
        body = await json_body(request)
        items = body if isinstance(body, list) else [body]
        labels: list[Label] = []
        for item in items:
            if not isinstance(item, dict):
                raise ApiError(400, "Each label is an object with a prefix and a name.")
            refuse_unknown(item, ("prefix", "name"), "label")
            prefix, name = item.get("prefix", "global"), item.get("name")
            if prefix not in LABEL_PREFIXES:
                raise ApiError(400, f"The label prefix is one of {', '.join(LABEL_PREFIXES)}.")
            if not isinstance(name, str) or not name or any(c.isspace() for c in name):
                raise ApiError(400, f"'{name}' is not a valid label: a word without spaces.")
            labels.append(self.data.label_named(prefix, name.lower()))
        self.data.add_labels(ordinal, labels)
        shown = [
            {"prefix": label.prefix, "name": label.name, "id": label.id, "label": label.name}
            for label in self.data.labels_of(ordinal)
        ]
        base = _wiki_base(request)
        return JSONResponse(
            {
                "results": shown,
                "start": 0,
                "limit": 200,
                "size": len(shown),
                "_links": {"base": base, "context": "/wiki"},
            }
        )

    async def attach(self, request: Request) -> Response:
        ordinal = self._content(request.path_params["id"])
        upload = await read_upload(request)
        comments = upload.fields.get("comment", [])
        if comments and len(comments) != len(upload.files):
            raise ApiError(400, "Give one comment for every file, or none.")
        caller = self._caller(request)
        made = []
        for n, file in enumerate(upload.files):
            try:
                made.append(
                    self.data.add_confluence_attachment(
                        ordinal,
                        filename=file.filename,
                        kind=file_kind(file.filename, file.media_type),
                        content=file.content,
                        comment=comments[n] if comments else "",
                        author=caller,
                    )
                )
            except WriteRefused as refused:
                raise _refused(refused) from None
        base = _wiki_base(request)
        results = [self._v1_attachment(a, base) for a in made]
        return JSONResponse(
            {
                "results": results,
                "start": 0,
                "limit": len(results),
                "size": len(results),
                "_links": {"base": base, "context": "/wiki"},
            }
        )

    def _v1_attachment(self, attachment: ConfluenceAttachment, base: str) -> dict[str, Any]:
        v2 = self.reader._attachment_json(attachment)
        container: ContentMeta = attachment.container
        return {
            "id": attachment.id,
            "type": "attachment",
            "status": "current",
            "title": attachment.filename,
            "version": {
                "number": 1,
                "when": confluence_time(attachment.created_ms),
                "minorEdit": False,
                "message": attachment.comment,
            },
            "container": {"id": container.id, "type": container.kind, "title": container.title},
            "metadata": {"mediaType": attachment.kind.media_type, "comment": attachment.comment},
            "extensions": {
                "mediaType": attachment.kind.media_type,
                "fileSize": len(attachment.data),
                "comment": attachment.comment,
                "fileId": attachment.file_id,
            },
            "_links": {
                "webui": v2["webuiLink"],
                "download": v2["downloadLink"],
                "self": f"{base}/rest/api/content/{attachment.id}",
            },
        }
