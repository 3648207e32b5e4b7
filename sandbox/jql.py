"""The part of JQL the sandbox understands, and the search it drives.

Supported: clauses joined by `AND` on `project` (`=` or `IN`, by key, id or name), `key`/`issuekey`
/`id` (`=` or `IN`) and `created`/`updated` (`>=`, `>`, `<=`, `<` against "yyyy-MM-dd HH:mm",
"yyyy/MM/dd HH:mm" or a date alone, read in UTC, the service account's time zone), then an optional
`ORDER BY` of `key`, `id`, `created` or `updated`, each `ASC` or `DESC`. Keywords and field names
are case-insensitive; values may be quoted. A query without a clause is refused as Jira's
`/search/jql` refuses unbounded queries; anything else outside this subset is refused with a 400
that says what is not supported, never silently misread.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox.data import SiteData

UNBOUNDED_MESSAGE = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
MAX_ORDER_FIELDS = 7

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>>=|<=|!=|!~|=|>|<|~)
      | (?P<punct>[(),])
      | (?P<word>[^\s"'(),=!<>~]+)
    )""",
    re.VERBOSE,
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_DATE_FIELDS = {
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
}
_KEY_FIELDS = {"key", "issuekey", "id", "issue"}
_ORDER_FIELDS = {"key": "key", "issuekey": "key", "id": "id"} | _DATE_FIELDS
_COMPARISONS = (">=", ">", "<=", "<")


class JqlError(ValueError):
    """The query is not valid JQL, names something that does not exist, or is not supported."""


class UnboundedQuery(JqlError):
    def __init__(self) -> None:
        super().__init__(UNBOUNDED_MESSAGE)


@dataclass(frozen=True)
class DateBound:
    field: str  # "created" or "updated"
    operator: str  # one of _COMPARISONS
    ms: int

    def admits(self, value: int) -> bool:
        if self.operator == ">=":
            return value >= self.ms
        if self.operator == ">":
            return value > self.ms
        if self.operator == "<=":
            return value <= self.ms
        return value < self.ms


