"""The /backup grammar: command text -> a typed Action, or a CommandError that says what was
wrong and shows how to type it.

Keywords, subcommands, weekdays, apps, units, ids and Jira keys are case-insensitive; site and
storage names are matched case-insensitively against the configuration and returned as
configured. Optional clauses (`to`, `tz`, `only`, `preview`, `all`) may come in any order, each
at most once. Nothing a person typed is echoed into a message unless it is a plain word
(letters, digits and `.-_:/+`), so a reply can never carry a mention, a link or markup.
"""

import difflib
import functools
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import NoReturn

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
    Recurrence,
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
from commands.slack_text import TextError, Word, words
from commands.usage import BY_NAME, HELP_TOPICS, overview, usage_of
from policy.identifiers import ID_MAX_LENGTH, ID_MIN_LENGTH, IdKind, id_example, id_kind
from policy.products import Product
from policy.sizes import SizeError, parse_size

_PLAIN_WORD = re.compile(r"[A-Za-z0-9._:/+-]{1,40}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TIME = re.compile(r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEKDAYS: dict[str, Weekday] = {
    **{day.token: day for day in Weekday},
    **{
        name: day
        for day, name in zip(
            Weekday,
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
            strict=True,
        )
    },
}
_SCOPE_KEYS: dict[ScopeKind, tuple[re.Pattern[str], str]] = {
    ScopeKind.PROJECT: (
        re.compile(r"[A-Z][A-Z0-9_]{1,9}"),
        "a Jira project key like ABC (a letter, then letters, digits or _; 2 to 10 in all)",
    ),
    ScopeKind.ISSUE: (
        re.compile(r"[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,9}"),
        "a Jira issue key like ABC-123",
    ),
    ScopeKind.SPACE: (
        re.compile(r"~?[A-Za-z0-9]{1,255}"),
        "a Confluence space key like DOCS (letters and digits; ~ first for a personal space)",
    ),
    ScopeKind.PAGE: (
        re.compile(r"[1-9][0-9]{0,19}"),
        "a Confluence page id like 123456 (digits only)",
    ),
}
_MAX_LISTED_NAMES = 15


