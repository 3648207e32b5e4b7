"""Checks across keys, made on the raw data so that they run even where the models found
problems: unique names, storage references, a site configured twice, variables that are set."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.eligibility import IneligibleSite, check_site_url
from settings.schema import DEFAULT_STORAGE_NAME
from settings.values import ENV_NAME


def _mappings(data: Mapping[Any, Any], key: str) -> Iterator[tuple[str, Mapping[Any, Any]]]:
    section = data.get(key)
    if isinstance(section, Mapping):
        for name, entry in section.items():
            if isinstance(name, str) and isinstance(entry, Mapping):
                yield name, entry


def _variable_problem(path: str, name: object, environ: Mapping[str, str]) -> list[str]:
    if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
        return []  # the models report a malformed name
    if name not in environ:
        return [f"{path}: environment variable {name} is not set"]
    if not environ[name].strip():
        return [f"{path}: environment variable {name} is empty"]
    return []


def _duplicate_names(data: Mapping[Any, Any], key: str) -> list[str]:
    section = data.get(key)
    if not isinstance(section, Mapping):
        return []
    first: dict[str, str] = {}
    problems = []
    for name in section:
        if not isinstance(name, str):
            continue
        folded = name.casefold()
        if folded in first:
            problems.append(
                f"{key}.{name}: same name as {key}.{first[folded]} "
                "(names are compared ignoring case and must be unique)"
            )
        else:
            first[folded] = name
    return problems


def _storage_references(data: Mapping[Any, Any]) -> list[str]:
    storage = data.get("storage", {DEFAULT_STORAGE_NAME: {}})
    if not isinstance(storage, Mapping):
        return []  # the models report the section itself
    configured = [str(name) for name in storage]
    listed = ", ".join(configured) if configured else "none"
    problems = []
    for site, entry in _mappings(data, "sites"):
        name = entry.get("storage", DEFAULT_STORAGE_NAME)
        if isinstance(name, str) and name not in configured:
            implied = "" if "storage" in entry else f" (a site without storage: uses {name!r})"
            problems.append(
                f"sites.{site}.storage: unknown storage location {name!r}{implied}; "
                f"configured: {listed}"
            )
    return problems


def _same_site_twice(data: Mapping[Any, Any]) -> list[str]:
    seen: dict[tuple[object, str], str] = {}
    problems = []
    for site, entry in _mappings(data, "sites"):
        url, product = entry.get("url"), entry.get("product")
        if not isinstance(url, str):
            continue
        try:
            origin = check_site_url(url).origin
        except IneligibleSite:
            continue
        key = (product, origin)
        if key in seen:
            problems.append(
                f"sites.{site}.url: the same {product} site as sites.{seen[key]} ({origin}); "
                "configure each site once"
            )
        else:
            seen[key] = site
    return problems


def cross_checks(data: Mapping[Any, Any], environ: Mapping[str, str]) -> list[str]:
    problems = _duplicate_names(data, "sites") + _duplicate_names(data, "storage")
    problems += _storage_references(data) + _same_site_twice(data)
    for site, entry in _mappings(data, "sites"):
        problems += _variable_problem(f"sites.{site}.token_env", entry.get("token_env"), environ)
    for location, entry in _mappings(data, "storage"):
        if "external_id_env" in entry:
            problems += _variable_problem(
                f"storage.{location}.external_id_env", entry["external_id_env"], environ
            )
    roles = data.get("roles")
    if isinstance(roles, Mapping) and roles.get("source") == "atlassian":
        problems += _variable_problem(
            "roles.admin_api_key_env", roles.get("admin_api_key_env"), environ
        )
    return problems
