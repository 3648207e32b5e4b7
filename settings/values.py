"""Checks of single values in the configuration file (names, ids, URLs, time zones, ARNs),
as pydantic annotated types; each check's message says what was wrong and what is accepted."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from policy.eligibility import IneligibleSite, check_site_url, is_loopback_host
from policy.identifiers import id_kind
from settings.errors import shown

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
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+")
_ACCOUNT_ID = re.compile(r"\d{12}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]+")  # loose: S3-compatible services name regions freely
_SHOWN_LENGTH = 60


def _check_name(value: str, noun: str, example: str) -> str:
    rule = "lowercase letters, digits and hyphens, starting with a letter"
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"a {noun} name has at most {MAX_NAME_LENGTH} characters")
    if not _NAME.fullmatch(value):
        if _NAME.fullmatch(value.lower()):
            raise ValueError(f"{shown(value)} must be lowercase ({value.lower()!r})")
        raise ValueError(f"{shown(value)} is not a valid {noun} name: use {rule} (like {example})")
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
            f"{shown(value)} is not a Slack team id (like T0123456789); find it in the "
            "workspace's URL or its settings"
        )
    return value


def _channel_id(value: str) -> str:
    if not _CHANNEL_ID.fullmatch(value):
        raise ValueError(
            f"{shown(value)} is not a Slack channel id (like C0123456789); copy the id from "
            "the channel's details"
        )
    return value


def _email(value: str) -> str:
    address = value.strip().lower()
    if not _EMAIL.fullmatch(address):
        raise ValueError(f"{shown(value)} is not an email address (like alice@example.com)")
    return address


def _env_name(value: str) -> str:
    if not ENV_NAME.fullmatch(value):
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
    refusal = f"{shown(value)} is not an http(s) URL"
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


def any_http_url(value: str) -> str:
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
            f"{shown(value)} is not a time zone (use an IANA name like Europe/Berlin)"
        ) from None
    return value


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.fullmatch(value):
        raise ValueError(
            f"{shown(value)} is not an IAM role ARN (like arn:aws:iam::123456789012:role/backupbot)"
        )
    return value


def _quoted_account_id(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads unquoted digits as a number, dropping leading zeros (or reading octal).
        raise ValueError('write the account id in quotes (like "123456789012")')
    return value


def _account_id(value: str) -> str:
    if not _ACCOUNT_ID.fullmatch(value):
        raise ValueError(f"{shown(value)} is not an AWS account id (12 digits)")
    return value


def _bucket(value: str) -> str:
    if value.startswith(("s3://", "arn:")):
        raise ValueError("give the bucket's name only (like acme-backups), not a URL or ARN")
    if not _BUCKET.fullmatch(value):
        raise ValueError(
            f"{shown(value)} is not an S3 bucket name (3 to 63 lowercase letters, digits, "
            "dots and hyphens)"
        )
    return value


def _region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError(f"{shown(value)} is not a region name (like eu-central-1)")
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
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
HttpUrl = Annotated[str, AfterValidator(any_http_url)]
SiteUrl = Annotated[str, AfterValidator(_site_url)]  # normalised to the site's origin
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
BucketName = Annotated[str, AfterValidator(_bucket)]
RegionName = Annotated[str, AfterValidator(_region)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
AwsAccountId = Annotated[str, BeforeValidator(_quoted_account_id), AfterValidator(_account_id)]
FolderPath = Annotated[Path, BeforeValidator(_non_empty_path)]
