"""The deployment's configuration — the YAML file of ARCHITECTURE §5 plus environment variables —
validated once at start-up.

`load_config` reads the file and `Environment.from_environ` the variables; either raises one
`ConfigError` listing every problem found, a line each, named by its key path, so an operator
fixes the whole file in one pass. Secrets live only in the environment: the file names the
variables that hold them, and no message or repr ever shows a variable's value.
"""

from __future__ import annotations

import hmac
import os
import re
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from policy.eligibility import IneligibleSite, check_site_url, is_loopback_host
from policy.identifiers import id_kind
from policy.products import Product
from policy.retention import StorageOwner
from storage.database import default_database_url

DEFAULT_DATA_DIR = Path(".backupbot")
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_STORAGE_NAME = "managed"
MAX_NAME_LENGTH = 40
MAX_WARNING_LEAD_HOURS = 30 * 24  # the longest any backup stays restorable (organization S3)

# Words of the /backup grammar that may stand where a site name stands; a site so named would
# make `/backup list jira` or `/backup schedule <site> daily at 02:00` ambiguous.
RESERVED_SITE_NAMES = frozenset(
    {
        "all",
        "jira",
        "confluence",
        "to",
        "only",
        "preview",
        "tz",
        "on",
        "at",
        "once",
        "daily",
        "weekly",
    }
)

