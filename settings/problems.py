"""Pydantic's findings turned into lines an operator can act on: the key path as the file
spells it, what was found there and what is accepted."""

from __future__ import annotations

from collections.abc import Mapping
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

from settings.errors import shown
from settings.schema import Config

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "path_type": "a folder path",
}


def described(value: object) -> str:
    """A YAML value's kind, in the file's terms, and the value itself only if it is short text."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _strip_annotated(annotation: object) -> object:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _tag(member: object) -> object:
    if get_origin(member) is Annotated:
        for metadata in get_args(member)[1:]:
            if isinstance(metadata, Tag):
                return metadata.tag
    return None


def _walk(loc: tuple[int | str, ...]) -> tuple[str, object]:
    """The key path pydantic's `loc` stands for in the file, and the declared type found there.

    Pydantic adds what the file does not contain (the tag of the variant it chose, `[key]` for a
    mapping's key), and this drops it; list positions are shown as `[i]`.
    """
    path = ""
    annotation: object = Config
    for part in loc:
        if part == "[key]":
            continue
        base = _strip_annotated(annotation)
        if get_origin(base) in (Union, UnionType):
            members = [m for m in get_args(base) if m is not type(None)]
            variants = {_tag(member): member for member in members}
            if part in variants:
                annotation = variants[part]
                continue
            if len(members) == 1:
                base = _strip_annotated(members[0])
        origin = get_origin(base)
        if isinstance(part, int) and origin in (tuple, list):
            path += f"[{part}]"
            annotation = get_args(base)[0]
            continue
        path += f".{part}" if path else str(part)
        if isinstance(base, type) and issubclass(base, BaseModel):
            found = base.model_fields.get(str(part))
            annotation = found.annotation if found else None
        elif origin in (dict, Mapping):
            annotation = get_args(base)[1]
        else:
            annotation = None
    return path, _strip_annotated(annotation)


def _unquoted(value: object) -> str:
    if isinstance(value, bool):
        return " (YAML takes unquoted yes, no, on and off for true/false; quote the word)"
    return ""


def problem(error: ErrorDetails) -> str:
    loc, kind = error["loc"], error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    if kind == "invalid_key" or (loc and loc[-1] == "[key]" and not isinstance(value, str)):
        # Pydantic shows such a key as a number, which is not what the file says; name its parent.
        mapping, _ = _walk(loc[:-2] if loc[-1] == "[key]" else loc[:-1])
        prefix = f"{mapping}: " if mapping else ""
        return prefix + f"a key must be text, got {described(value)}{_unquoted(value)}"
    path, _ = _walk(loc)
    prefix = f"{path}: " if path else ""
    if kind == "extra_forbidden":
        _, section = _walk(loc[:-1])
        accepted = (
            ", ".join(section.model_fields)
            if isinstance(section, type) and issubclass(section, BaseModel)
            else None
        )
        return prefix + "unknown key" + (f" (accepted: {accepted})" if accepted else "")
    if kind == "missing":
        return prefix + "required, but not given"
    if kind == "variant":
        key, accepted = context["key"], context["accepted"]
        if not isinstance(value, Mapping):
            return prefix + f"expected a mapping (key: value lines), got {described(value)}"
        if key not in value:
            return f"{path}.{key}: required, but not given (accepted: {accepted})"
        return f"{path}.{key}: {described(value[key])} is not accepted (accepted: {accepted})"
    if kind in {"enum", "literal_error"}:
        accepted = str(context["expected"]).replace("'", "")
        return prefix + f"{described(value)} is not accepted (accepted: {accepted})"
    if kind in _EXPECTED:
        hint = _unquoted(value) if kind == "string_type" else ""
        return prefix + f"expected {_EXPECTED[kind]}, got {described(value)}{hint}"
    if kind == "greater_than_equal":
        return prefix + f"must be at least {context['ge']}, got {value}"
    if kind == "less_than_equal":
        return prefix + f"must be at most {context['le']}, got {value}"
    if kind == "too_short":
        return prefix + f"needs at least {context['min_length']} entry"
    if kind in {"value_error", "assertion_error"}:
        return prefix + str(context["error"])
    return prefix + error["msg"]