class CommandError(ValueError):
    """What was wrong with a command, in a sentence, and the usage line(s) to type instead."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def __str__(self) -> str:
        return f"{self.message}\nUsage:\n{self.usage}"


@dataclass(frozen=True)
class Vocabulary:
    """The names a command may use, from the configuration: sites with their app, and storage."""

    sites: Mapping[str, Product] = field(default_factory=dict)
    storages: Sequence[str] = ()


def shown(text: str, *, first: bool = False) -> str:
    """`text` as a code span if it is a plain word; otherwise "that" (never the text itself)."""
    if _PLAIN_WORD.fullmatch(text):
        return f"`{text}`"
    return "That" if first else "that"


def _it(text: str) -> str:
    """`shown` at the start of a sentence."""
    return shown(text, first=True)


class _Cursor:
    """The words after the subcommand, consumed left to right; failures carry its usage."""

    def __init__(self, rest: Sequence[Word], subcommand: str) -> None:
        self._words = list(rest)
        self._index = 0
        self.subcommand = subcommand

    def fail(self, message: str) -> NoReturn:
        raise CommandError(message, usage_of(self.subcommand))

    def at_end(self) -> bool:
        return self._index >= len(self._words)

    def peek(self) -> str | None:
        if self.at_end() or self._words[self._index].markup:
            return None
        return self._words[self._index].text

    def take(self, expected: str) -> str:
        """The next word, which must be `expected` (a phrase like "a site name")."""
        if self.at_end():
            self.fail(f"{expected[0].upper()}{expected[1:]} is missing.")
        word = self._words[self._index]
        self._index += 1
        if word.markup is not None:
            self.fail(f"{word.markup.value.capitalize()} can't be used here; give {expected}.")
        return word.text

    def keyword(self, keyword: str, before: str) -> None:
        word = self.take(f"`{keyword}` {before}")
        if word.lower() != keyword:
            self.fail(f"Expected `{keyword}` {before}, not {shown(word)}.")

    def finish(self) -> None:
        if not self.at_end():
            extra = self._words[self._index]
            what = extra.markup.value.capitalize() if extra.markup else _it(extra.text)
            self.fail(f"{what} comes after the end of the command; remove it.")


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    guess = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    if not guess:
        return ""
    original = next(c for c in choices if c.lower() == guess[0])
    return f" Did you mean `{original}`?"


def _listed(names: Sequence[str]) -> str:
    ordered = sorted(names)
    more = len(ordered) - _MAX_LISTED_NAMES
    return ", ".join(ordered[:_MAX_LISTED_NAMES]) + (f" and {more} more" if more > 0 else "")


def _configured(cursor: _Cursor, word: str, names: Sequence[str], noun: str) -> str:
    by_lower = {name.lower(): name for name in names}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    if not names:
        cursor.fail(f"No {noun}s are configured yet; an operator adds them to the config file.")
    if not _PLAIN_WORD.fullmatch(word):
        cursor.fail(
            f"Names of {noun}s have only letters, digits and hyphens. "
            f"Configured {noun}s: {_listed(names)}."
        )
    cursor.fail(
        f"There is no {noun} `{word}`.{_did_you_mean(word, names)} "
        f"Configured {noun}s: {_listed(names)}."
    )


def _site(cursor: _Cursor, vocabulary: Vocabulary) -> str:
    return _configured(cursor, cursor.take("a site name"), list(vocabulary.sites), "site")


def _storage(cursor: _Cursor, vocabulary: Vocabulary) -> str:
    word = cursor.take("a storage location name")
    return _configured(cursor, word, list(vocabulary.storages), "storage location")


def _identifier(cursor: _Cursor, kinds: Sequence[IdKind]) -> str:
    nouns = " or ".join(f"a {kind.noun} id" for kind in kinds)
    word = cursor.take(nouns).lower()
    kind = id_kind(word)
    if kind in kinds:
        return word
    examples = " or ".join(id_example(k) for k in kinds)
    if kind is not None:
        cursor.fail(f"{_it(word)} is a {kind.noun} id; this command takes {nouns} ({examples}).")
    cursor.fail(
        f"{_it(word)} is not {nouns}: ids look like {examples} "
        f"(the prefix, then {ID_MIN_LENGTH} to {ID_MAX_LENGTH} letters or digits)."
    )


def _optional_clauses(cursor: _Cursor, allowed: Sequence[str]) -> Iterator[str]:
    """Yield each optional keyword present; the caller consumes the keyword's value."""
    seen: set[str] = set()
    options = ", ".join(f"`{keyword}`" for keyword in allowed)
    while not cursor.at_end():
        word = cursor.take(f"one of {options}")
        keyword = word.lower()
        if keyword not in allowed:
            cursor.fail(
                f"{_it(word)} can't come here.{_did_you_mean(word, allowed)} "
                f"What can follow here: {options}."
            )
        if keyword in seen:
            cursor.fail(f"`{keyword}` is given twice.")
        seen.add(keyword)
        yield keyword


def _time_of_day(cursor: _Cursor) -> time:
    word = cursor.take("a time of day like 02:30")
    match = _TIME.fullmatch(word)
    if not match:
        cursor.fail(f"{_it(word)} is not a time of day; use 24-hour HH:MM, like 02:30 or 18:00.")
    return time(int(match["hour"]), int(match["minute"]))


def _calendar_date(cursor: _Cursor) -> date:
    word = cursor.take("a date like 2026-12-24")
    try:
        if _DATE.fullmatch(word):
            return date.fromisoformat(word)
    except ValueError:
        cursor.fail(f"{_it(word)} is not a day of the calendar.")
    cursor.fail(f"{_it(word)} is not a date; use YYYY-MM-DD, like 2026-12-24.")


@functools.cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _time_zone(cursor: _Cursor) -> str:
    word = cursor.take("a time zone like Europe/Berlin")
    zones = _zones_by_lower_name()
    if word.lower() in zones:
        return zones[word.lower()]
    guess = difflib.get_close_matches(word.lower(), zones, n=1, cutoff=0.8)
    hint = f" Did you mean `{zones[guess[0]]}`?" if guess else ""
    cursor.fail(
        f"{_it(word)} is not a time zone.{hint} Use an IANA name like Europe/Berlin, "
        "America/New_York or UTC."
    )