_NAME = re.compile(r"[a-z][a-z0-9-]*")
_TEAM_ID = re.compile(r"T[A-Z0-9]+")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
# Conventional names only (capitals, digits, underscores, bounded length): a value pasted where a
# variable's name belongs, like an API token, then fails this check instead of being echoed back.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+")
_ACCOUNT_ID = re.compile(r"\d{12}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]+")  # loose: S3-compatible services name regions freely
_SHOWN_LENGTH = 60


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one "key.path: what is wrong" each."""

    def __init__(self, problems: Sequence[str], source: str = "the configuration") -> None:
        self.problems = tuple(problems)
        self.source = source
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "".join(f"\n  {problem}" for problem in self.problems)
        super().__init__(f"configuration {noun} in {source}:{lines}")


class Secret:
    """A value that must not be shown: its str and repr are a mask; `reveal()` gives the value."""

    __slots__ = ("_value",)
    MASK = "********"

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return self.MASK

    def __repr__(self) -> str:
        return repr(self.MASK)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


class AttachmentPolicy(StrEnum):
    """How a storage location keeps attachments (ARCHITECTURE §1, "Attachments")."""

    REFERENCE = "reference"  # id, owner, name, size, type and URL: restorable while the file exists
    COPY = "copy"  # content stored once by SHA-256: restorable after the original is gone


# --- value checks shared by the models ---------------------------------------------------------


def _shown(value: str) -> str:
    """A config value quoted for a message, cut short so a pasted blob cannot flood the output."""
    if len(value) > _SHOWN_LENGTH:
        value = value[: _SHOWN_LENGTH - 3] + "..."
    return repr(value)


def _check_name(value: str, noun: str, example: str) -> str:
    rule = "lowercase letters, digits and hyphens, starting with a letter"
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"a {noun} name has at most {MAX_NAME_LENGTH} characters")
    if not _NAME.fullmatch(value):
        if _NAME.fullmatch(value.lower()):
            raise ValueError(f"{_shown(value)} must be lowercase ({value.lower()!r})")
        raise ValueError(f"{_shown(value)} is not a valid {noun} name: use {rule} (like {example})")
    return value


def _site_name(value: str) -> str:
    _check_name(value, "site", "acme-jira")
    if value in RESERVED_SITE_NAMES:
        raise ValueError(
            f"{value!r} is a word of the /backup commands (as in `/backup list jira` or "
            "`/backup schedule <site> daily at 02:00`), so a site of that name would be "
            "ambiguous; choose another name"
        )
    kind = id_kind(value)
    if kind is not None:
        raise ValueError(
            f"{value!r} looks like a {kind.noun} id, so /backup commands could not tell them "
            "apart; choose another name"
        )
    return value


def _location_name(value: str) -> str:
    return _check_name(value, "storage location", "acme-s3")


def _team_id(value: str) -> str:
    if not _TEAM_ID.fullmatch(value):
        raise ValueError(
            f"{_shown(value)} is not a Slack team id (like T0123456789); find it in the "
            "workspace's URL or its settings"
        )
    return value


def _channel_id(value: str) -> str:
    if not _CHANNEL_ID.fullmatch(value):
        raise ValueError(
            f"{_shown(value)} is not a Slack channel id (like C0123456789); copy the id from "
            "the channel's details"
        )
    return value


def _email(value: str) -> str:
    address = value.strip().lower()
    if not _EMAIL.fullmatch(address):
        raise ValueError(f"{_shown(value)} is not an email address (like alice@example.com)")
    return address


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        # Deliberately not quoted: the value may be the secret itself, pasted by mistake.
        raise ValueError(
            "must be the name of an environment variable (capital letters, digits and "
            "underscores, like ACME_TOKEN), never the secret itself"
        )
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _http_url(value: str, *, https_only: bool) -> str:
    refusal = f"{_shown(value)} is not an http(s) URL"
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname or ""
    except ValueError:
        raise ValueError(refusal) from None
    if parts.scheme not in {"http", "https"} or not host:
        raise ValueError(refusal)
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL must not carry a user name or password")
    if https_only and parts.scheme != "https" and not is_loopback_host(host):
        raise ValueError(
            "must use https; plain http is allowed only for loopback hosts such as the sandbox"
        )
    return value.strip()


def _https_url(value: str) -> str:
    return _http_url(value, https_only=True)


def _any_http_url(value: str) -> str:
    return _http_url(value, https_only=False)


def _site_url(value: str) -> str:
    try:
        return check_site_url(value).origin
    except IneligibleSite as refusal:
        raise ValueError(str(refusal)) from None


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{_shown(value)} is not a time zone (use an IANA name like Europe/Berlin)"
        ) from None
    return value


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.fullmatch(value):
        raise ValueError(
            f"{_shown(value)} is not an IAM role ARN "
            "(like arn:aws:iam::123456789012:role/backupbot)"
        )
    return value


def _quoted_account_id(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads unquoted digits as a number, dropping leading zeros (or reading octal).
        raise ValueError('write the account id in quotes (like "123456789012")')
    return value


def _account_id(value: str) -> str:
    if not _ACCOUNT_ID.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not an AWS account id (12 digits)")
    return value


def _bucket(value: str) -> str:
    if value.startswith(("s3://", "arn:")):
        raise ValueError("give the bucket's name only (like acme-backups), not a URL or ARN")
    if not _BUCKET.fullmatch(value):
        raise ValueError(
            f"{_shown(value)} is not an S3 bucket name (3 to 63 lowercase letters, digits, "
            "dots and hyphens)"
        )
    return value


def _region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not a region name (like eu-central-1)")
    return value


def _non_empty_path(value: object) -> object:
    # Path("") is the working directory: an empty value must not quietly mean "here".
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


def _lead_hours(value: int) -> int:
    if not 0 < value < MAX_WARNING_LEAD_HOURS:
        raise ValueError(
            f"{value} is not a lead time: give hours from 1 to {MAX_WARNING_LEAD_HOURS - 1} "
            "(under 30 days, the longest any backup stays restorable)"
        )
    return value


SiteName = Annotated[str, AfterValidator(_site_name)]
LocationName = Annotated[str, AfterValidator(_location_name)]
TeamId = Annotated[str, AfterValidator(_team_id)]
ChannelId = Annotated[str, AfterValidator(_channel_id)]
Email = Annotated[str, AfterValidator(_email)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Text = Annotated[str, AfterValidator(_non_empty)]
# Strict: YAML gives whole numbers as int, and lax validation would read `true` as 1.
Hours = Annotated[int, Field(strict=True)]
LeadHours = Annotated[Hours, AfterValidator(_lead_hours)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- the sections of the file ------------------------------------------------------------------


class SlackSettings(_Section):
    allowed_team_ids: tuple[TeamId, ...] = ()  # empty: any workspace the bot token belongs to


class Channels(_Section):
    notifications: ChannelId
    approvals: ChannelId | None = None  # None: approval requests go to `notifications`

    @property
    def approvals_channel(self) -> str:
        return self.approvals or self.notifications


class ApprovalSettings(_Section):
    request_ttl_hours: Hours = Field(default=24, ge=1, le=7 * 24)


class JobSettings(_Section):
    # How often a running backup or restore records that its process is alive, and the
    # scheduler's holder renews its lease. Work silent for STALE_BEATS beats is taken for dead:
    # marked Failed ("interrupted") and, if scheduled, retried; a lease unrenewed that long
    # passes to another process.
    heartbeat_seconds: float = Field(default=30, ge=1, le=300)

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_seconds * STALE_BEATS)


STALE_BEATS = 6  # 3 minutes at the default beat: a slow beat is never taken for death


class WarningSettings(_Section):
    # Sorted largest first, the order in which the warnings fall due.
    lead_hours: tuple[LeadHours, ...] = (72, 24)
    every_backup: bool = False  # False: warn only about a site's newest restorable backup

    @field_validator("lead_hours")
    @classmethod
    def _distinct(cls, hours: tuple[int, ...]) -> tuple[int, ...]:
        repeated = sorted({hour for hour in hours if hours.count(hour) > 1})
        if repeated:
            raise ValueError(
                f"{', '.join(map(str, repeated))} given more than once; each lead time warns once"
            )
        return tuple(sorted(hours, reverse=True))


class AppAdmins(_Section):
    jira: tuple[Email, ...] = ()
    confluence: tuple[Email, ...] = ()

    def of(self, product: Product) -> tuple[str, ...]:
        return self.jira if product is Product.JIRA else self.confluence


class ConfigRoles(_Section):
    """Roles listed in the file: who is an organization admin and who administers each app."""

    source: Literal["config"] = "config"
    org_admins: tuple[Email, ...] = ()
    app_admins: AppAdmins = AppAdmins()


class AtlassianRoles(_Section):
    """Roles asked of Atlassian: the Admin API for org admins, the products for app admins."""

    source: Literal["atlassian"]
    org_id: Text
    admin_api_url: Annotated[str, AfterValidator(_https_url)]
    admin_api_key_env: EnvName
    confluence_admin_groups: tuple[Text, ...] = Field(min_length=1)


def _roles_source(data: object) -> object:
    if isinstance(data, Mapping):
        return data.get("source", "config")  # the file may leave out the default source
    return getattr(data, "source", None)


Roles = Annotated[
    Annotated[ConfigRoles, Tag("config")] | Annotated[AtlassianRoles, Tag("atlassian")],
    Discriminator(
        _roles_source,
        custom_error_type="variant",
        custom_error_message="unknown roles source",
        custom_error_context={"key": "source", "accepted": "config, atlassian"},
    ),
]


def _data_dir(info: ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, Mapping) else {}
    data_dir = context.get("data_dir", DEFAULT_DATA_DIR)
    return data_dir if isinstance(data_dir, Path) else DEFAULT_DATA_DIR


def _refuse_on_managed(value: bool, info: ValidationInfo) -> bool:
    # Only a key the file gives reaches a field validator, so a default never trips this.
    if info.data.get("owner") == StorageOwner.MANAGED:
        raise ValueError(
            "managed storage always deletes expired backups (after 14 days); delete_expired "
            "applies only to an organization's own S3 bucket"
        )
    return value


class LocalStorage(_Section):
    """A folder on the bot's host: always managed storage (14-day retention)."""

    kind: Literal["local"]
    # Default: <data dir>/backups. A relative path is relative to the working directory, as
    # BACKUPBOT_DATA_DIR's default is.
    path: Annotated[Path, BeforeValidator(_non_empty_path)]
    owner: StorageOwner = StorageOwner.MANAGED
    attachments: AttachmentPolicy = AttachmentPolicy.REFERENCE
    delete_expired: bool = False

    @model_validator(mode="before")
    @classmethod
    def _default_path(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, Mapping) and "path" not in data:
            return {**data, "path": _data_dir(info) / "backups"}
        return data

    @field_validator("path")
    @classmethod
    def _expand_home(cls, path: Path) -> Path:
        return path.expanduser()

    @field_validator("owner")
    @classmethod
    def _managed_only(cls, owner: StorageOwner) -> StorageOwner:
        if owner is not StorageOwner.MANAGED:
            raise ValueError(
                "a local folder is always managed storage (14-day retention); an "
                "organization's own storage is its S3 bucket (kind: s3)"
            )
        return owner

    @field_validator("delete_expired")
    @classmethod
    def _no_delete_expired(cls, value: bool, info: ValidationInfo) -> bool:
        return _refuse_on_managed(value, info)

    @property
    def deletes_expired(self) -> bool:
        return True


