"""The /backup grammar: what each command means, and what a mistake is told."""

from datetime import date, time

import pytest

from commands.actions import (
    BackupNow,
    Cancel,
    CreateSchedule,
    Daily,
    EstimateSite,
    EstimateSize,
    Help,
    ListApprovals,
    ListBackups,
    ListSchedules,
    ListSites,
    Once,
    Restore,
    Scope,
    ScopeKind,
    ShowAudit,
    ShowStatus,
    Unschedule,
    Verify,
    Weekday,
    Weekly,
)
from commands.grammar import CommandError, Vocabulary, parse, parse_scope
from commands.usage import SUBCOMMANDS, usage_of
from policy.products import Product

VOCABULARY = Vocabulary(
    sites={"acme-jira": Product.JIRA, "acme-wiki": Product.CONFLUENCE},
    storages=("managed", "acme-s3"),
)


def error_of(text: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        parse(text, VOCABULARY)
    return caught.value


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("help restore", Help("restore")),
        ("help Retention", Help("retention")),
        ("sites", ListSites()),
        ("now acme-jira", BackupNow("acme-jira")),
        ("now acme-jira to acme-s3", BackupNow("acme-jira", "acme-s3")),
        ("list", ListBackups()),
        ("list all", ListBackups(include_all=True)),
        ("list acme-wiki", ListBackups("acme-wiki")),
        ("list acme-wiki all", ListBackups("acme-wiki", include_all=True)),
        ("list all acme-wiki", ListBackups("acme-wiki", include_all=True)),
        ("status bk-a1b2c3", ShowStatus("bk-a1b2c3")),
        ("cancel bk-a1b2c3d4e5", Cancel("bk-a1b2c3d4e5")),
        ("cancel rr-zz9911", Cancel("rr-zz9911")),
        ("verify bk-a1b2c3d4", Verify("bk-a1b2c3d4")),
        (
            "schedule acme-jira once on 2026-12-24 at 02:30",
            CreateSchedule("acme-jira", Once(date(2026, 12, 24)), time(2, 30)),
        ),
        (
            "schedule acme-jira daily at 2:30 tz Europe/Berlin to acme-s3",
            CreateSchedule("acme-jira", Daily(), time(2, 30), "Europe/Berlin", "acme-s3"),
        ),
        (
            "schedule acme-wiki weekly on sun at 23:59 to managed tz UTC",
            CreateSchedule("acme-wiki", Weekly(Weekday.SUN), time(23, 59), "UTC", "managed"),
        ),
        (
            "schedule acme-wiki weekly on Wednesday at 00:00",
            CreateSchedule("acme-wiki", Weekly(Weekday.WED), time(0, 0)),
        ),
        ("schedules", ListSchedules()),
        ("schedules acme-jira", ListSchedules("acme-jira")),
        ("unschedule sc-abc123", Unschedule("sc-abc123")),
        ("restore bk-abc123", Restore("bk-abc123")),
        (
            "restore bk-abc123 to acme-jira only project:OPS preview",
            Restore("bk-abc123", "acme-jira", Scope(ScopeKind.PROJECT, "OPS"), preview=True),
        ),
        (
            "restore bk-abc123 preview only issue:ops-12",
            Restore("bk-abc123", None, Scope(ScopeKind.ISSUE, "OPS-12"), preview=True),
        ),
        (
            "restore bk-abc123 only space:~5b1f2a to acme-wiki",
            Restore("bk-abc123", "acme-wiki", Scope(ScopeKind.SPACE, "~5b1f2a")),
        ),
        (
            "restore bk-abc123 only page:98765",
            Restore("bk-abc123", None, Scope(ScopeKind.PAGE, "98765")),
        ),
        ("approvals", ListApprovals()),
        ("estimate acme-wiki", EstimateSite("acme-wiki")),
        ("estimate jira 60GB", EstimateSize(Product.JIRA, 60 * 10**9)),
        (
            "estimate jira 60 GB 3.5 TB",
            EstimateSize(Product.JIRA, 60 * 10**9, 3_500 * 10**9),
        ),
        (
            "estimate Confluence 1.2e3 GB 512MiB",
            EstimateSize(Product.CONFLUENCE, 1_200 * 10**9, 512 * 2**20),
        ),
        ("audit", ShowAudit()),
        ("audit 5", ShowAudit(5)),
    ],
)
def test_each_command_means_one_action(text, action):
    assert parse(text, VOCABULARY) == action