@dataclass(frozen=True)
class JqlQuery:
    projects: frozenset[int] | None  # project indexes the issues must be in; None: any
    issues: frozenset[int] | None  # issue indexes named by key or id; None: any
    bounds: tuple[DateBound, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)

    def normalized(self) -> str:
        """A canonical text: equal for queries that select the same issues in the same order."""
        projects = "*" if self.projects is None else ",".join(map(str, sorted(self.projects)))
        issues = "*" if self.issues is None else ",".join(map(str, sorted(self.issues)))
        bounds = ";".join(f"{b.field}{b.operator}{b.ms}" for b in self.bounds)
        order = ",".join(f"{f}:{'d' if d else 'a'}" for f, d in self.order)
        return f"p={projects}|i={issues}|b={bounds}|o={order}"


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[position]}' is a reserved JQL "
                f"character (character {position + 1})."
            )
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, data: SiteData) -> None:
        self._tokens = _tokens(text)
        self._at = 0
        self._data = data

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _next(self, expected: str) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise JqlError(f"Error in the JQL Query: Expecting {expected} but reached the end.")
        self._at += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token and token[0] == "word" and token[1].lower() == word:
            self._at += 1
            return True
        return False

    def parse(self) -> JqlQuery:
        projects: frozenset[int] | None = None
        issues: frozenset[int] | None = None
        bounds: list[DateBound] = []
        clauses = 0
        while self._peek() is not None and not self._is_order_by():
            if clauses:
                self._conjunction()
            field, operator, values = self._clause()
            clauses += 1
            if field == "project":
                chosen = frozenset(self._project(value) for value in values)
                projects = chosen if projects is None else projects & chosen
            elif field in _KEY_FIELDS:
                named = frozenset(self._issue(field, value) for value in values)
                issues = named if issues is None else issues & named
            else:
                bounds.append(DateBound(field, operator, self._date(field, values[0])))
        order = self._order_by()
        if self._peek() is not None:
            raise JqlError(f"Error in the JQL Query: Unexpected '{self._next('')[1]}'.")
        if not clauses:
            raise UnboundedQuery()
        return JqlQuery(projects, issues, tuple(bounds), order)

    def _is_order_by(self) -> bool:
        token = self._peek()
        return bool(token and token[0] == "word" and token[1].lower() == "order")

    def _conjunction(self) -> None:
        token = self._next("AND")
        if token[0] == "word" and token[1].lower() == "and":
            return
        if token[0] == "word" and token[1].lower() in ("or", "not"):
            raise JqlError(
                f"The sandbox site supports clauses joined by AND only, not '{token[1].upper()}'."
            )
        raise JqlError(f"Error in the JQL Query: Expecting 'AND' but got '{token[1]}'.")

    def _clause(self) -> tuple[str, str, list[str]]:
        kind, name = self._next("a field name")
        if kind != "word":
            raise JqlError(f"Error in the JQL Query: Expecting a field name but got '{name}'.")
        field = name.lower()
        if field == "not":
            raise JqlError("The sandbox site does not support NOT.")
        if field in _DATE_FIELDS:
            field = _DATE_FIELDS[field]
        elif field != "project" and field not in _KEY_FIELDS:
            raise JqlError(
                f"The sandbox site does not support searching by '{name}'; it supports project, "
                "key, id, created and updated."
            )
        kind, operator = self._next("an operator")
        if kind == "word" and operator.lower() == "in":
            operator = "in"
        elif kind != "op":
            raise JqlError(f"Error in the JQL Query: Expecting operator but got '{operator}'.")
        allowed = _COMPARISONS if field in ("created", "updated") else ("=", "in")
        if operator not in allowed:
            raise JqlError(
                f"The operator '{operator}' is not supported by the sandbox site for the field "
                f"'{name}'; use {', '.join(allowed)}."
            )
        if operator != "in":
            return field, operator, [self._value()]
        if self._next("'('") != ("punct", "("):
            raise JqlError("Error in the JQL Query: Expecting '(' after IN.")
        values = [self._value()]
        while self._peek() == ("punct", ","):
            self._at += 1
            values.append(self._value())
        if self._next("')'") != ("punct", ")"):
            raise JqlError("Error in the JQL Query: Expecting ')' to close the list.")
        return field, operator, values

    def _value(self) -> str:
        kind, value = self._next("a value")
        if kind not in ("word", "string"):
            raise JqlError(f"Error in the JQL Query: Expecting a value but got '{value}'.")
        if kind == "word" and self._peek() == ("punct", "("):
            raise JqlError(f"The sandbox site does not support JQL functions ('{value}()').")
        return value

    def _project(self, value: str) -> int:
        data = self._data
        project = data.project_by_key(value) or data.project_by_id(value)
        if project is None:
            project = next((p for p in data.projects if p.name.lower() == value.lower()), None)
        if project is None:
            raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
        return project.index

    def _issue(self, field: str, value: str) -> int:
        index = self._data.issue_index(value)
        if index is None:
            raise JqlError(f"An issue with key '{value}' does not exist for field '{field}'.")
        return index

    def _date(self, field: str, value: str) -> int:
        for pattern in _DATE_FORMATS:
            try:
                moment = datetime.strptime(value.strip(), pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
            return int(moment.timestamp() * 1000)
        raise JqlError(
            f"Date value '{value}' for field '{field}' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'."
        )

    def _order_by(self) -> tuple[tuple[str, bool], ...]:
        if not self._keyword("order"):
            return ()
        if not self._keyword("by"):
            raise JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
        order = [self._order_field()]
        while self._peek() == ("punct", ","):
            self._at += 1
            order.append(self._order_field())
        if len(order) > MAX_ORDER_FIELDS:
            raise JqlError(f"The ORDER BY clause can contain at most {MAX_ORDER_FIELDS} fields.")
        return tuple(order)

    def _order_field(self) -> tuple[str, bool]:
        kind, name = self._next("a field to order by")
        field = _ORDER_FIELDS.get(name.lower()) if kind == "word" else None
        if field is None:
            raise JqlError(f"Not able to sort using field '{name}'.")
        descending = False
        if self._keyword("desc"):
            descending = True
        else:
            self._keyword("asc")
        return field, descending


def parse_jql(text: str, data: SiteData) -> JqlQuery:
    """The query `text` asks for on this site; raises JqlError (UnboundedQuery) otherwise."""
    return _Parser(text, data).parse()


def run_query(query: JqlQuery, data: SiteData) -> array[int]:
    """The indexes of the matching issues, in the query's order (issue id ascending by default)."""
    if query.issues is not None:
        candidates: list[int] = sorted(i for i in query.issues if data.issue_exists(i))
        if query.projects is not None:
            candidates = [i for i in candidates if data.project_of(i).index in query.projects]
    elif query.projects is not None:
        candidates = []
        for project in sorted(query.projects):
            candidates.extend(data.project_issues(data.projects[project]))
    else:
        candidates = data.live_issues()
    for bound in query.bounds:
        value = data.issue_updated_ms if bound.field == "updated" else data.issue_created_ms
        candidates = [i for i in candidates if bound.admits(value(i))]

    # Sort by the last key first; Python's sort is stable, so earlier keys take precedence.
    candidates.sort()
    for field, descending in reversed(query.order):
        if field == "id":
            candidates.sort(reverse=descending)
        elif field == "key":
            candidates.sort(
                key=lambda i: (data.project_of(i).key, data.issue_number(i)),
                reverse=descending,
            )
        elif field == "created":
            candidates.sort(key=data.issue_created_ms, reverse=descending)
        else:
            candidates.sort(key=data.issue_updated_ms, reverse=descending)
    return array("q", candidates)