def _weekday(cursor: _Cursor) -> Weekday:
    word = cursor.take("a day of the week (mon..sun)")
    day = _WEEKDAYS.get(word.lower())
    if day is None:
        hint = _did_you_mean(word, list(_WEEKDAYS))
        cursor.fail(f"{_it(word)} is not a day of the week.{hint} Use mon, tue, … sun.")
    return day


def _scope(cursor: _Cursor) -> Scope:
    word = cursor.take("what to restore, like project:ABC or page:123456")
    kind_text, _, key = word.partition(":")
    kinds = [kind.value for kind in ScopeKind]
    if kind_text.lower() not in kinds:
        cursor.fail(
            f"{_it(word)} is not a part of a backup.{_did_you_mean(kind_text, kinds)} "
            "Use project:KEY, space:KEY, issue:KEY-123 or page:ID."
        )
    kind = ScopeKind(kind_text.lower())
    pattern, described = _SCOPE_KEYS[kind]
    if kind in (ScopeKind.PROJECT, ScopeKind.ISSUE):
        key = key.upper()  # Jira keys are upper case; `abc-12` is what people type
    if not pattern.fullmatch(key):
        cursor.fail(f"`{kind.value}:` needs {described}.")
    return Scope(kind, key)


def parse_scope(text: str) -> Scope:
    """A restore scope given on its own (`project:OPS`), as the operator CLI takes it."""
    cursor = _Cursor([Word(text.strip())], "restore")
    scope = _scope(cursor)
    cursor.finish()
    return scope


def _size(cursor: _Cursor, what: str) -> int:
    text = cursor.take(f"the {what}")
    following = cursor.peek()
    if _NUMBER.fullmatch(text) and following is not None and following.isalpha():
        text = f"{text} {cursor.take('a unit')}"  # `3.5 TB` arrives as two words
    try:
        return parse_size(text)
    except SizeError as error:
        cursor.fail(f"The {what}: {error}.")


# One function per subcommand, each reading the words after the subcommand's name.


def _help(cursor: _Cursor, _: Vocabulary) -> Action:
    if cursor.at_end():
        return Help()
    word = cursor.take("a topic")
    if word.lower() not in HELP_TOPICS:
        cursor.fail(
            f"{_it(word)} is not a help topic.{_did_you_mean(word, HELP_TOPICS)} "
            f"Topics: {', '.join(HELP_TOPICS)}."
        )
    return Help(word.lower())


def _sites(cursor: _Cursor, _: Vocabulary) -> Action:
    return ListSites()


def _now(cursor: _Cursor, vocabulary: Vocabulary) -> Action:
    site = _site(cursor, vocabulary)
    storage = None
    for _keyword in _optional_clauses(cursor, ("to",)):
        storage = _storage(cursor, vocabulary)
    return BackupNow(site, storage)


def _list(cursor: _Cursor, vocabulary: Vocabulary) -> Action:
    site: str | None = None
    include_all = False
    while not cursor.at_end():
        word = cursor.take("a site name or `all`")
        if word.lower() == "all" and not include_all:
            include_all = True
        elif site is None and word.lower() != "all":
            site = _configured(cursor, word, list(vocabulary.sites), "site")
        else:
            cursor.fail(
                f"{_it(word)} can't come here: give at most one site, then `all` if wanted."
            )
    return ListBackups(site, include_all)


def _status(cursor: _Cursor, _: Vocabulary) -> Action:
    return ShowStatus(_identifier(cursor, (IdKind.BACKUP,)))


def _cancel(cursor: _Cursor, _: Vocabulary) -> Action:
    return Cancel(_identifier(cursor, (IdKind.BACKUP, IdKind.RESTORE_REQUEST)))


def _verify(cursor: _Cursor, _: Vocabulary) -> Action:
    return Verify(_identifier(cursor, (IdKind.BACKUP,)))