def test_keywords_names_and_ids_are_case_insensitive():
    assert parse("NOW ACME-JIRA TO Acme-S3", VOCABULARY) == BackupNow("acme-jira", "acme-s3")
    assert parse("Status BK-A1B2C3", VOCABULARY) == ShowStatus("bk-a1b2c3")
    assert parse("schedule acme-jira WEEKLY On MON AT 01:00 TZ europe/berlin", VOCABULARY) == (
        CreateSchedule("acme-jira", Weekly(Weekday.MON), time(1, 0), "Europe/Berlin")
    )


def test_tabs_and_line_breaks_are_white_space():
    assert parse("now\tacme-jira\nto  managed", VOCABULARY) == BackupNow("acme-jira", "managed")


def test_slack_escapes_are_decoded_once():
    # `&amp;lt;` is what Slack sends for a typed `&lt;`: it must not become `<`.
    error = error_of("now acme-jira to &amp;lt;x")
    assert "only letters, digits and hyphens" in error.message


def test_every_error_shows_the_usage_of_its_subcommand():
    for sub in SUBCOMMANDS:
        if sub.name in {"help", "sites", "approvals", "audit", "list", "schedules"}:
            continue  # these accept no argument, so an argument is the mistake below
        error = error_of(f"{sub.name} <@U123|mallory>")
        assert error.usage == usage_of(sub.name)
        assert str(error).endswith(usage_of(sub.name))


@pytest.mark.parametrize("name", ["sites", "approvals"])
def test_a_word_after_a_complete_command_is_refused(name):
    error = error_of(f"{name} extra")
    assert error.message == "`extra` comes after the end of the command; remove it."
    assert error.usage == usage_of(name)


def test_an_unknown_subcommand_suggests_the_nearest_and_lists_all():
    error = error_of("restor bk-abc123")
    assert error.message == "`restor` is not a /backup command. Did you mean `restore`?"
    assert all(f"/backup {sub.name}" in error.usage for sub in SUBCOMMANDS)


def test_a_misspelt_site_gets_a_suggestion_and_the_configured_names():
    error = error_of("now acme-jria")
    assert error.message == (
        "There is no site `acme-jria`. Did you mean `acme-jira`? "
        "Configured sites: acme-jira, acme-wiki."
    )


def test_a_misspelt_storage_location_gets_a_suggestion():
    assert "Did you mean `acme-s3`?" in error_of("now acme-jira to acme-s4").message


def test_no_configured_sites_says_so():
    with pytest.raises(CommandError, match="No sites are configured yet"):
        parse("now acme-jira", Vocabulary())


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("now <@U123ABC|mallory>", "A mention of a person"),
        ("now <!channel>", "A mention such as @channel"),
        ("now <!subteam^S123|admins>", "A mention such as @channel"),
        ("list <#C123|ops>", "A channel link"),
        ("now acme-jira to <https://evil.example|managed>", "A link"),
        ("<!here>", "A mention such as @channel"),
    ],
)
def test_mentions_and_links_are_refused_where_a_name_is_expected(text, kind):
    error = error_of(text)
    assert error.message.startswith(kind)
    assert "<" not in error.message
    assert "mallory" not in error.message
    assert "evil" not in error.message


def test_a_mention_inside_a_display_name_with_spaces_stays_one_word():
    error = error_of("now <@U123|Mallory The Great> to managed")
    assert error.message == "A mention of a person can't be used here; give a site name."


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\u202e", "\u200b", "\x7f"])
def test_control_and_invisible_characters_are_refused(char):
    error = error_of(f"now acme-jira{char}")
    assert f"U+{ord(char):04X}" in error.message
    assert char not in str(error)


def test_input_over_1000_characters_is_refused_without_echoing_it():
    error = error_of("now " + "a" * 997)
    assert error.message == (
        "That command is 1,001 characters long; a command can be at most 1,000 characters."
    )
    assert "aaaa" not in str(error)


def test_input_of_exactly_1000_characters_is_parsed():
    text = "help" + " " * 996
    assert len(text) == 1000
    assert parse(text, VOCABULARY) == Help()


