"""Request bodies that writes share: JSON objects checked for unknown fields, and file uploads.

Atlassian refuses a multipart upload without `X-Atlassian-Token: no-check` (XSRF protection) with
403; the sandbox does too. Multipart bodies are read with the standard library's MIME parser, so
the sandbox needs no extra dependency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.requests import Request

from sandbox.errors import ApiError

XSRF_VALUES = ("no-check", "nocheck")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    media_type: str | None
    content: bytes


@dataclass(frozen=True)
class Upload:
    files: list[UploadedFile]
    fields: dict[str, list[str]]


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.") from None


async def json_object(request: Request, allowed: Iterable[str]) -> dict[str, Any]:
    """The body as a JSON object whose fields are all in `allowed` (else 400, as Atlassian)."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    refuse_unknown(body, allowed)
    return body


def refuse_unknown(body: dict[str, Any], allowed: Iterable[str], where: str = "") -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        place = f" in '{where}'" if where else ""
        raise ApiError(
            400,
            f'Unrecognized field "{unknown[0]}"{place}: not one of the known properties.',
            detail=f"Known properties: {', '.join(sorted(allowed))}.",
        )


async def read_upload(request: Request) -> Upload:
    """The `file` parts and plain fields of a multipart/form-data request (XSRF header checked)."""
    token = request.headers.get("x-atlassian-token", "").lower()
    if token not in XSRF_VALUES:
        raise ApiError(403, "XSRF check failed")
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(415, "The request must be multipart/form-data.")
    raw = await request.body()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "The attachment is too large.")
    document = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    message = BytesParser(policy=HTTP).parsebytes(document)
    files: list[UploadedFile] = []
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "file":
            filename = part.get_filename()
            if not filename:
                raise ApiError(400, "The file part has no file name.")
            media_type = part.get_content_type() if part.get("content-type") else None
            files.append(UploadedFile(filename, media_type, data))
        elif isinstance(name, str):
            fields.setdefault(name, []).append(data.decode("utf-8", errors="replace"))
    if not files:
        raise ApiError(400, "No file was given: the multipart field must be called 'file'.")
    return Upload(files, fields)