class S3Storage(_Section):
    """An S3 bucket: the organization's own (30-day restore window) or the operator's (managed)."""

    kind: Literal["s3"]
    bucket: Annotated[str, AfterValidator(_bucket)]
    prefix: str = ""
    region: Annotated[str, AfterValidator(_region)] | None = None
    owner: StorageOwner = StorageOwner.ORGANIZATION
    role_arn: Annotated[str, AfterValidator(_role_arn)] | None = None
    external_id_env: EnvName | None = None
    kms_key_id: Text | None = None
    endpoint_url: Annotated[str, AfterValidator(_any_http_url)] | None = None
    expected_bucket_owner: (
        Annotated[str, BeforeValidator(_quoted_account_id), AfterValidator(_account_id)] | None
    ) = None
    attachments: AttachmentPolicy = AttachmentPolicy.REFERENCE
    delete_expired: bool = False

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, prefix: str) -> str:
        # Object keys are <prefix><site>/<backup-id>/..., so a prefix must end where a folder does.
        folder = prefix.strip().strip("/")
        return f"{folder}/" if folder else ""

    @field_validator("delete_expired")
    @classmethod
    def _delete_expired_if_organization(cls, value: bool, info: ValidationInfo) -> bool:
        return _refuse_on_managed(value, info)

    @field_validator("external_id_env")
    @classmethod
    def _with_role(cls, name: str | None, info: ValidationInfo) -> str | None:
        # An external id is only ever sent when assuming a role. A role_arn that failed its own
        # check is absent from info.data rather than None, and must not add a second problem.
        if "role_arn" in info.data and info.data["role_arn"] is None:
            raise ValueError("an external id is used only to assume a role; give role_arn too")
        return name

    @property
    def deletes_expired(self) -> bool:
        return self.owner is StorageOwner.MANAGED or self.delete_expired


