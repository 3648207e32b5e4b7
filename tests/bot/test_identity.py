"""Slack user -> email -> roles, cached for at most 60 s."""

from bot.app import web_client
from bot.identity import IdentityResolver, config_roles
from policy.products import Product
from settings.loading import parse_config


def roles_source():
    config = parse_config(
        {
            "storage": {"managed": {"kind": "local", "path": "/tmp/unused"}},
            "roles": {
                "source": "config",
                "org_admins": ["alice@example.com"],
                "app_admins": {"jira": ["alice@example.com"]},
            },
        },
        {},
    )
    return config_roles(config.roles)


def test_roles_are_resolved_by_email_and_cached_for_sixty_seconds(fake_slack):
    now = [0.0]
    resolver = IdentityResolver(
        web_client("xoxb-x", f"{fake_slack.url}/api/"), roles_source(), clock=lambda: now[0]
    )
    first = resolver.actor("U_ALICE")
    assert first.email == "alice@example.com"
    assert first.roles.org_admin and first.roles.is_app_admin(Product.JIRA)
    now[0] = 59.0
    resolver.actor("U_ALICE")
    assert len(fake_slack.of("users.info")) == 1
    now[0] = 60.5
    resolver.actor("U_ALICE")
    assert len(fake_slack.of("users.info")) == 2


def test_a_second_slack_account_of_the_same_person_is_the_same_person(fake_slack):
    resolver = IdentityResolver(web_client("xoxb-x", f"{fake_slack.url}/api/"), roles_source())
    assert resolver.actor("U_ALICE2").email == resolver.actor("U_ALICE").email
