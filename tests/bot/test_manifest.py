"""The Slack app manifest (`manifest.yml`) against Slack's published JSON Schema and our needs.

The schema is a vendored copy (`tests/data/slack/`, made by `tools/vendor_slack_schema.py`), so
these tests pass on a clone without `../shared`; `tools/vendor_slack_schema.py --check` compares
the copy with the original where it exists.
"""

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "manifest.yml"
SCHEMA = REPO / "tests" / "data" / "slack" / "slack-app-manifest.schema.1.0.0.json"

BOT_SCOPES = {"commands", "chat:write", "chat:write.public", "users:read", "users:read.email"}


def load_manifest() -> dict[str, Any]:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(manifest, dict)
    return manifest


def load_schema() -> dict[str, Any]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def validator() -> Draft7Validator:
    return Draft7Validator(load_schema(), format_checker=Draft7Validator.FORMAT_CHECKER)


def errors_of(manifest: dict[str, Any]) -> list[str]:
    """Every schema violation in `manifest`, each as `path: message`, in a stable order."""
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator().iter_errors(manifest)
    )


def backup_command(manifest: dict[str, Any]) -> dict[str, Any]:
    commands = [c for c in manifest["features"]["slash_commands"] if c["command"] == "/backup"]
    assert len(commands) == 1, "exactly one /backup slash command"
    return commands[0]


def test_vendored_schema_is_a_valid_draft7_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)


def test_manifest_validates_against_slacks_manifest_schema() -> None:
    errors = errors_of(load_manifest())
    assert not errors, "manifest.yml breaks Slack's schema:\n" + "\n".join(errors)


def test_validator_rejects_a_manifest_with_an_unknown_top_level_key() -> None:
    manifest = load_manifest()
    manifest["bogus"] = True
    errors = errors_of(manifest)
    assert any(e.startswith("(root):") and "'bogus'" in e for e in errors), errors


def test_validator_rejects_bot_scopes_written_as_a_string_instead_of_a_list() -> None:
    manifest = load_manifest()
    manifest["oauth_config"]["scopes"]["bot"] = "commands,chat:write"
    errors = errors_of(manifest)
    assert errors == ["oauth_config/scopes/bot: 'commands,chat:write' is not of type 'array'"]


def test_validator_rejects_a_manifest_without_display_information() -> None:
    manifest = load_manifest()
    del manifest["display_information"]
    assert errors_of(manifest) == ["(root): 'display_information' is a required property"]


def test_manifest_is_for_app_backupbot_with_metadata_version_1_1() -> None:
    manifest = load_manifest()
    assert manifest["_metadata"] == {"major_version": 1, "minor_version": 1}
    assert manifest["display_information"]["name"] == "backupbot"


def test_background_color_is_a_hex_rgb_color() -> None:
    # Slack's schema spells this pattern with a non-standard `regex` keyword that validators
    # ignore, so it is checked here.
    color = load_manifest()["display_information"]["background_color"]
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", color), color


def test_bot_user_is_backupbot_and_always_online() -> None:
    assert load_manifest()["features"]["bot_user"] == {
        "display_name": "backupbot",
        "always_online": True,
    }


def test_backup_slash_command_has_description_usage_hint_and_unescaped_text() -> None:
    command = backup_command(load_manifest())
    assert command["description"]
    assert command["usage_hint"] == "now <site> | list | restore <backup-id> | help"
    assert command["should_escape"] is False


@pytest.mark.parametrize(
    "where",
    ["slash command /backup", "settings.interactivity", "settings.event_subscriptions"],
)
def test_every_request_url_uses_https_and_ends_in_slack_events(where: str) -> None:
    manifest = load_manifest()
    url = {
        "slash command /backup": backup_command(manifest)["url"],
        "settings.interactivity": manifest["settings"]["interactivity"]["request_url"],
        "settings.event_subscriptions": manifest["settings"]["event_subscriptions"]["request_url"],
    }[where]
    parts = urlsplit(url)
    # Slack's schema accepts http:// too; Slack itself and signed requests need https.
    assert parts.scheme == "https", url
    assert parts.netloc, url
    assert parts.path == "/slack/events", url
    assert not parts.query and not parts.fragment, url


def test_all_request_urls_point_at_the_same_endpoint() -> None:
    manifest = load_manifest()
    settings = manifest["settings"]
    urls = {
        backup_command(manifest)["url"],
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    }
    assert len(urls) == 1, urls


def test_interactivity_is_enabled() -> None:
    assert load_manifest()["settings"]["interactivity"]["is_enabled"] is True


def test_bot_scopes_are_exactly_the_five_the_bot_needs() -> None:
    scopes = load_manifest()["oauth_config"]["scopes"]
    assert sorted(scopes["bot"]) == sorted(BOT_SCOPES)
    assert set(scopes) == {"bot"}, "no user scopes, no optional scopes"


def test_app_home_opened_is_subscribed_and_the_home_tab_is_enabled() -> None:
    manifest = load_manifest()
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_messages_tab_is_off_or_read_only() -> None:
    app_home = load_manifest()["features"]["app_home"]
    assert not app_home["messages_tab_enabled"] or app_home["messages_tab_read_only_enabled"]


def test_app_is_workspace_installed_over_https_with_a_long_lived_token() -> None:
    settings = load_manifest()["settings"]
    assert settings["org_deploy_enabled"] is False
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False