def _storage_kind(data: object) -> object:
    if isinstance(data, Mapping):
        return data.get("kind")
    return getattr(data, "kind", None)


StorageLocation = Annotated[
    Annotated[LocalStorage, Tag("local")] | Annotated[S3Storage, Tag("s3")],
    Discriminator(
        _storage_kind,
        custom_error_type="variant",
        custom_error_message="unknown storage kind",
        custom_error_context={"key": "kind", "accepted": "local, s3"},
    ),
]


class Site(_Section):
    """A Jira or Confluence Cloud site; its API token is read from the variable `token_env`."""

    product: Product
    url: Annotated[str, AfterValidator(_site_url)]  # normalised to the site's origin
    email: Email
    token_env: EnvName
    storage: str = DEFAULT_STORAGE_NAME
    channel: ChannelId | None = None  # None: the notifications channel


class Config(_Section):
    """The whole file, with every default applied."""

    timezone: Annotated[str, AfterValidator(_time_zone)] = "UTC"
    slack: SlackSettings = SlackSettings()
    channels: Channels | None = None  # None: the bot posts to no channel of its own accord
    approvals: ApprovalSettings = ApprovalSettings()
    warnings: WarningSettings = WarningSettings()
    jobs: JobSettings = JobSettings()
    roles: Roles = ConfigRoles()
    storage: dict[LocationName, StorageLocation]
    sites: dict[SiteName, Site] = {}

    @model_validator(mode="before")
    @classmethod
    def _default_storage(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "storage" not in data:
            return {**data, "storage": {DEFAULT_STORAGE_NAME: {"kind": "local"}}}
        return data

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def notifications_channel(self) -> str | None:
        return self.channels.notifications if self.channels else None

    @property
    def approvals_channel(self) -> str | None:
        return self.channels.approvals_channel if self.channels else None

    def channel_for(self, site: Site) -> str | None:
        """Where news of this site's backups goes: its own channel, else the notifications one."""
        return site.channel or self.notifications_channel

    def storage_for(self, site: Site) -> LocalStorage | S3Storage:
        return self.storage[site.storage]


# --- turning pydantic's findings into lines an operator can act on -----------------------------

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


def _described(value: object) -> str:
    """A YAML value's kind, in the file's terms, and the value itself only if it is short text."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_shown(value)}"
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


def _problem(error: ErrorDetails) -> str:
    loc, kind = error["loc"], error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    if kind == "invalid_key" or (loc and loc[-1] == "[key]" and not isinstance(value, str)):
        # Pydantic shows such a key as a number, which is not what the file says; name its parent.
        mapping, _ = _walk(loc[:-2] if loc[-1] == "[key]" else loc[:-1])
        prefix = f"{mapping}: " if mapping else ""
        return prefix + f"a key must be text, got {_described(value)}{_unquoted(value)}"
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
            return prefix + f"expected a mapping (key: value lines), got {_described(value)}"
        if key not in value:
            return f"{path}.{key}: required, but not given (accepted: {accepted})"
        return f"{path}.{key}: {_described(value[key])} is not accepted (accepted: {accepted})"
    if kind in {"enum", "literal_error"}:
        accepted = str(context["expected"]).replace("'", "")
        return prefix + f"{_described(value)} is not accepted (accepted: {accepted})"
    if kind in _EXPECTED:
        hint = _unquoted(value) if kind == "string_type" else ""
        return prefix + f"expected {_EXPECTED[kind]}, got {_described(value)}{hint}"
    if kind == "greater_than_equal":
        return prefix + f"must be at least {context['ge']}, got {value}"
    if kind == "less_than_equal":
        return prefix + f"must be at most {context['le']}, got {value}"
    if kind == "too_short":
        return prefix + f"needs at least {context['min_length']} entry"
    if kind in {"value_error", "assertion_error"}:
        return prefix + str(context["error"])
    return prefix + error["msg"]


# --- checks across keys, on the raw data so they run even where the models found problems -------


def _mappings(data: Mapping[Any, Any], key: str) -> Iterator[tuple[str, Mapping[Any, Any]]]:
    section = data.get(key)
    if isinstance(section, Mapping):
        for name, entry in section.items():
            if isinstance(name, str) and isinstance(entry, Mapping):
                yield name, entry


def _variable_problem(path: str, name: object, environ: Mapping[str, str]) -> list[str]:
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
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


def _cross_checks(data: Mapping[Any, Any], environ: Mapping[str, str]) -> list[str]:
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


# --- entry points ------------------------------------------------------------------------------


def data_dir_from(environ: Mapping[str, str]) -> Path:
    """BACKUPBOT_DATA_DIR, or ./.backupbot when it is unset or empty."""
    return Path(environ.get("BACKUPBOT_DATA_DIR", "").strip() or DEFAULT_DATA_DIR).expanduser()


def _validate(
    data: object,
    environ: Mapping[str, str],
    data_dir: Path,
    source: str,
    problems: list[str],
) -> Config:
    if data is None:
        data = {}  # an empty file: every default
    if not isinstance(data, Mapping):
        problems.append(
            f"the top level must be a mapping of keys (timezone, sites, storage, ...), "
            f"got {_described(data)}"
        )
        raise ConfigError(problems, source)
    config = None
    try:
        config = Config.model_validate(data, context={"data_dir": data_dir})
    except ValidationError as error:
        problems += [_problem(detail) for detail in error.errors()]
    problems += _cross_checks(data, environ)
    if problems or config is None:
        # From None: pydantic's own rendering repeats the inputs, which we keep out of logs.
        raise ConfigError(problems, source) from None
    return config


def parse_config(
    data: object,
    environ: Mapping[str, str] = os.environ,
    data_dir: Path | None = None,
) -> Config:
    """The Config for already-parsed YAML `data`, or ConfigError listing every problem.

    `environ` is where the variables named by the file must be set; `data_dir` (by default
    BACKUPBOT_DATA_DIR from `environ`) is where the default local storage lives.
    """
    directory = data_dir if data_dir is not None else data_dir_from(environ)
    return _validate(data, environ, directory, "the configuration", [])


def load_config(path: Path | None, environ: Mapping[str, str] = os.environ) -> Config:
    """The Config in the YAML file at `path`, or ConfigError listing every problem.

    Without `path`, the file BACKUPBOT_CONFIG names; when that is unset too, the defaults (no
    sites, managed storage under the data directory).
    """
    if path is None:
        named = environ.get("BACKUPBOT_CONFIG", "").strip()
        if not named:
            return parse_config({}, environ)
        path = Path(named)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            ["the file does not exist (BACKUPBOT_CONFIG names the configuration file)"], source
        ) from None
    except IsADirectoryError:
        raise ConfigError(["is a directory, not a configuration file"], source) from None
    except UnicodeDecodeError:
        raise ConfigError(["the file is not UTF-8 text"], source) from None
    except OSError as error:
        raise ConfigError([f"the file cannot be read ({error.strerror})"], source) from None
    data, problems = _read_yaml(text, source)
    return _validate(data, environ, data_dir_from(environ), source, problems)


def _read_yaml(text: str, source: str) -> tuple[object, list[str]]:
    """The document in `text` and the keys it gives twice (which YAML would silently merge)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        return loader.construct_document(node), _repeated_keys(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({error.context})" if error.context else ""
        if error.context and error.context_mark and error.context.startswith("while "):
            context = f" ({error.context} that starts on line {error.context_mark.line + 1})"
        raise ConfigError([f"{where}not valid YAML: {error.problem}{context}"], source) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"not valid YAML: {error}"], source) from None
    finally:
        loader.dispose()