def _schedule(cursor: _Cursor, vocabulary: Vocabulary) -> Action:
    site = _site(cursor, vocabulary)
    word = cursor.take("how often: `once`, `daily` or `weekly`")
    frequency = word.lower()
    recurrence: Recurrence
    if frequency == "once":
        cursor.keyword("on", "before the date")
        recurrence = Once(_calendar_date(cursor))
    elif frequency == "daily":
        recurrence = Daily()
    elif frequency == "weekly":
        cursor.keyword("on", "before the day of the week")
        recurrence = Weekly(_weekday(cursor))
    else:
        hint = _did_you_mean(word, ("once", "daily", "weekly"))
        cursor.fail(f"{_it(word)} is not how often.{hint} Use `once`, `daily` or `weekly`.")
    cursor.keyword("at", "before the time")
    at = _time_of_day(cursor)
    timezone = storage = None
    for keyword in _optional_clauses(cursor, ("tz", "to")):
        if keyword == "tz":
            timezone = _time_zone(cursor)
        else:
            storage = _storage(cursor, vocabulary)
    return CreateSchedule(site, recurrence, at, timezone, storage)


def _schedules(cursor: _Cursor, vocabulary: Vocabulary) -> Action:
    return ListSchedules(None if cursor.at_end() else _site(cursor, vocabulary))


def _unschedule(cursor: _Cursor, _: Vocabulary) -> Action:
    return Unschedule(_identifier(cursor, (IdKind.SCHEDULE,)))


def _restore(cursor: _Cursor, vocabulary: Vocabulary) -> Action:
    backup_id = _identifier(cursor, (IdKind.BACKUP,))
    target: str | None = None
    scope: Scope | None = None
    preview = False
    for keyword in _optional_clauses(cursor, ("to", "only", "preview")):
        if keyword == "to":
            target = _site(cursor, vocabulary)
        elif keyword == "only":
            scope = _scope(cursor)
        else:
            preview = True
    if target is not None and scope is not None:
        product = vocabulary.sites[target]
        if scope.kind.product is not product:
            cursor.fail(
                f"`{scope.kind.value}:` is part of a {scope.kind.product.label} backup, "
                f"but `{target}` is a {product.label} site."
            )
    return Restore(backup_id, target, scope, preview)


def _approvals(cursor: _Cursor, _: Vocabulary) -> Action:
    return ListApprovals()


def _estimate(cursor: _Cursor, vocabulary: Vocabulary) -> Action:
    word = cursor.take("a site name, or `jira` or `confluence` and a size")
    if word.lower() in {product.value for product in Product}:
        product = Product(word.lower())
        data = _size(cursor, "data size")
        attachments = 0 if cursor.at_end() else _size(cursor, "attachment size")
        return EstimateSize(product, data, attachments)
    return EstimateSite(_configured(cursor, word, list(vocabulary.sites), "site"))


def _audit(cursor: _Cursor, _: Vocabulary) -> Action:
    if cursor.at_end():
        return ShowAudit()
    word = cursor.take("how many entries")
    if not word.isascii() or not word.isdigit() or not 1 <= int(word) <= MAX_AUDIT_ROWS:
        cursor.fail(f"Give how many entries to show as a number from 1 to {MAX_AUDIT_ROWS}.")
    return ShowAudit(int(word))


_PARSERS: dict[str, Callable[[_Cursor, Vocabulary], Action]] = {
    "help": _help,
    "sites": _sites,
    "now": _now,
    "list": _list,
    "status": _status,
    "cancel": _cancel,
    "verify": _verify,
    "schedule": _schedule,
    "schedules": _schedules,
    "unschedule": _unschedule,
    "restore": _restore,
    "approvals": _approvals,
    "estimate": _estimate,
    "audit": _audit,
}
assert set(_PARSERS) == set(BY_NAME), "every documented subcommand has a parser, and only those"


def parse(text: str, vocabulary: Vocabulary) -> Action:
    """The action `text` asks for; CommandError if it asks for nothing the bot understands."""
    try:
        command = words(text)
    except TextError as error:
        raise CommandError(str(error), "/backup help") from None
    if not command:
        return Help()
    first = command[0]
    name = first.text.lower()
    parser = None if first.markup else _PARSERS.get(name)
    if parser is None:
        what = first.markup.value.capitalize() if first.markup else _it(first.text)
        hint = "" if first.markup else _did_you_mean(first.text, list(_PARSERS))
        raise CommandError(f"{what} is not a /backup command.{hint}", overview())
    cursor = _Cursor(command[1:], name)
    action = parser(cursor, vocabulary)
    cursor.finish()
    return action
