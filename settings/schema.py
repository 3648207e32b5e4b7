"""The configuration file's schema: one frozen pydantic model per section (docs/configuration.md
lists every key with its default)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from policy.products import Product
from policy.retention import StorageOwner
from settings.values import (
    AwsAccountId,
    BucketName,
    ChannelId,
    Email,
    EnvName,
    FolderPath,
    Hours,
    HttpsUrl,
    HttpUrl,
    LeadHours,
    LocationName,
    RegionName,
    RoleArn,
    SiteName,
    SiteUrl,
    TeamId,
    Text,
    TimeZoneName,
)

DEFAULT_DATA_DIR = Path(".backupbot")

DEFAULT_STORAGE_NAME = "managed"


class AttachmentPolicy(StrEnum):
    """How a storage location keeps attachments (docs/rules.md, "Attachments")."""

    REFERENCE = "reference"  # id, owner, name, size, type and URL: restorable while the file exists
    COPY = "copy"  # content stored once by SHA-256: restorable after the original is gone


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
    admin_api_url: HttpsUrl
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
    path: FolderPath
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
    bucket: BucketName
    prefix: str = ""
    region: RegionName | None = None
    owner: StorageOwner = StorageOwner.ORGANIZATION
    role_arn: RoleArn | None = None
    external_id_env: EnvName | None = None
    kms_key_id: Text | None = None
    endpoint_url: HttpUrl | None = None
    expected_bucket_owner: AwsAccountId | None = None
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
    url: SiteUrl  # normalised to the site's origin
    email: Email
    token_env: EnvName
    storage: str = DEFAULT_STORAGE_NAME
    channel: ChannelId | None = None  # None: the notifications channel


class Config(_Section):
    """The whole file, with every default applied."""

    timezone: TimeZoneName = "UTC"
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
