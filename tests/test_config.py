"""The configuration loader: the YAML file of docs/contract.md and the environment variables."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from policy.products import Product
from policy.retention import StorageOwner
from settings.environment import Environment, Secret
from settings.errors import ConfigError
from settings.loading import load_config, parse_config
from settings.schema import AtlassianRoles, AttachmentPolicy, ConfigRoles, LocalStorage, S3Storage

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLE = REPOSITORY / "backupbot.example.yml"
DATA_DIR = Path("/srv/backupbot")
TOKEN = "ATATT-recognisable-token-value-9f8e7d"
EXTERNAL_ID = "recognisable-external-id-1a2b3c"
ENVIRON = {"ACME_TOKEN": TOKEN, "ACME_EXT_ID": EXTERNAL_ID}


def jira_site(**changes: Any) -> dict[str, Any]:
    return {
        "product": "jira",
        "url": "https://acme.atlassian.net",
        "email": "svc@acme.com",
        "token_env": "ACME_TOKEN",
        **changes,
    }


def organization_bucket(**changes: Any) -> dict[str, Any]:
    return {"kind": "s3", "bucket": "acme-backups", **changes}


def loaded_bucket(**changes: Any) -> S3Storage:
    data = {"storage": {"acme-s3": organization_bucket(**changes)}}
    location = parse_config(data, ENVIRON, DATA_DIR).storage["acme-s3"]
    assert isinstance(location, S3Storage)
    return location


def problems(data: object, environ: dict[str, str] | None = None) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, ENVIRON if environ is None else environ, DATA_DIR)
    return caught.value.problems


def only_problem(data: object, environ: dict[str, str] | None = None) -> str:
    found = problems(data, environ)
    assert len(found) == 1, found
    return found[0]


# --- files that load ---------------------------------------------------------------------------


def test_example_file_loads_with_the_variables_it_names() -> None:
    config = load_config(EXAMPLE, ENVIRON)

    assert set(config.sites) == {"acme-jira", "acme-wiki"}
    assert config.sites["acme-wiki"].product is Product.CONFLUENCE
    assert isinstance(config.roles, ConfigRoles)
    assert config.storage_for(config.sites["acme-wiki"]).owner is StorageOwner.ORGANIZATION


def test_example_file_names_every_variable_it_needs() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE, {})

    assert caught.value.problems == (
        "sites.acme-jira.token_env: environment variable ACME_TOKEN is not set",
        "sites.acme-wiki.token_env: environment variable ACME_TOKEN is not set",
        "storage.acme-s3.external_id_env: environment variable ACME_EXT_ID is not set",
    )


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text("")

    assert load_config(path, {}) == parse_config({}, {})


def test_minimal_file_gets_every_default() -> None:
    config = parse_config({"sites": {"acme-jira": jira_site()}}, ENVIRON, DATA_DIR)

    assert config.timezone == "UTC"
    assert config.slack.allowed_team_ids == ()
    assert config.channels is None
    assert config.approvals.request_ttl_hours == 24
    assert config.warnings.lead_hours == (72, 24)
    assert config.warnings.every_backup is False
    assert config.roles == ConfigRoles(source="config", org_admins=())
    assert config.sites["acme-jira"].storage == "managed"
    assert config.sites["acme-jira"].channel is None


def test_without_storage_key_backups_go_to_managed_local_folder_under_data_dir() -> None:
    config = parse_config({}, {}, DATA_DIR)

    assert config.storage == {
        "managed": LocalStorage(kind="local", path=DATA_DIR / "backups"),
    }


def test_local_location_without_path_uses_the_data_dir() -> None:
    location = parse_config({"storage": {"disk": {"kind": "local"}}}, {}, DATA_DIR).storage["disk"]

    assert isinstance(location, LocalStorage)
    assert location.path == DATA_DIR / "backups"


def test_data_dir_defaults_to_the_environment_variable() -> None:
    location = parse_config({}, {"BACKUPBOT_DATA_DIR": "/var/lib/bb"}).storage["managed"]

    assert isinstance(location, LocalStorage)
    assert location.path == Path("/var/lib/bb/backups")


def test_without_path_load_config_reads_the_file_backupbot_config_names(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text("timezone: Europe/Berlin\n")

    assert load_config(None, {"BACKUPBOT_CONFIG": str(path)}).timezone == "Europe/Berlin"


def test_without_any_file_load_config_gives_the_defaults() -> None:
    assert load_config(None, {}).sites == {}


def test_local_storage_is_managed_and_s3_defaults_to_the_organization() -> None:
    config = parse_config(
        {"storage": {"disk": {"kind": "local"}, "acme-s3": organization_bucket()}}, {}, DATA_DIR
    )

    assert config.storage["disk"].owner is StorageOwner.MANAGED
    assert config.storage["acme-s3"].owner is StorageOwner.ORGANIZATION


def test_s3_defaults() -> None:
    location = loaded_bucket()

    assert location == S3Storage(kind="s3", bucket="acme-backups")
    assert location.prefix == ""
    assert location.attachments is AttachmentPolicy.REFERENCE
    assert location.delete_expired is False


def test_s3_prefix_is_made_a_folder() -> None:
    assert loaded_bucket(prefix="/atlassian").prefix == "atlassian/"


def test_managed_storage_deletes_expired_backups_and_organization_s3_keeps_them() -> None:
    config = parse_config(
        {
            "storage": {
                "disk": {"kind": "local"},
                "operator-s3": organization_bucket(owner="managed"),
                "acme-s3": organization_bucket(),
                "acme-tidy": organization_bucket(delete_expired=True),
            }
        },
        {},
        DATA_DIR,
    )

    assert [location.deletes_expired for location in config.storage.values()] == [
        True,
        True,
        False,
        True,
    ]


def test_approvals_go_to_the_notifications_channel_unless_given() -> None:
    config = parse_config({"channels": {"notifications": "C0NOTIFY01"}}, {}, DATA_DIR)

    assert config.approvals_channel == "C0NOTIFY01"


def test_site_channel_overrides_the_notifications_channel() -> None:
    config = parse_config(
        {
            "channels": {"notifications": "C0NOTIFY01"},
            "sites": {"a": jira_site(channel="C0JIRA0001"), "b": jira_site(product="confluence")},
        },
        ENVIRON,
        DATA_DIR,
    )

    assert config.channel_for(config.sites["a"]) == "C0JIRA0001"
    assert config.channel_for(config.sites["b"]) == "C0NOTIFY01"


def test_emails_are_lowercased() -> None:
    config = parse_config(
        {"roles": {"org_admins": ["Alice@Example.COM"], "app_admins": {"jira": ["BOB@x.io"]}}},
        {},
        DATA_DIR,
    )

    assert isinstance(config.roles, ConfigRoles)
    assert config.roles.org_admins == ("alice@example.com",)
    assert config.roles.app_admins.of(Product.JIRA) == ("bob@x.io",)


def test_site_url_is_normalised_to_its_origin() -> None:
    config = parse_config(
        {"sites": {"a": jira_site(url="HTTPS://Acme.Atlassian.net/")}}, ENVIRON, DATA_DIR
    )

    assert config.sites["a"].url == "https://acme.atlassian.net"


def test_sandbox_site_on_loopback_may_use_plain_http() -> None:
    config = parse_config({"sites": {"a": jira_site(url="http://127.0.0.1:8081")}}, ENVIRON)

    assert config.sites["a"].url == "http://127.0.0.1:8081"


def test_warning_lead_hours_are_sorted_largest_first() -> None:
    config = parse_config({"warnings": {"lead_hours": [1, 168, 24]}}, {}, DATA_DIR)

    assert config.warnings.lead_hours == (168, 24, 1)


def test_atlassian_roles_load_with_their_keys() -> None:
    roles = {
        "source": "atlassian",
        "org_id": "org-1",
        "admin_api_url": "https://api.atlassian.com/admin",
        "admin_api_key_env": "ADMIN_KEY",
        "confluence_admin_groups": ["confluence-admins"],
    }

    config = parse_config({"roles": roles}, {"ADMIN_KEY": "k"}, DATA_DIR)

    assert isinstance(config.roles, AtlassianRoles)
    assert config.roles.confluence_admin_groups == ("confluence-admins",)


def test_config_is_immutable() -> None:
    config = parse_config({}, {}, DATA_DIR)

    with pytest.raises(ValueError, match="frozen"):
        config.timezone = "Europe/Berlin"  # type: ignore[misc]


# --- one kind of error each, named by its key path ---------------------------------------------


def test_site_naming_an_unknown_storage_location_lists_the_configured_ones() -> None:
    data = {
        "storage": {"managed": {"kind": "local"}, "acme-s3": organization_bucket()},
        "sites": {"acme-jira": jira_site(storage="nas")},
    }

    assert only_problem(data) == (
        "sites.acme-jira.storage: unknown storage location 'nas'; configured: managed, acme-s3"
    )


def test_site_without_storage_needs_a_location_named_managed() -> None:
    data = {"storage": {"acme-s3": organization_bucket()}, "sites": {"acme-jira": jira_site()}}

    assert only_problem(data).startswith(
        "sites.acme-jira.storage: unknown storage location 'managed' (a site without storage: "
    )


def test_government_site_is_refused() -> None:
    data = {"sites": {"fed": jira_site(url="https://agency.atlassian-us-gov-mod.net")}}

    assert only_problem(data) == (
        "sites.fed.url: agency.atlassian-us-gov-mod.net is in the Atlassian Government "
        "environment, where backup and restore isn't available"
    )


def test_plain_http_site_is_refused() -> None:
    data = {"sites": {"acme-jira": jira_site(url="http://acme.atlassian.net")}}

    assert only_problem(data).startswith("sites.acme-jira.url: the site URL must use https")


def test_unset_token_variable_is_named() -> None:
    data = {"sites": {"acme-jira": jira_site()}}

    assert only_problem(data, environ={}) == (
        "sites.acme-jira.token_env: environment variable ACME_TOKEN is not set"
    )


def test_empty_token_variable_is_named() -> None:
    data = {"sites": {"acme-jira": jira_site()}}

    assert only_problem(data, environ={"ACME_TOKEN": "  "}) == (
        "sites.acme-jira.token_env: environment variable ACME_TOKEN is empty"
    )


def test_token_pasted_in_place_of_its_variable_name_is_not_echoed() -> None:
    data = {"sites": {"acme-jira": jira_site(token_env=TOKEN)}}

    problem = only_problem(data)

    assert problem.startswith("sites.acme-jira.token_env: must be the name of an environment")
    assert TOKEN not in problem


def test_channel_name_instead_of_id_is_refused() -> None:
    data = {"channels": {"notifications": "#general"}}

    assert only_problem(data) == (
        "channels.notifications: '#general' is not a Slack channel id (like C0123456789); "
        "copy the id from the channel's details"
    )


def test_channels_block_requires_the_notifications_channel() -> None:
    assert only_problem({"channels": {"approvals": "C0APPROVE1"}}) == (
        "channels.notifications: required, but not given"
    )


def test_unknown_time_zone_is_refused() -> None:
    assert only_problem({"timezone": "Mars/Olympus"}) == (
        "timezone: 'Mars/Olympus' is not a time zone (use an IANA name like Europe/Berlin)"
    )


def test_bad_slack_team_id_is_refused() -> None:
    problem = only_problem({"slack": {"allowed_team_ids": ["T0ACME0001", "acme"]}})

    assert problem.startswith("slack.allowed_team_ids[1]: 'acme' is not a Slack team id")


def test_site_names_differing_only_in_case_are_duplicates() -> None:
    data = {"sites": {"acme-jira": jira_site(), "Acme-Jira": jira_site(product="confluence")}}

    assert (
        "sites.Acme-Jira: same name as sites.acme-jira "
        "(names are compared ignoring case and must be unique)"
    ) in problems(data)


def test_name_given_twice_in_the_file_is_reported_with_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text(
        "sites:\n"
        "  acme-jira: {product: jira, url: 'https://a.atlassian.net', email: a@a.io, "
        "token_env: ACME_TOKEN}\n"
        "  acme-jira: {product: jira, url: 'https://b.atlassian.net', email: a@a.io, "
        "token_env: ACME_TOKEN}\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, ENVIRON)

    assert caught.value.problems == (
        "sites.acme-jira: given twice on lines 2 and 3; YAML would keep only the last",
    )


def test_same_site_configured_twice_is_refused() -> None:
    data = {
        "sites": {"acme": jira_site(), "acme-again": jira_site(url="https://ACME.atlassian.net")}
    }

    assert only_problem(data) == (
        "sites.acme-again.url: the same jira site as sites.acme (https://acme.atlassian.net); "
        "configure each site once"
    )


@pytest.mark.parametrize("word", ["all", "jira", "confluence", "daily", "tz", "preview"])
def test_reserved_word_is_refused_as_site_name_because_commands_would_be_ambiguous(
    word: str,
) -> None:
    problem = only_problem({"sites": {word: jira_site()}})

    assert problem.startswith(f"sites.{word}: '{word}' is a word of the /backup commands")
    assert "ambiguous" in problem


def test_site_name_shaped_like_a_backup_id_is_refused() -> None:
    assert only_problem({"sites": {"bk-abc123": jira_site()}}).startswith(
        "sites.bk-abc123: 'bk-abc123' looks like a backup id"
    )


def test_site_name_with_spaces_is_refused() -> None:
    assert only_problem({"sites": {"acme jira": jira_site()}}).startswith(
        "sites.acme jira: 'acme jira' is not a valid site name: use lowercase letters, digits"
    )


def test_name_longer_than_40_characters_is_refused() -> None:
    name = "a" * 41

    assert only_problem({"storage": {name: {"kind": "local"}}}) == (
        f"storage.{name}: a storage location name has at most 40 characters"
    )


def test_unknown_key_lists_the_accepted_keys() -> None:
    data = {"sites": {"x": {**jira_site(), "tokn_env": "ACME_TOKEN"}}}

    assert only_problem(data) == (
        "sites.x.tokn_env: unknown key (accepted: product, url, email, token_env, storage, channel)"
    )


def test_unknown_top_level_key_lists_the_sections() -> None:
    assert only_problem({"site": {}}) == (
        "site: unknown key (accepted: timezone, slack, channels, approvals, warnings, jobs, "
        "roles, storage, sites)"
    )


def test_unknown_key_of_a_storage_kind_lists_that_kinds_keys() -> None:
    assert only_problem({"storage": {"disk": {"kind": "local", "bucket": "b"}}}) == (
        "storage.disk.bucket: unknown key (accepted: kind, path, owner, attachments, "
        "delete_expired)"
    )


def test_wrong_type_is_described_in_plain_words() -> None:
    assert only_problem({"approvals": {"request_ttl_hours": "a day"}}) == (
        "approvals.request_ttl_hours: expected a whole number, got the text 'a day'"
    )


def test_list_where_a_mapping_belongs_is_described_in_plain_words() -> None:
    assert only_problem({"sites": ["acme-jira"]}) == (
        "sites: expected a mapping (key: value lines), got a list"
    )


def test_unknown_product_lists_the_products() -> None:
    assert only_problem({"sites": {"a": jira_site(product="bitbucket")}}) == (
        "sites.a.product: the text 'bitbucket' is not accepted (accepted: jira or confluence)"
    )


def test_unquoted_yes_no_word_read_by_yaml_as_boolean_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text("channels: {notifications: no}\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path, {})

    assert caught.value.problems == (
        "channels.notifications: expected text, got true/false "
        "(YAML takes unquoted yes, no, on and off for true/false; quote the word)",
    )


def test_missing_site_keys_are_each_reported() -> None:
    assert problems({"sites": {"a": {"product": "jira"}}}, environ={}) == (
        "sites.a.url: required, but not given",
        "sites.a.email: required, but not given",
        "sites.a.token_env: required, but not given",
    )


def test_request_ttl_above_a_week_is_refused() -> None:
    assert only_problem({"approvals": {"request_ttl_hours": 169}}) == (
        "approvals.request_ttl_hours: must be at most 168, got 169"
    )


def test_warning_lead_time_of_30_days_is_refused() -> None:
    assert only_problem({"warnings": {"lead_hours": [720]}}).startswith(
        "warnings.lead_hours[0]: 720 is not a lead time: give hours from 1 to 719"
    )


def test_repeated_warning_lead_time_is_refused() -> None:
    assert only_problem({"warnings": {"lead_hours": [72, 24, 72]}}) == (
        "warnings.lead_hours: 72 given more than once; each lead time warns once"
    )


def test_bad_email_is_refused() -> None:
    assert only_problem({"roles": {"org_admins": ["alice"]}}) == (
        "roles.org_admins[0]: 'alice' is not an email address (like alice@example.com)"
    )


def test_bad_role_arn_is_refused() -> None:
    data = {"storage": {"acme-s3": organization_bucket(role_arn="arn:aws:iam::1234:user/bot")}}

    assert only_problem(data) == (
        "storage.acme-s3.role_arn: 'arn:aws:iam::1234:user/bot' is not an IAM role ARN "
        "(like arn:aws:iam::123456789012:role/backupbot)"
    )


def test_role_arn_of_another_aws_partition_is_accepted() -> None:
    arn = "arn:aws-cn:iam::123456789012:role/team/backupbot"

    assert loaded_bucket(role_arn=arn).role_arn == arn


def test_atlassian_roles_source_reports_each_missing_key() -> None:
    assert problems({"roles": {"source": "atlassian"}}) == (
        "roles.org_id: required, but not given",
        "roles.admin_api_url: required, but not given",
        "roles.admin_api_key_env: required, but not given",
        "roles.confluence_admin_groups: required, but not given",
    )


def test_atlassian_roles_need_their_api_key_variable_set() -> None:
    roles = {
        "source": "atlassian",
        "org_id": "org-1",
        "admin_api_url": "https://api.atlassian.com/admin",
        "admin_api_key_env": "ADMIN_KEY",
        "confluence_admin_groups": ["confluence-admins"],
    }

    assert only_problem({"roles": roles}) == (
        "roles.admin_api_key_env: environment variable ADMIN_KEY is not set"
    )


def test_unknown_roles_source_is_refused() -> None:
    assert only_problem({"roles": {"source": "ldap"}}) == (
        "roles.source: the text 'ldap' is not accepted (accepted: config, atlassian)"
    )


def test_config_roles_refuse_the_atlassian_keys() -> None:
    assert only_problem({"roles": {"org_id": "org-1"}}) == (
        "roles.org_id: unknown key (accepted: source, org_admins, app_admins)"
    )


def test_unset_external_id_variable_is_named() -> None:
    bucket = organization_bucket(
        role_arn="arn:aws:iam::123456789012:role/backupbot", external_id_env="ACME_EXT_ID"
    )

    assert only_problem({"storage": {"acme-s3": bucket}}, environ={}) == (
        "storage.acme-s3.external_id_env: environment variable ACME_EXT_ID is not set"
    )


def test_external_id_without_a_role_is_refused() -> None:
    data = {"storage": {"acme-s3": organization_bucket(external_id_env="ACME_EXT_ID")}}

    assert only_problem(data) == (
        "storage.acme-s3.external_id_env: an external id is used only to assume a role; "
        "give role_arn too"
    )


def test_storage_without_kind_is_refused() -> None:
    assert only_problem({"storage": {"nas": {"path": "/mnt/nas"}}}) == (
        "storage.nas.kind: required, but not given (accepted: local, s3)"
    )


def test_unknown_storage_kind_is_refused() -> None:
    assert only_problem({"storage": {"nas": {"kind": "nfs"}}}) == (
        "storage.nas.kind: the text 'nfs' is not accepted (accepted: local, s3)"
    )


def test_local_storage_cannot_belong_to_the_organization() -> None:
    problem = only_problem({"storage": {"disk": {"kind": "local", "owner": "organization"}}})

    assert problem.startswith("storage.disk.owner: a local folder is always managed storage")


@pytest.mark.parametrize(
    "location",
    [
        {"kind": "local", "delete_expired": False},
        organization_bucket(owner="managed", delete_expired=True),
    ],
)
def test_delete_expired_is_refused_on_managed_storage(location: dict[str, Any]) -> None:
    assert only_problem({"storage": {"m": location}}).startswith(
        "storage.m.delete_expired: managed storage always deletes expired backups"
    )


def test_bucket_url_instead_of_name_is_refused() -> None:
    assert only_problem({"storage": {"b": organization_bucket(bucket="s3://acme-backups")}}) == (
        "storage.b.bucket: give the bucket's name only (like acme-backups), not a URL or ARN"
    )


def test_unquoted_bucket_owner_account_id_is_refused() -> None:
    data = {"storage": {"b": organization_bucket(expected_bucket_owner=123456789012)}}

    assert only_problem(data) == (
        'storage.b.expected_bucket_owner: write the account id in quotes (like "123456789012")'
    )


def test_endpoint_url_must_be_http() -> None:
    data = {"storage": {"b": organization_bucket(endpoint_url="minio.local:9000")}}

    assert only_problem(data) == "storage.b.endpoint_url: 'minio.local:9000' is not an http(s) URL"


# --- the file itself ---------------------------------------------------------------------------


def test_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"

    with pytest.raises(ConfigError) as caught:
        load_config(path, {})

    assert str(caught.value) == (
        f"configuration problem in {path}:\n"
        "  the file does not exist (BACKUPBOT_CONFIG names the configuration file)"
    )


def test_broken_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text("timezone: UTC\nsites:\n  acme-jira: product: jira\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path, {})

    assert caught.value.problems == (
        "line 3, column 21: not valid YAML: mapping values are not allowed here",
    )


def test_top_level_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text("- timezone: UTC\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path, {})

    assert caught.value.problems == (
        "the top level must be a mapping of keys (timezone, sites, storage, ...), got a list",
    )


def test_yaml_tags_that_build_python_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text("timezone: !!python/object/apply:os.getcwd []\n")

    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path, {})


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "backupbot.yml"
    path.write_text(
        "timezone: Mars/Olympus\n"
        "channels: {notifications: '#general'}\n"
        "sites:\n"
        "  acme-jira:\n"
        "    product: jira\n"
        "    url: https://acme.atlassian-us-gov.net\n"
        "    email: svc@acme.com\n"
        "    token_env: MISSING_TOKEN\n"
        "    storage: nas\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, {})

    paths = [problem.split(":")[0] for problem in caught.value.problems]
    assert paths == [
        "timezone",
        "channels.notifications",
        "sites.acme-jira.url",
        "sites.acme-jira.storage",
        "sites.acme-jira.token_env",
    ]
    assert str(caught.value).startswith(f"configuration problems in {path}:\n  timezone: ")


# --- the environment ---------------------------------------------------------------------------


def test_environment_defaults() -> None:
    environment = Environment.from_environ({})

    assert environment.slack_api_url == "https://slack.com/api/"
    assert environment.data_dir == Path(".backupbot")
    assert environment.database_url.reveal() == "sqlite:///.backupbot/backupbot.db"
    assert environment.config_path is None
    assert environment.slack_bot_token is None
    assert environment.manifest_key is None
    assert environment.socket_mode is False


def test_default_database_lives_in_the_data_dir() -> None:
    environment = Environment.from_environ({"BACKUPBOT_DATA_DIR": "/srv/bb"})

    assert environment.database_url.reveal() == "sqlite:////srv/bb/backupbot.db"


def test_environment_reads_every_variable() -> None:
    environment = Environment.from_environ(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "signing",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_API_URL": "http://127.0.0.1:9000/api/",
            "BACKUPBOT_CONFIG": "/etc/backupbot.yml",
            "BACKUPBOT_DATABASE_URL": "postgresql+psycopg://bb:pw@db/bb",
            "BACKUPBOT_MANIFEST_KEY": "hmac-key",
        }
    )

    assert environment.slack_bot_token == Secret("xoxb-1")
    assert environment.slack_signing_secret == Secret("signing")
    assert environment.socket_mode is True
    assert environment.slack_api_url == "http://127.0.0.1:9000/api/"
    assert environment.config_path == Path("/etc/backupbot.yml")
    assert environment.database_url.reveal() == "postgresql+psycopg://bb:pw@db/bb"
    assert environment.manifest_key == Secret("hmac-key")


def test_slack_api_url_must_end_in_a_slash() -> None:
    with pytest.raises(ConfigError) as caught:
        Environment.from_environ({"SLACK_API_URL": "https://slack.com/api"})

    assert caught.value.problems == (
        'SLACK_API_URL: must end in "/" (like https://slack.com/api/)',
    )


def test_serving_slack_over_http_needs_the_bot_token_and_signing_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        Environment.from_environ({}).require_slack()

    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
    ]


def test_socket_mode_needs_no_signing_secret() -> None:
    Environment.from_environ(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
    ).require_slack()


def test_site_token_is_read_from_the_variable_its_token_env_names() -> None:
    config = parse_config({"sites": {"acme-jira": jira_site()}}, ENVIRON, DATA_DIR)

    token = Environment.from_environ(ENVIRON).site_token(config.sites["acme-jira"])

    assert token.reveal() == TOKEN


def test_reading_an_unset_secret_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Environment.from_environ({}).secret("ACME_TOKEN")

    assert caught.value.problems == ("ACME_TOKEN: environment variable is not set",)


def test_environment_is_a_snapshot() -> None:
    variables = {"ACME_TOKEN": TOKEN}
    environment = Environment.from_environ(variables)
    variables["ACME_TOKEN"] = "changed"

    assert environment.secret("ACME_TOKEN").reveal() == TOKEN


# --- secrets never shown -----------------------------------------------------------------------


def test_secret_shows_only_a_mask() -> None:
    secret = Secret(TOKEN)

    assert str(secret) == "********"
    assert repr(secret) == "'********'"
    assert f"{secret}" == "********"


def test_environment_never_shows_a_secret() -> None:
    environment = Environment.from_environ(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": TOKEN,
            "SLACK_APP_TOKEN": TOKEN,
            "BACKUPBOT_MANIFEST_KEY": TOKEN,
            "BACKUPBOT_DATABASE_URL": f"postgresql://bb:{TOKEN}@db/bb",
            "ACME_TOKEN": TOKEN,
        }
    )

    assert TOKEN not in repr(environment)
    assert TOKEN not in str(environment)


def test_config_errors_never_contain_a_secret_value(tmp_path: Path) -> None:
    environ = {**ENVIRON, "SLACK_API_URL": TOKEN, "BACKUPBOT_DATABASE_URL": TOKEN}
    path = tmp_path / "backupbot.yml"
    path.write_text(
        "timezone: Mars/Olympus\n"
        "storage:\n"
        "  acme-s3: {kind: s3, bucket: acme-backups, external_id_env: ACME_EXT_ID}\n"
        "sites:\n"
        "  all: {product: jira, url: 'http://acme.atlassian.net', email: bad,\n"
        "        token_env: ACME_TOKEN}\n"
        "  b: {product: jira, url: 'https://b.atlassian.net', email: a@b.io, token_env: NOT_SET}\n"
    )
    errors = []
    for attempt in (
        lambda: load_config(path, environ),
        lambda: load_config(path, {**environ, "ACME_TOKEN": ""}),
        lambda: Environment.from_environ(environ),
        lambda: Environment.from_environ({"ACME_TOKEN": ""}).secret("ACME_TOKEN"),
    ):
        with pytest.raises(ConfigError) as caught:
            attempt()
        errors.append(caught.value)

    for error in errors:
        for shown in (str(error), repr(error), *error.problems):
            assert TOKEN not in shown
            assert EXTERNAL_ID not in shown
        assert error.__cause__ is None


def test_the_heartbeat_sets_the_stale_window_and_is_bounded() -> None:
    assert parse_config(
        {"jobs": {"heartbeat_seconds": 2}}, {}, DATA_DIR
    ).jobs.stale_after == timedelta(seconds=12)
    assert only_problem({"jobs": {"heartbeat_seconds": 0}}).startswith("jobs.heartbeat_seconds: ")