def _repeated_keys(root: yaml.Node) -> list[str]:
    problems: list[str] = []
    visited: set[int] = set()

    def visit(node: yaml.Node, path: str) -> None:
        if id(node) in visited:  # an alias: already seen, and possibly recursive
            return
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                name = str(key.value)
                line = key.start_mark.line + 1
                child = f"{path}.{name}" if path else name
                if name in lines:
                    where = (
                        f"on line {line}"
                        if lines[name] == line
                        else f"on lines {lines[name]} and {line}"
                    )
                    problems.append(f"{child}: given twice {where}; YAML would keep only the last")
                else:
                    lines[name] = line
                visit(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                visit(item, f"{path}[{index}]")

    visit(root, "")
    return problems


# --- the environment ---------------------------------------------------------------------------


def _database_url_problem(url: str) -> str | None:
    scheme, separator, _ = url.partition("://")
    if not separator or not re.fullmatch(r"[a-z][a-z0-9+]*", scheme):
        return (
            "BACKUPBOT_DATABASE_URL: not a database URL (like sqlite:///path/backupbot.db or "
            "postgresql+psycopg://user@host/backupbot)"
        )
    return None


def _slack_api_url_problem(url: str) -> str | None:
    try:
        _any_http_url(url)
    except ValueError:
        return "SLACK_API_URL: not an http(s) URL (like https://slack.com/api/)"
    if not url.endswith("/"):
        return 'SLACK_API_URL: must end in "/" (like https://slack.com/api/)'
    return None


@dataclass(frozen=True)
class Environment:
    """The process's environment variables of ARCHITECTURE §5; secrets are held as `Secret`.

    The Slack credentials are optional here because only `backupbot serve` needs them; it calls
    `require_slack()`. An unset BACKUPBOT_MANIFEST_KEY is generated and kept by the snapshot code.
    """

    slack_bot_token: Secret | None
    slack_signing_secret: Secret | None
    slack_app_token: Secret | None
    slack_api_url: str
    config_path: Path | None
    data_dir: Path
    database_url: Secret  # a server URL may carry a password
    manifest_key: Secret | None
    variables: Mapping[str, str] = field(repr=False, compare=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Environment:
        """The variables in `environ` (a snapshot), or ConfigError listing every problem."""
        snapshot = MappingProxyType(dict(environ))

        def given(name: str) -> str | None:
            return snapshot.get(name, "").strip() or None  # an empty variable counts as unset

        def secret(name: str) -> Secret | None:
            value = given(name)
            return Secret(value) if value else None

        data_dir = data_dir_from(snapshot)
        slack_api_url = given("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        database_url = given("BACKUPBOT_DATABASE_URL") or default_database_url(data_dir)
        config_path = given("BACKUPBOT_CONFIG")
        problems = [
            problem
            for problem in (
                _slack_api_url_problem(slack_api_url),
                _database_url_problem(database_url),
            )
            if problem
        ]
        if problems:
            raise ConfigError(problems, "the environment")
        return cls(
            slack_bot_token=secret("SLACK_BOT_TOKEN"),
            slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
            slack_app_token=secret("SLACK_APP_TOKEN"),
            slack_api_url=slack_api_url,
            config_path=Path(config_path).expanduser() if config_path else None,
            data_dir=data_dir,
            database_url=Secret(database_url),
            manifest_key=secret("BACKUPBOT_MANIFEST_KEY"),
            variables=snapshot,
        )

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode (§5)."""
        return self.slack_app_token is not None

    def require_slack(self) -> None:
        """ConfigError unless the Slack credentials the chosen mode needs are all set."""
        problems = []
        if self.slack_bot_token is None:
            problems.append("SLACK_BOT_TOKEN: not set; the app needs its bot token (xoxb-...)")
        # Socket Mode receives events over the app's own connection, so nothing is signed.
        if self.slack_signing_secret is None and not self.socket_mode:
            problems.append(
                "SLACK_SIGNING_SECRET: not set; HTTP mode needs it to check that requests come "
                "from Slack (or set SLACK_APP_TOKEN for Socket Mode)"
            )
        if problems:
            raise ConfigError(problems, "the environment")

    def secret(self, name: str) -> Secret:
        """The variable `name` as a Secret; ConfigError (naming it, never a value) if unset."""
        value = self.variables.get(name, "")
        if not value.strip():
            state = "is not set" if name not in self.variables else "is empty"
            raise ConfigError([f"{name}: environment variable {state}"], "the environment")
        return Secret(value.strip())

    def site_token(self, site: Site) -> Secret:
        """The API token of `site`, from the variable its `token_env` names."""
        return self.secret(site.token_env)

    def external_id(self, location: S3Storage) -> Secret | None:
        """The external id to assume `location`'s role with, if it has one."""
        return self.secret(location.external_id_env) if location.external_id_env else None
