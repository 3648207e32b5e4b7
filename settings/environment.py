"""The process's environment variables (docs/configuration.md), validated once at start-up.

Secrets live only in the environment: the file names the variables that hold them, and no message
or repr ever shows a variable's value (`Secret`).
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from settings.errors import ConfigError
from settings.schema import DEFAULT_DATA_DIR
from settings.values import any_http_url

if TYPE_CHECKING:
    from settings.schema import S3Storage, Site

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DATABASE_FILE_NAME = "backupbot.db"


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


def data_dir_from(environ: Mapping[str, str]) -> Path:
    """BACKUPBOT_DATA_DIR, or ./.backupbot when it is unset or empty."""
    return Path(environ.get("BACKUPBOT_DATA_DIR", "").strip() or DEFAULT_DATA_DIR).expanduser()


def default_database_url(data_dir: Path) -> str:
    """The SQLite file under the data directory, used when BACKUPBOT_DATABASE_URL is unset."""
    return f"sqlite:///{data_dir / DATABASE_FILE_NAME}"


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
        any_http_url(url)
    except ValueError:
        return "SLACK_API_URL: not an http(s) URL (like https://slack.com/api/)"
    if not url.endswith("/"):
        return 'SLACK_API_URL: must end in "/" (like https://slack.com/api/)'
    return None


@dataclass(frozen=True)
class Environment:
    """The process's environment variables (docs/contract.md); secrets are held as `Secret`.

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
        """Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode (docs/contract.md)."""
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