def test_an_unusual_word_is_never_echoed():
    error = error_of("status bk-ü<script>")
    assert error.message.startswith("That is not a backup id")
    assert "script" not in error.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("now", "A site name is missing."),
        ("status", "A backup id is missing."),
        ("status rr-abc123", "`rr-abc123` is a restore request id; this command takes a backup id"),
        ("status bk-abc", "`bk-abc` is not a backup id: ids look like bk-a1b2c3d4"),
        ("status bk-abcdefghijk", "is not a backup id"),
        ("cancel sc-abc123", "`sc-abc123` is a schedule id; this command takes a backup id or a"),
        ("unschedule bk-abc123", "`bk-abc123` is a backup id; this command takes a schedule id"),
        ("now acme-jira to", "A storage location name is missing."),
        (
            "now acme-jira into managed",
            "`into` can't come here. Did you mean `to`? What can follow here: `to`.",
        ),
        ("now acme-jira to managed to managed", "`to` is given twice."),
        ("list acme-jira acme-wiki", "give at most one site"),
        ("list all all", "give at most one site"),
        ("schedule acme-jira", "How often: `once`, `daily` or `weekly` is missing."),
        ("schedule acme-jira hourly at 01:00", "`hourly` is not how often."),
        ("schedule acme-jira dialy at 01:00", "Did you mean `daily`?"),
        ("schedule acme-jira daily 01:00", "Expected `at` before the time, not `01:00`."),
        ("schedule acme-jira daily at 24:00", "`24:00` is not a time of day; use 24-hour HH:MM"),
        ("schedule acme-jira daily at 1pm", "`1pm` is not a time of day"),
        ("schedule acme-jira once at 01:00", "Expected `on` before the date, not `at`."),
        ("schedule acme-jira once on 2026-02-29 at 01:00", "is not a day of the calendar."),
        ("schedule acme-jira once on 24/12/2026 at 01:00", "is not a date; use YYYY-MM-DD"),
        ("schedule acme-jira weekly on funday at 01:00", "`funday` is not a day of the week."),
        ("schedule acme-jira daily at 01:00 tz Mars/Olympus", "`Mars/Olympus` is not a time zone"),
        ("schedule acme-jira daily at 01:00 tz Europe/Berln", "Did you mean `Europe/Berlin`?"),
        ("restore bk-abc123 only project:1AB", "`project:` needs a Jira project key like ABC"),
        ("restore bk-abc123 only issue:ABC", "`issue:` needs a Jira issue key like ABC-123"),
        ("restore bk-abc123 only page:12ab", "`page:` needs a Confluence page id"),
        ("restore bk-abc123 only space:a-b", "`space:` needs a Confluence space key"),
        ("restore bk-abc123 only folder:1", "`folder:1` is not a part of a backup."),
        ("restore bk-abc123 only projet:ABC", "Did you mean `project`?"),
        ("restore bk-abc123 prevew", "Did you mean `preview`?"),
        ("restore bk-abc123 preview preview", "`preview` is given twice."),
        (
            "restore bk-abc123 to acme-jira only page:123",
            "`page:` is part of a Confluence backup, but `acme-jira` is a Jira site.",
        ),
        (
            "restore bk-abc123 only project:ABC to acme-wiki",
            "`project:` is part of a Jira backup, but `acme-wiki` is a Confluence site.",
        ),
        ("estimate", "A site name, or `jira` or `confluence` and a size is missing."),
        ("estimate jira", "The data size is missing."),
        ("estimate jira 60", "The data size: the size has no unit"),
        ("estimate jira -5GB", "The data size: a size cannot be negative."),
        ("estimate jira nan GB", "The data size: a size must be a finite number"),
        ("estimate jira 60GB 3.5 XB", "The attachment size: unknown unit"),
        ("estimate jira 60GB 1TB 2TB", "`2TB` comes after the end of the command"),
        ("estimate bamboo 60GB", "There is no site `bamboo`."),
        ("audit 0", "a number from 1 to 100"),
        ("audit 101", "a number from 1 to 100"),
        ("audit ten", "a number from 1 to 100"),
        ("audit ١٢", "a number from 1 to 100"),
        ("help restor", "`restor` is not a help topic. Did you mean `restore`?"),
    ],
)
def test_mistakes_are_told_what_was_wrong(text, message):
    assert message in error_of(text).message


def test_a_past_or_far_date_is_the_handlers_business_not_the_grammars():
    action = parse("schedule acme-jira once on 1999-01-01 at 01:00", VOCABULARY)
    assert action == CreateSchedule("acme-jira", Once(date(1999, 1, 1)), time(1, 0))


def test_a_scope_given_alone_parses_as_in_a_restore_command():
    assert parse_scope("issue:ops-12") == Scope(ScopeKind.ISSUE, "OPS-12")
    with pytest.raises(CommandError, match="not a part of a backup"):
        parse_scope("folder:1")
