"""Properties of the grammar over generated input: it never fails in an unplanned way, never
echoes what it cannot show safely, and loses nothing of a valid command."""

import zoneinfo
from datetime import time

from hypothesis import example, given, settings
from hypothesis import strategies as st

from commands.actions import (
    MAX_AUDIT_ROWS,
    Action,
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
from commands.grammar import CommandError, Vocabulary, parse
from commands.usage import HELP_TOPICS
from policy.identifiers import ID_ALPHABET, IdKind
from policy.products import Product
from policy.sizes import MAX_BYTES

SITES = {
    "acme-jira": Product.JIRA,
    "acme-wiki": Product.CONFLUENCE,
    "j2": Product.JIRA,
    "docs": Product.CONFLUENCE,
}
STORAGES = ("managed", "acme-s3", "nas-2")
VOCABULARY = Vocabulary(SITES, STORAGES)

SLACK_FRAGMENTS = [
    "now", "list", "all", "to", "only", "preview", "tz", "schedule", "daily", "weekly", "once",
    "on", "at", "restore", "estimate", "jira", "acme-jira", "managed", "bk-abc123", "rr-abc123",
    "sc-abc123", "project:ABC", "page:1", "02:30", "2026-12-24", "60GB", "3.5", "TB", "mon",
    "Europe/Berlin", "<@U123|ann>", "<@U9>", "<!channel>", "<!here|here>", "<#C1|ops>",
    "<https://x.example|x>", "<mailto:a@b.c|a@b.c>", "&amp;", "&lt;", "&gt;", "&amp;lt;", "<",
    ">", "\u202e", "\x00", "\u200b", "é", "😀", " ", "\t", "\n",
]  # fmt: skip

slack_like_text = st.lists(st.sampled_from(SLACK_FRAGMENTS), max_size=25).map(" ".join)
any_text = st.one_of(
    st.text(max_size=200),
    st.text(min_size=990, max_size=1100),
    slack_like_text,
    st.lists(st.sampled_from(SLACK_FRAGMENTS), max_size=6).map("".join),
)


def assert_safe(message: str) -> None:
    """A message a bot could post: no markup, no entity, nothing invisible, nothing foreign."""
    assert message
    assert not set(message) & set("<>&")
    assert all(32 <= ord(char) < 127 or char == "…" for char in message), message


@settings(max_examples=1500)
@given(any_text)
@example("now <!channel>")
@example("&lt;!channel&gt;")
@example("\x00" * 2000)
def test_any_text_is_an_action_or_a_command_error(text):
    try:
        action = parse(text, VOCABULARY)
    except CommandError as error:
        assert_safe(error.message)
        assert error.usage.startswith("/backup ")
    else:
        assert isinstance(action, Action)


def _id(kind: IdKind) -> st.SearchStrategy[str]:
    body = st.text(alphabet=ID_ALPHABET, min_size=6, max_size=10)
    return body.map(lambda b: f"{kind.value}-{b}")


sites = st.sampled_from(sorted(SITES))
storages = st.none() | st.sampled_from(STORAGES)
zones = st.none() | st.sampled_from(sorted(zoneinfo.available_timezones()))
times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
recurrences = st.one_of(
    st.builds(Once, st.dates()),
    st.just(Daily()),
    st.builds(Weekly, st.sampled_from(Weekday)),
)
scope_keys = {
    ScopeKind.PROJECT: st.from_regex(r"[A-Z][A-Z0-9_]{1,9}", fullmatch=True),
    ScopeKind.ISSUE: st.from_regex(r"[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,9}", fullmatch=True),
    ScopeKind.SPACE: st.from_regex(r"~?[A-Za-z0-9]{1,40}", fullmatch=True),
    ScopeKind.PAGE: st.from_regex(r"[1-9][0-9]{0,19}", fullmatch=True),
}
scopes = st.sampled_from(ScopeKind).flatmap(
    lambda kind: scope_keys[kind].map(lambda key: Scope(kind, key))
)
sizes = st.integers(0, MAX_BYTES)


@st.composite
def restores(draw: st.DrawFn) -> Restore:
    scope = draw(st.none() | scopes)
    fitting = sorted(s for s, p in SITES.items() if scope is None or scope.kind.product is p)
    target = draw(st.none() | st.sampled_from(fitting))
    return Restore(draw(_id(IdKind.BACKUP)), target, scope, draw(st.booleans()))


actions = st.one_of(
    st.builds(Help, st.none() | st.sampled_from(HELP_TOPICS)),
    st.just(ListSites()),
    st.builds(BackupNow, sites, storages),
    st.builds(ListBackups, st.none() | sites, st.booleans()),
    st.builds(ShowStatus, _id(IdKind.BACKUP)),
    st.builds(Cancel, _id(IdKind.BACKUP) | _id(IdKind.RESTORE_REQUEST)),
    st.builds(Verify, _id(IdKind.BACKUP)),
    st.builds(CreateSchedule, sites, recurrences, times, zones, storages),
    st.builds(ListSchedules, st.none() | sites),
    st.builds(Unschedule, _id(IdKind.SCHEDULE)),
    restores(),
    st.just(ListApprovals()),
    st.builds(EstimateSite, sites),
    st.builds(EstimateSize, st.sampled_from(Product), sizes, sizes),
    st.builds(ShowAudit, st.integers(1, MAX_AUDIT_ROWS)),
)
separators = st.lists(st.sampled_from([" ", "  ", "\t", "\n", "\u00a0"]), min_size=1, max_size=3)


@settings(max_examples=1500)
@given(actions, st.data())
def test_every_valid_command_round_trips_to_the_same_action(action, data):
    words = action.to_text().split(" ")
    spaced = "".join(word + "".join(data.draw(separators)) for word in words)
    assert parse(spaced, VOCABULARY) == action
