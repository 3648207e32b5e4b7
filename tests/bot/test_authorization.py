"""Who may do what (docs/rules.md), for every role combination and both role sources."""

import urllib.parse

import pytest

OK, REFUSED = "ok", "refused"

# Roles: Alice and Bob hold both; Carol is a Jira admin only; Dave an organization admin only;
# Erin holds no role in the config, and is a Confluence admin in the sandbox's Atlassian org.
MATRIX = {
    # command: {user: outcome}
    "list": {"U_ALICE": OK, "U_CAROL": OK, "U_DAVE": OK},
    "estimate acme-jira": {"U_CAROL": OK, "U_DAVE": OK},
    "estimate acme-wiki": {"U_CAROL": REFUSED, "U_DAVE": OK},
    "audit": {"U_DAVE": OK, "U_CAROL": REFUSED},
    "now acme-wiki": {"U_CAROL": REFUSED, "U_DAVE": REFUSED},
    "now acme-jira": {"U_DAVE": REFUSED, "U_CAROL": REFUSED, "U_ALICE": OK},
}
ERIN = {"config": REFUSED, "atlassian": OK}  # `list` and `estimate acme-wiki` as Erin


@pytest.mark.parametrize("role_source", ["config", "atlassian"])
def test_each_role_combination_gets_exactly_what_the_table_allows(bot, role_source):
    for command, expected in MATRIX.items():
        for user, outcome in expected.items():
            text = bot.command(user, command)["text"]
            refused = ":no_entry:" in text
            assert refused == (outcome == REFUSED), (role_source, user, command, text)
    for command in ("list", "estimate acme-wiki"):
        refused = ":no_entry:" in bot.command("U_ERIN", command)["text"]
        assert refused == (ERIN[role_source] == REFUSED), (role_source, command)


def test_a_refusal_names_the_missing_role(bot):
    text = bot.command("U_CAROL", "now acme-jira")["text"]
    assert "you are a Jira admin but not an organization admin" in text
    text = bot.command("U_DAVE", "now acme-jira")["text"]
    assert "a Jira admin" in text


def test_someone_without_an_email_is_told_which_scope_to_grant(bot):
    bot.slack.emails.pop("U_ERIN")
    assert "users:read.email" in bot.command("U_ERIN", "list")["text"]


def test_refusals_are_in_the_audit_log(bot):
    bot.command("U_CAROL", "now acme-jira")
    audit = bot.command("U_ALICE", "audit 5")
    assert "carol@example.com: now acme-jira → refused" in str(audit["blocks"])


@pytest.mark.parametrize("allowed_team_ids", [["T0OTHER"]])
def test_a_workspace_not_allowed_is_refused(bot, allowed_team_ids):
    form = {"team_id": "T0TEAM", "user_id": "U_ALICE", "command": "/backup", "text": "list",
            "response_url": f"{bot.slack.url}/respond/x"}  # fmt: skip
    answer = bot.post(urllib.parse.urlencode(form).encode())
    assert answer.status_code == 403
    assert bot.slack.of("respond/x") == []
