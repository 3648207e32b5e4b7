"""Paging: opaque continuation tokens (Jira's `nextPageToken`, Confluence's `cursor`) and sizes.

A token records where the next page starts and what it continues (the query or the listing), so
a token handed to another listing, or tampered with, is refused with a 400 as the real APIs do,
instead of silently restarting somewhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json


class InvalidToken(ValueError):
    """The token was not issued for this listing, or is not a token at all."""


def fingerprint(*parts: str) -> str:
    """A short stable digest of what a token continues (a normalized query, a path)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def encode_token(position: int, scope: str) -> str:
    raw = json.dumps({"p": position, "s": scope}, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str, scope: str) -> int:
    """The position a token continues at; raises InvalidToken unless it was issued for `scope`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        content = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidToken("not a continuation token") from error
    if not isinstance(content, dict) or content.get("s") != scope:
        raise InvalidToken("the token belongs to another listing")
    position = content.get("p")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise InvalidToken("the token has no position")
    return position


def query_int(raw: str | None, name: str, default: int, *, minimum: int = 0) -> int:
    """A whole-number query parameter; raises ValueError with a message naming the parameter."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"The value '{raw}' of '{name}' is not a number.") from None
    if value < minimum:
        raise ValueError(f"'{name}' must be at least {minimum}, got {value}.")
    return value
