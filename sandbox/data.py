"""The content of a sandbox site, derived deterministically from a seed.

`SiteData.generate(seed, projects, issues, spaces, pages, blogposts)` describes a whole Jira and
Confluence Cloud site; the same arguments always give the same site, byte for byte. Counts are
totals for the site: issues are spread over the projects and pages (and blog posts) over the
spaces, each in contiguous blocks of uneven size. `SiteData.empty()` is a site with users only.

Nothing large is stored. The small catalogues (users, groups, projects, spaces, labels) are built
up front; each issue, page, comment and attachment is derived on demand from `(seed, index)` with
its own `random.Random` (cheap structural facts, such as how many comments an item has, come from
an integer hash so that listings can skip items without building them). The only per-issue storage
is two arrays of creation and update times (16 bytes an issue), which JQL filters over, so a
100,000-issue site takes a few megabytes and well under a second to generate.

The shape of a site:

- Users: ten people with unicode display names, emails and account ids of both Atlassian styles
  (`557058:<uuid>` and 24 hex digits), an inactive person and an app account (no email).
- Jira: projects with keys like `ENG`; issue `i` has id `10000 + i` and key `<KEY>-<n>`. Issues
  carry an ADF description (sometimes none), a unicode summary, status, type, priority, labels,
  reporter, assignee (sometimes none or an inactive person), a security level on about one in ten,
  links to nearby issues (both ends list the link), 0 to 45 comments (the issues at index 7, 57,
  ... have more than 20; those at 3, 53, ... none), 0 to 3 attachments with real bytes and a
  changelog consistent with the status. Comment ids are `100000 + 64 i + k`, attachment ids
  `20000 + 4 i + k`, changelog ids `50000 + 8 i + k`, link ids `10000 + i` (the issue at the
  outward end).
- Confluence: spaces (`98304 + s`; the last is a personal space when there are three or more)
  hold page trees at least three levels deep (given three pages); in most spaces the listing
  order (by id) is not the tree order, so children can come before their parents. Pages are
  `1000000000 + p`, blog posts `1500000000 + b`; together they are "content", numbered by
  ordinal (pages first). Content has a storage body (with the markers of its inline comments),
  versions, labels, footer comments with replies (`2000000000 + 8 o + k`), inline comments with
  a resolution status (`3000000000 + 8 o + k`), attachments (`att` + `4000000000 + 4 o + k`)
  and, on about one in nine, read and/or update restrictions naming users and groups (ordinal 1
  always has them).

Times are UTC milliseconds between 2023-01-02 and 2025-11-28.

The site is writable (see `jira_writes` and `confluence_writes`): what clients create, change or
delete is kept in an overlay on top of the generated content, which every read consults, so that
listings, searches and fetches show it. A generated item is only built and kept whole once a write
touches it; created items get ids far above the generated ones (`CREATED_ID_BASE`,
`CREATED_CONTENT_ID_BASE`). `writes` counts what changed, by kind.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from array import array
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from math import gcd
from typing import Any, Generic, TypeVar

from sandbox.content import (
    FileKind,
    Person,
    RichText,
    StorageText,
    Writer,
    make_file,
)

SITE_START_MS = int(datetime(2023, 1, 2, 8, 0, tzinfo=UTC).timestamp() * 1000)
SITE_END_MS = int(datetime(2025, 11, 28, 18, 0, tzinfo=UTC).timestamp() * 1000)
_DAY_MS = 24 * 3600 * 1000

ISSUE_ID_BASE = 10_000
PROJECT_ID_BASE = 10_000
JIRA_COMMENT_ID_BASE = 100_000
JIRA_COMMENT_STRIDE = 64
JIRA_ATTACHMENT_ID_BASE = 20_000
JIRA_ATTACHMENT_STRIDE = 4
CHANGELOG_ID_BASE = 50_000
CHANGELOG_STRIDE = 8
ISSUE_LINK_ID_BASE = 10_000
MAX_LINK_DISTANCE = 5

SPACE_ID_BASE = 98_304
PAGE_ID_BASE = 1_000_000_000
BLOGPOST_ID_BASE = 1_500_000_000
FOOTER_COMMENT_ID_BASE = 2_000_000_000
INLINE_COMMENT_ID_BASE = 3_000_000_000
COMMENT_STRIDE = 8
ATTACHMENT_ID_BASE = 4_000_000_000
ATTACHMENT_STRIDE = 4
LABEL_ID_BASE = 1_600_001

# Salts of the integer hash, one per structural fact.
_COMMENTS, _ATTACHMENTS, _LINKS, _SECURITY = 1, 2, 3, 4
_PARENT, _ORDER, _FOOTER, _INLINE, _CONTENT_FILES, _LABELS, _RESTRICTED, _SPLIT = range(5, 13)

_MASK = (1 << 64) - 1


def _mix(*values: int) -> int:
    """A 64-bit hash of integers (splitmix64 rounds): cheap, stable across runs and platforms."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = ((state ^ (value & _MASK)) * 0xBF58476D1CE4E5B9) & _MASK
        state ^= state >> 31
        state = (state * 0x94D049BB133111EB) & _MASK
        state ^= state >> 29
    return state


def _rng(*parts: object) -> random.Random:
    """A generator for one item; a string seed is hashed with SHA-512, so it is stable too."""
    return random.Random(":".join(str(part) for part in parts))  # noqa: S311 - test data, not secrets


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


K = TypeVar("K")
V = TypeVar("V")


class _Memo(Generic[K, V]):
    """A small thread-safe LRU cache: the same issue is usually asked for several times in a row."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, build: Callable[[K], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build(key)
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


# --- people ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    account_id: str
    display_name: str
    email: str | None  # app accounts have none
    account_type: str = "atlassian"  # or "app"
    active: bool = True
    time_zone: str = "UTC"
    locale: str = "en_US"

    @property
    def person(self) -> Person:
        return Person(self.account_id, self.display_name)


@dataclass(frozen=True)
class Group:
    id: str
    name: str


_PEOPLE = (
    ("Ana Pérez", "ana.perez"),
    ("Björn Šimić", "bjorn.simic"),
    ("Zoë Ångström", "zoe.angstrom"),
    ("王芳", "wang.fang"),
    ("Søren Kierkegård", "soren.kierkegard"),
    ("Nguyễn Ngọc Trâm", "tram.nguyen"),
    ("Olúwadámilọ́lá Adébáyọ̀", "ola.adebayo"),
    ("Siobhán O'Connor", "siobhan.oconnor"),
    ("Jürgen Weiß", "juergen.weiss"),
    ("Amélie Dubois", "amelie.dubois"),
    ("Дмитрий Иванов", "dmitry.ivanov"),
    ("Priya Raghunathan", "priya.raghunathan"),
    ("María José García", "mj.garcia"),
    ("渡辺 健二", "kenji.watanabe"),
    ("Łukasz Żółkiewski", "lukasz.zolkiewski"),
)
_TIME_ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")
_LOCALES = ("en_US", "de_DE", "fr_FR", "ja_JP", "es_ES")
_GROUPS = (
    "confluence-users",
    "site-admins",
    "Engineering – Ingeniería",
    "Équipe Support",
    "finance",
)
EMAIL_DOMAIN = "example.com"


def _account_id(rng: random.Random, style: int) -> str:
    if style == 0:
        return f"557058:{_uuid(rng)}"
    if style == 1:
        return f"{rng.getrandbits(96):024x}"
    return f"712020:{_uuid(rng)}"


def _make_users(seed: int) -> tuple[User, ...]:
    rng = _rng(seed, "users")
    people = rng.sample(_PEOPLE, 10)
    users = [
        User(
            account_id=_account_id(rng, n % 3),
            display_name=name,
            email=f"{local}@{EMAIL_DOMAIN}",
            time_zone=rng.choice(_TIME_ZONES),
            locale=rng.choice(_LOCALES),
        )
        for n, (name, local) in enumerate(people)
    ]
    users.append(
        User(
            account_id=_account_id(rng, 1),
            display_name="Former Employee",
            email=f"former.employee@{EMAIL_DOMAIN}",
            active=False,
        )
    )
    users.append(
        User(
            account_id=_account_id(rng, 0),
            display_name="Automation for Jira",
            email=None,
            account_type="app",
        )
    )
    return tuple(users)


def service_user(email: str) -> User:
    """The account a Basic-auth email signs in as: the same email always gives the same account."""
    rng = _rng("service-user", email.lower())
    local = email.split("@", 1)[0] or "sandbox"
    return User(
        account_id=_account_id(rng, 2),
        display_name=local.replace(".", " ").title(),
        email=email,
    )


# --- Jira catalogues ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category_id: int
    category_key: str
    category_name: str
    category_color: str


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    hierarchy_level: int
    avatar_id: int
    description: str


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    color: str


@dataclass(frozen=True)
class SecurityLevel:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class LinkType:
    id: str
    name: str
    inward: str
    outward: str


@dataclass(frozen=True)
class Resolution:
    id: str
    name: str
    description: str


TO_DO = Status("10000", "To Do", 2, "new", "To Do", "blue-gray")
IN_PROGRESS = Status("3", "In Progress", 4, "indeterminate", "In Progress", "yellow")
IN_REVIEW = Status("10001", "In Review", 4, "indeterminate", "In Progress", "yellow")
DONE = Status("10002", "Done", 3, "done", "Done", "green")
WONT_DO = Status("10003", "Won't Do", 3, "done", "Done", "green")
STATUSES = (TO_DO, IN_PROGRESS, IN_REVIEW, DONE, WONT_DO)
_STATUS_WEIGHTS = (30, 20, 10, 35, 5)
# The workflow path from creation to each status; the changelog walks it.
_STATUS_PATHS: dict[str, tuple[Status, ...]] = {
    TO_DO.id: (TO_DO,),
    IN_PROGRESS.id: (TO_DO, IN_PROGRESS),
    IN_REVIEW.id: (TO_DO, IN_PROGRESS, IN_REVIEW),
    DONE.id: (TO_DO, IN_PROGRESS, IN_REVIEW, DONE),
    WONT_DO.id: (TO_DO, WONT_DO),
}
RESOLUTIONS = {
    DONE.id: Resolution("10000", "Done", "Work has been completed on this issue."),
    WONT_DO.id: Resolution("10001", "Won't Do", "This issue won't be actioned."),
}
ISSUE_TYPES = (
    IssueType("10001", "Epic", 1, 10307, "A big user story that needs to be broken down."),
    IssueType("10002", "Story", 0, 10315, "Functionality or a feature expressed as a user goal."),
    IssueType("10003", "Task", 0, 10318, "A small, distinct piece of work."),
    IssueType("10004", "Bug", 0, 10303, "A problem or error."),
)
_ISSUE_TYPE_WEIGHTS = (5, 35, 35, 25)
PRIORITIES = (
    Priority("1", "Highest", "#d04437"),
    Priority("2", "High", "#f15C75"),
    Priority("3", "Medium", "#f79232"),
    Priority("4", "Low", "#707070"),
    Priority("5", "Lowest", "#999999"),
)
_PRIORITY_WEIGHTS = (5, 20, 50, 20, 5)
SECURITY_LEVELS = (
    SecurityLevel("10000", "Internal", "Staff only"),
    SecurityLevel("10001", "Confidential – Führungskreis", "Leadership team only"),
)
LINK_TYPES = (
    LinkType("10000", "Blocks", "is blocked by", "blocks"),
    LinkType("10001", "Cloners", "is cloned by", "clones"),
    LinkType("10002", "Duplicate", "is duplicated by", "duplicates"),
    LinkType("10003", "Relates", "relates to", "relates to"),
)
JIRA_LABELS = (
    "backend",
    "frontend",
    "customer-reported",
    "tech-debt",
    "größe",
    "регрессия",
    "release-2.0",
    "ux",
    "perf",
    "日本",
)
_PROJECT_NAMES = (
    ("ENG", "Engineering Platform", "software"),
    ("OPS", "Opérations", "business"),
    ("MKT", "Marketing Überblick", "business"),
    ("SUP", "Support 顧客", "software"),
    ("FIN", "Finance & Compliance", "business"),
    ("HR", "People Ops — Ñandú", "business"),
    ("DATA", "Data Science", "software"),
    ("MOB", "Mobile Apps 📱", "software"),
    ("WEB", "Web Storefront", "software"),
    ("SEC", "Security Incident Response", "software"),
)


@dataclass(frozen=True)
class Project:
    index: int
    id: str
    key: str
    name: str
    description: str
    type_key: str  # "software" or "business"
    uuid: str
    lead: User
    created_ms: int
    first_issue: int  # global index of the project's first issue
    issue_count: int


@dataclass(frozen=True)
class IssueHead:
    """What other issues show of an issue (in links): cheap to derive."""

    index: int
    id: str
    key: str
    number: int
    project: Project
    summary: str
    issue_type: IssueType
    status: Status
    priority: Priority


@dataclass(frozen=True)
class JiraComment:
    id: str
    author: User
    update_author: User
    body: RichText
    created_ms: int
    updated_ms: int
    visibility_role: str | None  # restricted to a project role, or visible to all


@dataclass(frozen=True)
class JiraAttachment:
    id: str
    issue_index: int
    filename: str
    kind: FileKind
    data: bytes
    author: User
    created_ms: int


@dataclass(frozen=True)
class ChangeItem:
    field: str
    field_id: str
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None
    fieldtype: str = "jira"


@dataclass(frozen=True)
class ChangeHistory:
    id: str
    author: User
    created_ms: int
    items: tuple[ChangeItem, ...]


@dataclass(frozen=True)
class IssueLink:
    id: str
    type: LinkType
    outward: bool  # True: this issue is the source ("blocks" the other); False: the target
    other: IssueHead


@dataclass(frozen=True)
class Issue:
    head: IssueHead
    description: RichText | None
    labels: tuple[str, ...]
    reporter: User
    assignee: User | None
    security: SecurityLevel | None
    resolution: Resolution | None
    resolved_ms: int | None
    created_ms: int
    updated_ms: int
    comments: tuple[JiraComment, ...]
    attachments: tuple[JiraAttachment, ...]
    changelog: tuple[ChangeHistory, ...]
    links: tuple[IssueLink, ...]

    @property
    def id(self) -> str:
        return self.head.id

    @property
    def key(self) -> str:
        return self.head.key


# --- Confluence -----------------------------------------------------------------------------------

_SPACE_NAMES = (
    ("DOCS", "Documentation"),
    ("TEAM", "Team Space — Équipe"),
    ("KB", "Knowledge Base 知识库"),
    ("ARCH", "Architecture Decisions"),
    ("PEOPLE", "Human Resources"),
    ("RUN", "Runbooks ⚙️"),
)
_CONFLUENCE_LABELS = (
    "how-to",
    "runbook",
    "meeting-notes",
    "entwurf",
    "архив",
    "decision",
    "onboarding",
    "規程",
    "q3-planning",
    "incident",
    "customer-facing",
    "draft",
)
_RESOLUTIONS = ("open", "open", "resolved", "reopened", "dangling")


@dataclass(frozen=True)
class Space:
    index: int
    id: str
    key: str
    name: str
    type: str  # "global" or "personal"
    description: str
    author: User
    created_ms: int
    first_page: int  # page index (= content ordinal) of its first page
    page_count: int
    first_blogpost: int  # blog post index
    blogpost_count: int
    order_multiplier: int  # listing position r sits at tree position (multiplier * r) % count
    created_homepage_id: str | None = None  # the homepage made with a space created by a client

    @property
    def homepage_id(self) -> str | None:
        if self.created_homepage_id:
            return self.created_homepage_id
        return str(PAGE_ID_BASE + self.first_page) if self.page_count else None


@dataclass(frozen=True)
class Label:
    id: str
    name: str
    prefix: str = "global"


@dataclass(frozen=True)
class Version:
    number: int
    created_ms: int
    author: User
    message: str
    minor_edit: bool


@dataclass(frozen=True)
class ContentMeta:
    """A page or blog post without its body: what listings and comments need."""

    ordinal: int
    kind: str  # "page" or "blogpost"
    id: str
    space: Space
    title: str
    parent_id: str | None  # pages below the homepage; None for the homepage and blog posts
    position: int | None
    author: User
    created_ms: int
    version: Version


@dataclass(frozen=True)
class Content:
    meta: ContentMeta
    body: RichText
    labels: tuple[Label, ...]


@dataclass(frozen=True)
class ConfluenceComment:
    id: str
    kind: str  # "footer" or "inline"
    container: ContentMeta
    parent_id: str | None  # replies name the comment they answer
    version: Version  # number 1's author is the comment's author
    body: RichText
    resolution_status: str | None = None  # inline comments: open, resolved, reopened, dangling
    marker_ref: str | None = None
    selection: str | None = None
    resolution_by: User | None = None
    resolution_ms: int | None = None


@dataclass(frozen=True)
class ConfluenceAttachment:
    id: str  # "att<number>"
    container: ContentMeta
    filename: str
    kind: FileKind
    data: bytes
    file_id: str
    created_ms: int
    author: User
    comment: str


@dataclass(frozen=True)
class Restriction:
    operation: str  # "read" or "update"
    users: tuple[User, ...]
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class ContentProperty:
    id: str
    key: str
    value: Any
    version: Version


@dataclass
class ContentChanges:
    """What clients changed on one page or blog post; for content they created, all of it."""

    meta: ContentMeta | None = None
    body: RichText | None = None
    draft: bool = False
    labels: list[Label] = field(default_factory=list)
    restrictions: tuple[Restriction, Restriction] | None = None
    attachments: list[ConfluenceAttachment] = field(default_factory=list)
    footer: list[ConfluenceComment] = field(default_factory=list)
    inline: list[ConfluenceComment] = field(default_factory=list)
    properties: dict[str, ContentProperty] = field(default_factory=dict)


class WriteRefused(ValueError):
    """A write the site refuses as the real one would (a taken key or title, a stale version)."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


# Ids of items clients create: far above every generated id, so they never collide.
CREATED_ID_BASE = 900_000_000
CREATED_CONTENT_ID_BASE = 5_000_000_000
TRANSITIONS = {  # transition id -> (name, target status)
    "11": ("To Do", TO_DO),
    "21": ("In Progress", IN_PROGRESS),
    "31": ("In Review", IN_REVIEW),
    "41": ("Done", DONE),
    "51": ("Won't Do", WONT_DO),
}
# The simple workflow every project uses: which transitions leave each status.
WORKFLOW = {
    TO_DO.id: ("21", "51"),
    IN_PROGRESS.id: ("11", "31"),
    IN_REVIEW.id: ("21", "41"),
    DONE.id: ("11",),
    WONT_DO.id: ("11",),
}


def now_ms() -> int:
    return int(time.time() * 1000)


# --- the site -------------------------------------------------------------------------------------


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` items over `parts` blocks of uneven size, each non-empty while total allows."""
    if parts == 0:
        return []
    base = min(1, total // parts)
    weights = [0.5 + rng.random() for _ in range(parts)]
    rest = total - base * parts
    sizes = [base + int(rest * w / sum(weights)) for w in weights]
    for n in range(total - sum(sizes)):
        sizes[n % parts] += 1
    return sizes


def _starts(sizes: Sequence[int]) -> list[int]:
    starts, running = [], 0
    for size in sizes:
        starts.append(running)
        running += size
    return starts


class SiteData:
    """One simulated site (Jira and Confluence). Build it with `generate` or `empty`."""

    def __init__(
        self,
        *,
        seed: int,
        users: tuple[User, ...],
        groups: tuple[Group, ...],
        projects: tuple[Project, ...],
        spaces: tuple[Space, ...],
        labels: tuple[Label, ...],
        issue_times: tuple[array[int], array[int]],
        page_count: int,
        blogpost_count: int,
    ) -> None:
        self.seed = seed
        self.users = users
        self.groups = groups
        self._projects = list(projects)
        self._spaces = list(spaces)
        self._labels = list(labels)
        self._generated_label_count = len(labels)
        self._created, self._updated = issue_times
        self.page_count = page_count
        self.blogpost_count = blogpost_count
        self._project_starts = [p.first_issue for p in projects]
        self._page_starts = [s.first_page for s in spaces]
        self._blog_starts = [s.first_blogpost for s in spaces]
        self._projects_by_key = {p.key: p for p in projects}
        self._projects_by_id = {p.id: p for p in projects}
        self._spaces_by_id = {s.id: s for s in spaces}
        self._labels_by_id = {label.id: label for label in labels}
        self._people = [u.person for u in users if u.account_type == "atlassian"]
        self._humans = [u for u in users if u.account_type == "atlassian"]
        self._active = [u for u in self._humans if u.active]
        self._heads: _Memo[int, IssueHead] = _Memo(4096)
        self._issues: _Memo[int, Issue] = _Memo(512)
        # The changelog bulkfetch pages through 1,000 issues' histories, each page built anew.
        self._changelogs: _Memo[int, tuple[ChangeHistory, ...]] = _Memo(4096)
        self._metas: _Memo[int, ContentMeta] = _Memo(4096)
        # The overlay of what clients wrote; generated items stay lazy until a write touches one.
        self.writes: Counter[str] = Counter()
        self._generated_issues = len(self._created)
        self._generated_content = page_count + blogpost_count
        self._content_total = self._generated_content
        self._ids = itertools.count(CREATED_ID_BASE + 1)
        self._accounts = {u.account_id: u for u in users}
        self._issue_overlay: dict[int, Issue] = {}
        self._issue_project: dict[int, int] = {}  # created issue -> project index
        self._issue_numbers: dict[int, int] = {}  # created issue -> number in its key
        self._project_extra: dict[int, list[int]] = {}  # project index -> created issues
        self._created_keys: dict[str, int] = {}
        self._next_number: dict[int, int] = {}
        self._deleted_issues: set[int] = set()
        self._issue_properties: dict[int, dict[str, Any]] = {}
        self._jira_attachments: dict[str, JiraAttachment] = {}
        self._changes: dict[int, ContentChanges] = {}
        self._content_ids: dict[str, int] = {}  # created content id -> ordinal
        self._space_extra: dict[str, list[int]] = {}  # space id -> created content ordinals
        self._deleted_content: set[int] = set()
        self._titles: dict[str, dict[str, int]] = {}  # space id -> page title -> ordinal

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        seed: int = 0,
        *,
        projects: int = 3,
        issues: int = 150,
        spaces: int = 2,
        pages: int = 40,
        blogposts: int | None = None,
    ) -> SiteData:
        """A site of these totals; `blogposts` defaults to one for every five pages."""
        blogposts = pages // 5 if blogposts is None else blogposts
        for name, value in (
            ("projects", projects),
            ("issues", issues),
            ("spaces", spaces),
            ("pages", pages),
            ("blogposts", blogposts),
        ):
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if issues and not projects:
            raise ValueError("issues need at least one project")
        if (pages or blogposts) and not spaces:
            raise ValueError("pages and blog posts need at least one space")

        users = _make_users(seed)
        humans = [u for u in users if u.account_type == "atlassian" and u.active]
        rng = _rng(seed, "catalogues")
        groups = tuple(Group(_uuid(rng), name) for name in _GROUPS)

        project_list = []
        sizes = _split(issues, projects, rng)
        for p, (size, first) in enumerate(zip(sizes, _starts(sizes), strict=True)):
            key, name, type_key = _PROJECT_NAMES[p % len(_PROJECT_NAMES)]
            if p >= len(_PROJECT_NAMES):
                key, name = f"{key}{p // len(_PROJECT_NAMES) + 1}", f"{name} {p // 10 + 1}"
            project_list.append(
                Project(
                    index=p,
                    id=str(PROJECT_ID_BASE + p),
                    key=key,
                    name=name,
                    description=f"{name}: {Writer(rng, ()).sentence()}",
                    type_key=type_key,
                    uuid=_uuid(rng),
                    lead=rng.choice(humans),
                    created_ms=SITE_START_MS + rng.randrange(120) * _DAY_MS,
                    first_issue=first,
                    issue_count=size,
                )
            )

        page_sizes = _split(pages, spaces, rng)
        blog_sizes = _split(blogposts, spaces, rng)
        page_starts, blog_starts = _starts(page_sizes), _starts(blog_sizes)
        space_list = []
        for s in range(spaces):
            key, name = _SPACE_NAMES[s % len(_SPACE_NAMES)]
            if s >= len(_SPACE_NAMES):
                key, name = f"{key}{s // len(_SPACE_NAMES) + 1}", f"{name} {s // 6 + 1}"
            author = rng.choice(humans)
            kind = "global"
            if spaces >= 3 and s == spaces - 1:
                # Personal spaces are keyed by their owner's account id.
                kind, name = "personal", author.display_name
                key = "~" + "".join(ch for ch in author.account_id if ch.isalnum())
            space_list.append(
                Space(
                    index=s,
                    id=str(SPACE_ID_BASE + s),
                    key=key,
                    name=name,
                    type=kind,
                    description=f"{name}: {Writer(rng, ()).sentence()}",
                    author=author,
                    created_ms=SITE_START_MS + rng.randrange(180) * _DAY_MS,
                    first_page=page_starts[s],
                    page_count=page_sizes[s],
                    first_blogpost=blog_starts[s],
                    blogpost_count=blog_sizes[s],
                    order_multiplier=_order_multiplier(seed, s, page_sizes[s]),
                )
            )
        labels: tuple[Label, ...] = ()
        if pages or blogposts:
            labels = tuple(
                Label(str(LABEL_ID_BASE + n), name) for n, name in enumerate(_CONFLUENCE_LABELS)
            )
        return cls(
            seed=seed,
            users=users,
            groups=groups,
            projects=tuple(project_list),
            spaces=tuple(space_list),
            labels=labels,
            issue_times=_issue_times(seed, project_list),
            page_count=pages,
            blogpost_count=blogposts,
        )

    @classmethod
    def empty(cls, seed: int = 0) -> SiteData:
        """A site with its users and nothing else: no projects, no spaces."""
        return cls.generate(seed, projects=0, issues=0, spaces=0, pages=0, blogposts=0)

    # -- users ------------------------------------------------------------------------------------

    def user(self, account_id: str) -> User | None:
        """A person of the site, or an account that signed in to write."""
        return self._accounts.get(account_id)

    def caller(self, email: str) -> User:
        """The account of a Basic-auth email, remembered so that what it wrote can name it."""
        user = service_user(email)
        self._accounts.setdefault(user.account_id, user)
        return user

    @property
    def version(self) -> int:
        """Grows with every write: what was computed from the site before may be stale."""
        return self.writes.total()

    def _new_id(self) -> str:
        return str(next(self._ids))

    @property
    def projects(self) -> tuple[Project, ...]:
        return tuple(self._projects)

    @property
    def spaces(self) -> tuple[Space, ...]:
        return tuple(self._spaces)

    @property
    def labels(self) -> tuple[Label, ...]:
        return tuple(self._labels)

    # -- Jira -------------------------------------------------------------------------------------

    @property
    def issue_count(self) -> int:
        """Issue indexes in use: generated and created ones, deleted ones included."""
        return len(self._created)

    def issue_exists(self, index: int) -> bool:
        return 0 <= index < len(self._created) and index not in self._deleted_issues

    def live_issues(self) -> list[int]:
        if not self._deleted_issues:
            return list(range(len(self._created)))
        return [i for i in range(len(self._created)) if i not in self._deleted_issues]

    def project_issues(self, project: Project) -> list[int]:
        """The indexes of a project's issues, in id order, without deleted ones."""
        first = project.first_issue
        indexes = [
            *range(first, first + project.issue_count),
            *self._project_extra.get(project.index, []),
        ]
        if self._deleted_issues:
            return [i for i in indexes if i not in self._deleted_issues]
        return indexes

    def issue_number(self, index: int) -> int:
        """The number in an issue's key."""
        if index >= self._generated_issues:
            return self._issue_numbers[index]
        return index - self.project_of(index).first_issue + 1

    def project_by_key(self, key: str) -> Project | None:
        return self._projects_by_key.get(key.upper())

    def project_by_id(self, project_id: str) -> Project | None:
        return self._projects_by_id.get(project_id)

    def project_of(self, index: int) -> Project:
        if index >= self._generated_issues:
            return self._projects[self._issue_project[index]]
        return self._projects[bisect_right(self._project_starts, index) - 1]

    def issue_created_ms(self, index: int) -> int:
        return self._created[index]

    def issue_updated_ms(self, index: int) -> int:
        return self._updated[index]

    def issue_index(self, id_or_key: str) -> int | None:
        """The index of an issue named by id ("10042") or key ("ENG-7", any case)."""
        text = id_or_key.strip()
        if text.isdigit():
            index = int(text) - ISSUE_ID_BASE
            return index if self.issue_exists(index) else None
        key, _, number = text.upper().rpartition("-")
        project = self._projects_by_key.get(key)
        if project is None or not number.isdigit():
            return None
        n = int(number)
        if 1 <= n <= project.issue_count:
            index = project.first_issue + n - 1
        else:
            index = self._created_keys.get(f"{project.key}-{n}", -1)
        return index if self.issue_exists(index) else None

    def issue_head(self, index: int) -> IssueHead:
        changed = self._issue_overlay.get(index)
        if changed is not None:
            return changed.head
        return self._heads.get(index, self._build_head)

    def issue(self, index: int) -> Issue:
        changed = self._issue_overlay.get(index)
        if changed is not None:
            return changed
        return self._issues.get(index, self._build_issue)

    def comment_count(self, index: int) -> int:
        if index % 50 == 3:
            return 0
        h = _mix(self.seed, _COMMENTS, index)
        last = self._generated_issues - 1
        if index % 50 == 7 or (self._generated_issues <= 7 and index == last):
            return 21 + h % 25
        roll, rest = h % 100, h // 100
        if roll < 30:
            return 0
        if roll < 85:
            return 1 + rest % 5
        if roll < 97:
            return 6 + rest % 15
        return 21 + rest % 25

    def attachment_count(self, index: int) -> int:
        count = (0, 0, 0, 0, 1, 1, 1, 2, 2, 3)[_mix(self.seed, _ATTACHMENTS, index) % 10]
        return max(count, 1) if index % 10 == 0 else count

    def jira_attachment(self, attachment_id: str) -> JiraAttachment | None:
        created = self._jira_attachments.get(attachment_id)
        if created is not None:
            return created if self.issue_exists(created.issue_index) else None
        if not attachment_id.isdigit():
            return None
        number = int(attachment_id) - JIRA_ATTACHMENT_ID_BASE
        index, k = divmod(number, JIRA_ATTACHMENT_STRIDE)
        if number < 0 or index >= self._generated_issues or k >= self.attachment_count(index):
            return None
        if not self.issue_exists(index):
            return None
        return self._build_jira_attachment(index, k)

    def _links_out(self, index: int) -> int | None:
        """The issue that issue `index` links to (it is the outward end), if any."""
        if index == 1:
            return 0
        h = _mix(self.seed, _LINKS, index)
        if index < 1 or h % 5:
            return None
        return index - 1 - (h >> 8) % min(index, MAX_LINK_DISTANCE)

    def _link_type(self, index: int) -> LinkType:
        return LINK_TYPES[(_mix(self.seed, _LINKS, index) >> 16) % len(LINK_TYPES)]

    def _build_head(self, index: int) -> IssueHead:
        rng = _rng(self.seed, "issue-head", index)
        project = self.project_of(index)
        number = index - project.first_issue + 1
        return IssueHead(
            index=index,
            id=str(ISSUE_ID_BASE + index),
            key=f"{project.key}-{number}",
            number=number,
            project=project,
            summary=Writer(rng, ()).summary(),
            issue_type=rng.choices(ISSUE_TYPES, _ISSUE_TYPE_WEIGHTS)[0],
            status=rng.choices(STATUSES, _STATUS_WEIGHTS)[0],
            priority=rng.choices(PRIORITIES, _PRIORITY_WEIGHTS)[0],
        )

    def _moments(self, index: int, count: int, salt: str) -> list[int]:
        """`count` increasing instants within the issue's life (creation to last update)."""
        created, updated = self._created[index], self._updated[index]
        rng = _rng(self.seed, salt, index)
        step = (updated - created) / (count + 1)
        return [created + int((n + 1 + 0.8 * (rng.random() - 0.5)) * step) for n in range(count)]

    def _build_jira_attachment(self, index: int, k: int) -> JiraAttachment:
        rng = _rng(self.seed, "jira-attachment", index, k)
        file = make_file(rng, "" if k == 0 else f" ({k + 1})")
        return JiraAttachment(
            id=str(JIRA_ATTACHMENT_ID_BASE + index * JIRA_ATTACHMENT_STRIDE + k),
            issue_index=index,
            filename=file.filename,
            kind=file.kind,
            data=file.data,
            author=rng.choice(self._active),
            created_ms=self._moments(index, self.attachment_count(index), "attached")[k],
        )

    def _people_of(self, index: int) -> tuple[tuple[str, ...], User, User | None]:
        """An issue's labels, reporter and assignee (sometimes none, sometimes inactive)."""
        rng = _rng(self.seed, "issue-people", index)
        labels = tuple(sorted(rng.sample(JIRA_LABELS, rng.choice((0, 0, 1, 1, 2, 3)))))
        reporter = rng.choice(self._active)
        assignee = None if rng.random() < 0.2 else rng.choice(self._humans)
        return labels, reporter, assignee

    def _build_issue(self, index: int) -> Issue:
        head = self.issue_head(index)
        created, updated = self._created[index], self._updated[index]
        labels, reporter, assignee = self._people_of(index)
        rng = _rng(self.seed, "issue-description", index)
        writer = Writer(rng, self._people)
        description = None if rng.random() < 0.1 else writer.document(size=rng.randint(1, 5))
        security = None
        if index == 2 or _mix(self.seed, _SECURITY, index) % 10 == 0:
            security = SECURITY_LEVELS[_mix(self.seed, _SECURITY, index) % 2]

        rng = _rng(self.seed, "issue-comments", index)
        writer = Writer(rng, self._people)
        comments = []
        for k, moment in enumerate(self._moments(index, self.comment_count(index), "commented")):
            author = rng.choice(self._active)
            edited = rng.random() < 0.15
            comments.append(
                JiraComment(
                    id=str(JIRA_COMMENT_ID_BASE + index * JIRA_COMMENT_STRIDE + k),
                    author=author,
                    update_author=author,
                    body=writer.comment(),
                    created_ms=moment,
                    updated_ms=min(moment + rng.randrange(1, 3 * _DAY_MS), updated)
                    if edited
                    else moment,
                    visibility_role="Developers" if rng.random() < 0.05 else None,
                )
            )
        attachments = tuple(
            self._build_jira_attachment(index, k) for k in range(self.attachment_count(index))
        )
        changelog = self._changelogs.get(index, self._generated_changelog)
        status_changes = [h.created_ms for h in changelog if h.items[0].field == "status"]
        resolved_ms = None
        if head.status.category_key == "done" and status_changes:
            resolved_ms = status_changes[-1]
        return Issue(
            head=head,
            description=description,
            labels=labels,
            reporter=reporter,
            assignee=assignee,
            security=security,
            resolution=RESOLUTIONS.get(head.status.id),
            resolved_ms=resolved_ms,
            created_ms=created,
            updated_ms=updated,
            comments=tuple(comments),
            attachments=attachments,
            changelog=changelog,
            links=self._links(index),
        )

    def changelog(self, index: int) -> tuple[ChangeHistory, ...]:
        """An issue's change histories, oldest first, consistent with its current values."""
        changed = self._issue_overlay.get(index)
        if changed is not None:
            return changed.changelog
        return self._changelogs.get(index, self._generated_changelog)

    def _generated_changelog(self, index: int) -> tuple[ChangeHistory, ...]:
        head = self.issue_head(index)
        labels, reporter, assignee = self._people_of(index)
        rng = _rng(self.seed, "issue-changelog", index)
        changes: list[tuple[ChangeItem, ...]] = []
        path = _STATUS_PATHS[head.status.id]
        for before, after in pairwise(path):
            items = [ChangeItem("status", "status", before.id, before.name, after.id, after.name)]
            resolution = RESOLUTIONS.get(after.id)
            if resolution:
                items.append(
                    ChangeItem(
                        "resolution", "resolution", None, None, resolution.id, resolution.name
                    )
                )
            changes.append(tuple(items))
        if assignee and rng.random() < 0.5:
            previous = rng.choice([u for u in self._active if u != assignee])
            changes.insert(
                rng.randint(0, len(changes)),
                (
                    ChangeItem(
                        "assignee",
                        "assignee",
                        previous.account_id,
                        previous.display_name,
                        assignee.account_id,
                        assignee.display_name,
                    ),
                ),
            )
        if rng.random() < 0.3:
            earlier = rng.choice([p for p in PRIORITIES if p != head.priority])
            changes.insert(
                0,
                (
                    ChangeItem(
                        "priority",
                        "priority",
                        earlier.id,
                        earlier.name,
                        head.priority.id,
                        head.priority.name,
                    ),
                ),
            )
        if labels and rng.random() < 0.4:
            changes.append((ChangeItem("labels", "labels", None, "", None, " ".join(labels)),))
        moments = self._moments(index, len(changes), "changed")
        return tuple(
            ChangeHistory(
                id=str(CHANGELOG_ID_BASE + index * CHANGELOG_STRIDE + k),
                author=reporter if rng.random() < 0.4 else rng.choice(self._active),
                created_ms=moment,
                items=items,
            )
            for k, (items, moment) in enumerate(zip(changes, moments, strict=True))
        )

    def _links(self, index: int) -> tuple[IssueLink, ...]:
        links = []
        target = self._links_out(index)
        if target is not None:
            links.append(
                IssueLink(
                    str(ISSUE_LINK_ID_BASE + index),
                    self._link_type(index),
                    True,
                    self.issue_head(target),
                )
            )
        last = self._generated_issues - 1
        for source in range(index + 1, min(index + MAX_LINK_DISTANCE, last) + 1):
            if self._links_out(source) == index:
                links.append(
                    IssueLink(
                        str(ISSUE_LINK_ID_BASE + source),
                        self._link_type(source),
                        False,
                        self.issue_head(source),
                    )
                )
        return tuple(links)

    # -- Confluence -------------------------------------------------------------------------------

    @property
    def content_count(self) -> int:
        """Content ordinals in use: generated pages (below `page_count`), generated blog posts,
        then content clients created (deleted content included)."""
        return self._content_total

    def content_exists(self, ordinal: int) -> bool:
        return 0 <= ordinal < self._content_total and ordinal not in self._deleted_content

    def is_listed(self, ordinal: int) -> bool:
        """Existing and published: what listings show (drafts are not listed)."""
        if not self.content_exists(ordinal):
            return False
        changes = self._changes.get(ordinal)
        return changes is None or not changes.draft

    def is_draft(self, ordinal: int) -> bool:
        changes = self._changes.get(ordinal)
        return changes is not None and changes.draft

    def is_page(self, ordinal: int) -> bool:
        if ordinal < self._generated_content:
            return ordinal < self.page_count
        return self.content_meta(ordinal).kind == "page"

    def is_root(self, ordinal: int) -> bool:
        if ordinal < self._generated_content and ordinal not in self._changes:
            return self.tree_position(ordinal) == 0
        return self.content_meta(ordinal).parent_id is None

    def listed_content(self, kind: str, start: int = 0) -> Iterator[int]:
        """Listed pages (or blog posts) of the whole site, in ordinal order, from `start`."""
        first, end = (
            (0, self.page_count) if kind == "page" else (self.page_count, self._generated_content)
        )
        for ordinal in range(max(first, start), end):
            if self.is_listed(ordinal):
                yield ordinal
        for ordinal in range(max(self._generated_content, start), self._content_total):
            if self.is_listed(ordinal) and self.content_meta(ordinal).kind == kind:
                yield ordinal

    def space_content(self, space: Space, kind: str, start: int = 0) -> Iterator[int]:
        """Listed pages (or blog posts) of one space, in ordinal order, from `start`."""
        if kind == "page":
            first, count = space.first_page, space.page_count
        else:
            first, count = self.page_count + space.first_blogpost, space.blogpost_count
        for ordinal in range(max(first, start), first + count):
            if self.is_listed(ordinal):
                yield ordinal
        for ordinal in self._space_extra.get(space.id, []):
            if (
                ordinal >= start
                and self.is_listed(ordinal)
                and self.content_meta(ordinal).kind == kind
            ):
                yield ordinal

    def space_by_id(self, space_id: str) -> Space | None:
        return self._spaces_by_id.get(space_id)

    def label_by_id(self, label_id: str) -> Label | None:
        return self._labels_by_id.get(label_id)

    def content_ordinal(self, content_id: str) -> int | None:
        """The ordinal of the (existing) page or blog post with this id."""
        ordinal = self._content_ordinal(content_id)
        return ordinal if ordinal is not None and self.content_exists(ordinal) else None

    def _content_ordinal(self, content_id: str) -> int | None:
        if not content_id.isdigit():
            return None
        number = int(content_id)
        if PAGE_ID_BASE <= number < PAGE_ID_BASE + self.page_count:
            return number - PAGE_ID_BASE
        if BLOGPOST_ID_BASE <= number < BLOGPOST_ID_BASE + self.blogpost_count:
            return self.page_count + number - BLOGPOST_ID_BASE
        return self._content_ids.get(content_id)

    def page_ordinal(self, space: Space, position: int) -> int:
        """The ordinal of the page at listing position `position` of a space."""
        return space.first_page + position

    def blogpost_ordinal(self, space: Space, position: int) -> int:
        return self.page_count + space.first_blogpost + position

    def content_meta(self, ordinal: int) -> ContentMeta:
        changes = self._changes.get(ordinal)
        if changes is not None and changes.meta is not None:
            return changes.meta
        return self._metas.get(ordinal, self._build_meta)

    def content(self, ordinal: int) -> Content:
        meta = self.content_meta(ordinal)
        changes = self._changes.get(ordinal)
        if changes is not None and changes.body is not None:
            return Content(meta, changes.body, self.labels_of(ordinal))
        rng = _rng(self.seed, "body", ordinal)
        # The page shows the text its (not dangling) inline comments are anchored on.
        anchors = [
            (c.marker_ref, c.selection)
            for c in self.inline_comments(ordinal)
            if c.parent_id is None
            and c.resolution_status != "dangling"
            and c.marker_ref
            and c.selection
        ]
        body = Writer(rng, self._people).document(size=rng.randint(2, 8), anchors=anchors)
        return Content(meta, body, self.labels_of(ordinal))

    def tree_position(self, ordinal: int) -> int:
        """A page's place in its space's tree: 0 is the homepage, parents come before children."""
        space, r = self._page_place(ordinal)
        return (space.order_multiplier * r) % space.page_count

    def _page_place(self, ordinal: int) -> tuple[Space, int]:
        space = self.spaces[bisect_right(self._page_starts, ordinal) - 1]
        return space, ordinal - space.first_page

    def _parent_ordinal(self, ordinal: int) -> int | None:
        space, _ = self._page_place(ordinal)
        t = self.tree_position(ordinal)
        if t == 0:
            return None
        if t <= 2:
            parent_t = t - 1  # the first three pages form a chain, so every tree is 3 deep
        else:
            h = _mix(self.seed, _PARENT, ordinal)
            parent_t = t - 1 - (h >> 1) % 3 if h % 2 else (h >> 1) % t
        inverse = pow(space.order_multiplier, -1, space.page_count)
        return space.first_page + (inverse * parent_t) % space.page_count

    def _build_meta(self, ordinal: int) -> ContentMeta:
        rng = _rng(self.seed, "content", ordinal)
        if ordinal < self.page_count:
            space, r = self._page_place(ordinal)
            kind, content_id = "page", str(PAGE_ID_BASE + ordinal)
            parent = self._parent_ordinal(ordinal)
            parent_id = None if parent is None else str(PAGE_ID_BASE + parent)
            position: int | None = self.tree_position(ordinal)
        else:
            b = ordinal - self.page_count
            space = self.spaces[bisect_right(self._blog_starts, b) - 1]
            r = b - space.first_blogpost
            kind, content_id, parent_id, position = (
                "blogpost",
                str(BLOGPOST_ID_BASE + b),
                None,
                None,
            )
        span = SITE_END_MS - space.created_ms
        if position is None:
            created = space.created_ms + int(span * rng.random() * 0.9)
        else:  # parents are older than their children: tree position orders creation
            created = space.created_ms + int(
                span * 0.9 * (position + rng.random()) / space.page_count
            )
        author = rng.choice(self._active)
        number = rng.choice((1, 1, 1, 2, 3, 5, 8))
        edited = created if number == 1 else created + int((SITE_END_MS - created) * rng.random())
        writer = Writer(rng, self._people)
        return ContentMeta(
            ordinal=ordinal,
            kind=kind,
            id=content_id,
            space=space,
            title=writer.title(r + 1),
            parent_id=parent_id,
            position=position,
            author=author,
            created_ms=created,
            version=Version(
                number=number,
                created_ms=edited,
                author=author if number == 1 else rng.choice(self._active),
                message="" if rng.random() < 0.7 else writer.sentence(),
                minor_edit=number > 1 and rng.random() < 0.3,
            ),
        )

    def labels_of(self, ordinal: int) -> tuple[Label, ...]:
        generated = self._generated_labels(ordinal) if ordinal < self._generated_content else ()
        changes = self._changes.get(ordinal)
        return generated + tuple(changes.labels) if changes else generated

    def _generated_labels(self, ordinal: int) -> tuple[Label, ...]:
        h = _mix(self.seed, _LABELS, ordinal)
        count = (0, 0, 1, 1, 2, 3)[h % 6]
        chosen: list[Label] = []
        for n in range(count):
            label = self._labels[_mix(h, n) % self._generated_label_count]
            if label not in chosen:
                chosen.append(label)
        return tuple(chosen)

    def _comment_shape(
        self, ordinal: int, salt: int, roots: Sequence[int]
    ) -> tuple[int | None, ...]:
        """Each comment's parent (by position) or None for a root; replies follow their root."""
        h = _mix(self.seed, salt, ordinal)
        root_count = roots[h % len(roots)]
        shape: list[int | None] = []
        for n in range(root_count):
            shape.append(None)
            if (h >> (8 + n)) & 1:
                shape.append(len(shape) - 1)
        return tuple(shape)

    def footer_comment_shape(self, ordinal: int) -> tuple[int | None, ...]:
        if ordinal == 0:
            return (None, 0, None)
        return self._comment_shape(ordinal, _FOOTER, (0, 0, 1, 1, 2, 3))

    def inline_comment_shape(self, ordinal: int) -> tuple[int | None, ...]:
        if ordinal == 0:
            return (None, 0)
        return self._comment_shape(ordinal, _INLINE, (0, 0, 0, 1, 1, 2))

    def footer_comments(self, ordinal: int) -> tuple[ConfluenceComment, ...]:
        generated: tuple[ConfluenceComment, ...] = ()
        if ordinal < self._generated_content:
            generated = self._comments(ordinal, "footer", self.footer_comment_shape(ordinal))
        changes = self._changes.get(ordinal)
        return generated + tuple(changes.footer) if changes else generated

    def inline_comments(self, ordinal: int) -> tuple[ConfluenceComment, ...]:
        generated: tuple[ConfluenceComment, ...] = ()
        if ordinal < self._generated_content:
            generated = self._comments(ordinal, "inline", self.inline_comment_shape(ordinal))
        changes = self._changes.get(ordinal)
        return generated + tuple(changes.inline) if changes else generated

    def content_comment_count(self, ordinal: int, kind: str) -> int:
        """How many footer (or inline) comments a page or blog post has, replies included."""
        count = 0
        if ordinal < self._generated_content:
            shape = self.footer_comment_shape if kind == "footer" else self.inline_comment_shape
            count = len(shape(ordinal))
        changes = self._changes.get(ordinal)
        if changes:
            count += len(changes.footer if kind == "footer" else changes.inline)
        return count

    def _comments(
        self, ordinal: int, kind: str, shape: tuple[int | None, ...]
    ) -> tuple[ConfluenceComment, ...]:
        container = self.content_meta(ordinal)
        base = FOOTER_COMMENT_ID_BASE if kind == "footer" else INLINE_COMMENT_ID_BASE
        rng = _rng(self.seed, kind, ordinal)
        writer = Writer(rng, self._people)
        comments: list[ConfluenceComment] = []
        moment = container.created_ms
        for k, parent in enumerate(shape):
            moment += int((SITE_END_MS - moment) * rng.random() * 0.3)
            author = rng.choice(self._active)
            comment = ConfluenceComment(
                id=str(base + ordinal * COMMENT_STRIDE + k),
                kind=kind,
                container=container,
                parent_id=None if parent is None else comments[parent].id,
                version=Version(1, moment, author, "", False),
                body=writer.comment(),
            )
            if kind == "inline":
                # A reply belongs to its root's thread: same marker, same resolution.
                root = comments[parent] if parent is not None else None
                status = root.resolution_status if root else rng.choice(_RESOLUTIONS)
                if ordinal == 0 and root is None:
                    status = "open"  # the first homepage always shows a marked selection
                resolved = status in ("resolved", "reopened")
                comment = replace(
                    comment,
                    resolution_status=status,
                    marker_ref=root.marker_ref if root else _uuid(rng),
                    selection=root.selection if root else writer.selection(),
                    resolution_by=rng.choice(self._active) if resolved else None,
                    resolution_ms=moment + rng.randrange(1, _DAY_MS) if resolved else None,
                )
            comments.append(comment)
        return tuple(comments)

    def content_attachment_count(self, ordinal: int) -> int:
        changes = self._changes.get(ordinal)
        added = len(changes.attachments) if changes else 0
        return self._generated_attachment_count(ordinal) + added

    def _generated_attachment_count(self, ordinal: int) -> int:
        if ordinal >= self._generated_content:
            return 0
        if ordinal == 0:
            return 2
        return (0, 0, 1, 1, 2, 3)[_mix(self.seed, _CONTENT_FILES, ordinal) % 6]

    def content_attachment(self, ordinal: int, k: int) -> ConfluenceAttachment:
        generated = self._generated_attachment_count(ordinal)
        if k >= generated:
            return self._changes[ordinal].attachments[k - generated]
        container = self.content_meta(ordinal)
        rng = _rng(self.seed, "confluence-attachment", ordinal, k)
        file = make_file(rng, "" if k == 0 else f" ({k + 1})")
        return ConfluenceAttachment(
            id=f"att{ATTACHMENT_ID_BASE + ordinal * ATTACHMENT_STRIDE + k}",
            container=container,
            filename=file.filename,
            kind=file.kind,
            data=file.data,
            file_id=_uuid(rng),
            created_ms=container.created_ms + int((SITE_END_MS - container.created_ms) * 0.1 * k),
            author=rng.choice(self._active),
            comment="" if rng.random() < 0.6 else Writer(rng, ()).sentence(),
        )

    def content_attachments(self, ordinal: int) -> tuple[ConfluenceAttachment, ...]:
        return tuple(
            self.content_attachment(ordinal, k)
            for k in range(self.content_attachment_count(ordinal))
        )

    def is_restricted(self, ordinal: int) -> bool:
        return ordinal == 1 or _mix(self.seed, _RESTRICTED, ordinal) % 9 == 0

    def restrictions(self, ordinal: int) -> tuple[Restriction, Restriction]:
        """The read and the update restriction of a page or blog post (either may be empty)."""
        changes = self._changes.get(ordinal)
        if changes is not None and changes.restrictions is not None:
            return changes.restrictions
        if ordinal >= self._generated_content or not self.is_restricted(ordinal):
            return Restriction("read", (), ()), Restriction("update", (), ())
        rng = _rng(self.seed, "restrictions", ordinal)
        update = Restriction(
            "update",
            tuple(rng.sample(self._active, rng.randint(1, 2))),
            tuple(rng.sample(self.groups, rng.randint(0, 1))),
        )
        # Some pages only restrict editing; the others restrict viewing too.
        if rng.random() < 0.4 and ordinal != 1:
            return Restriction("read", (), ()), update
        read = Restriction(
            "read",
            tuple(rng.sample(self._active, rng.randint(1, 3))),
            tuple(rng.sample(self.groups, rng.randint(1, 2))),
        )
        return read, update

    # -- writes: Jira -----------------------------------------------------------------------------
    # Each write changes the overlay synchronously (the app serves on one event loop, so a request
    # never sees another's half-done write). A generated issue that a write touches is built once
    # and kept whole in the overlay from then on; untouched ones stay lazy.

    def _own_issue(self, index: int) -> Issue:
        issue = self._issue_overlay.get(index)
        if issue is None:
            issue = self._issues.get(index, self._build_issue)
            self._issue_overlay[index] = issue
        return issue

    def _touch_issue(self, index: int, issue: Issue, moment: int) -> None:
        self._issue_overlay[index] = replace(issue, updated_ms=moment)
        self._updated[index] = moment

    def create_project(
        self, *, key: str, name: str, type_key: str, lead: User, description: str
    ) -> Project:
        if key.upper() in self._projects_by_key:
            raise WriteRefused(
                f"Project '{self._projects_by_key[key.upper()].name}' uses this project key.",
                field="projectKey",
            )
        if any(p.name.lower() == name.lower() for p in self._projects):
            raise WriteRefused("A project with that name already exists.", field="projectName")
        index = len(self._projects)
        project = Project(
            index=index,
            id=str(PROJECT_ID_BASE + index),
            key=key.upper(),
            name=name,
            description=description,
            type_key=type_key,
            uuid=str(uuid.uuid4()),
            lead=lead,
            created_ms=now_ms(),
            first_issue=self._generated_issues,
            issue_count=0,
        )
        self._projects.append(project)
        self._projects_by_key[project.key] = project
        self._projects_by_id[project.id] = project
        self.writes["projects"] += 1
        return project

    def create_issue(
        self,
        *,
        project: Project,
        issue_type: IssueType,
        summary: str,
        description: RichText | None,
        labels: tuple[str, ...],
        priority: Priority,
        security: SecurityLevel | None,
        reporter: User,
        assignee: User | None,
    ) -> Issue:
        """A new issue in the workflow's initial status (To Do)."""
        index = len(self._created)
        number = self._next_number.get(project.index, project.issue_count + 1)
        self._next_number[project.index] = number + 1
        moment = now_ms()
        head = IssueHead(
            index=index,
            id=str(ISSUE_ID_BASE + index),
            key=f"{project.key}-{number}",
            number=number,
            project=project,
            summary=summary,
            issue_type=issue_type,
            status=TO_DO,
            priority=priority,
        )
        issue = Issue(
            head=head,
            description=description,
            labels=labels,
            reporter=reporter,
            assignee=assignee,
            security=security,
            resolution=None,
            resolved_ms=None,
            created_ms=moment,
            updated_ms=moment,
            comments=(),
            attachments=(),
            changelog=(),
            links=(),
        )
        self._created.append(moment)
        self._updated.append(moment)
        self._issue_overlay[index] = issue
        self._issue_project[index] = project.index
        self._issue_numbers[index] = number
        self._project_extra.setdefault(project.index, []).append(index)
        self._created_keys[head.key] = index
        self.writes["issues"] += 1
        return issue

    def transitions_of(self, index: int) -> tuple[str, ...]:
        return WORKFLOW[self.issue_head(index).status.id]

    def transition_issue(self, index: int, transition_id: str, actor: User) -> None:
        if transition_id not in self.transitions_of(index):
            raise WriteRefused(
                f"Transition id '{transition_id}' is not valid for this issue.",
                status=400,
            )
        issue = self._own_issue(index)
        before, after = issue.head.status, TRANSITIONS[transition_id][1]
        moment = now_ms()
        items = [ChangeItem("status", "status", before.id, before.name, after.id, after.name)]
        resolution = RESOLUTIONS.get(after.id)
        if resolution != issue.resolution:
            items.append(
                ChangeItem(
                    "resolution",
                    "resolution",
                    issue.resolution.id if issue.resolution else None,
                    issue.resolution.name if issue.resolution else None,
                    resolution.id if resolution else None,
                    resolution.name if resolution else None,
                )
            )
        history = ChangeHistory(self._new_id(), actor, moment, tuple(items))
        issue = replace(
            issue,
            head=replace(issue.head, status=after),
            resolution=resolution,
            resolved_ms=moment if resolution else None,
            changelog=(*issue.changelog, history),
        )
        self._touch_issue(index, issue, moment)
        self.writes["transitions"] += 1

    def add_jira_comment(
        self, index: int, body: RichText, author: User, visibility_role: str | None
    ) -> JiraComment:
        issue = self._own_issue(index)
        moment = now_ms()
        comment = JiraComment(self._new_id(), author, author, body, moment, moment, visibility_role)
        self._touch_issue(index, replace(issue, comments=(*issue.comments, comment)), moment)
        self.writes["issueComments"] += 1
        return comment

    def link_issues(self, link_type: LinkType, source: int, target: int) -> str:
        """Link `source` to `target` ("source blocks target"); both issues list the link."""
        link_id = self._new_id()
        moment = now_ms()
        for index, other, outward in ((source, target, True), (target, source, False)):
            issue = self._own_issue(index)
            link = IssueLink(link_id, link_type, outward, self.issue_head(other))
            self._touch_issue(index, replace(issue, links=(*issue.links, link)), moment)
        self.writes["issueLinks"] += 1
        return link_id

    def issue_properties(self, index: int) -> dict[str, Any]:
        return self._issue_properties.get(index, {})

    def set_issue_property(self, index: int, key: str, value: Any) -> bool:
        """Set an entity property; True when it is new."""
        properties = self._issue_properties.setdefault(index, {})
        created = key not in properties
        properties[key] = value
        self.writes["issueProperties"] += 1
        return created

    def delete_issue_property(self, index: int, key: str) -> bool:
        properties = self._issue_properties.get(index, {})
        if key not in properties:
            return False
        del properties[key]
        self.writes["issueProperties"] += 1
        return True

    def add_jira_attachment(
        self, index: int, filename: str, kind: FileKind, content: bytes, author: User
    ) -> JiraAttachment:
        issue = self._own_issue(index)
        moment = now_ms()
        attachment = JiraAttachment(self._new_id(), index, filename, kind, content, author, moment)
        self._jira_attachments[attachment.id] = attachment
        issue = replace(issue, attachments=(*issue.attachments, attachment))
        self._touch_issue(index, issue, moment)
        self.writes["issueAttachments"] += 1
        return attachment

    def delete_issue(self, index: int) -> None:
        """Delete an issue with its comments, attachments, links and properties."""
        for attachment in self.issue(index).attachments:
            self._jira_attachments.pop(attachment.id, None)
        self._deleted_issues.add(index)
        self._issue_properties.pop(index, None)
        self._issue_overlay.pop(index, None)
        self.writes["issuesDeleted"] += 1

    # -- writes: Confluence -----------------------------------------------------------------------

    def _own_content(self, ordinal: int) -> ContentChanges:
        return self._changes.setdefault(ordinal, ContentChanges())

    def create_space(self, *, key: str, name: str, description: str, author: User) -> Space:
        """A new global space with its homepage (titled like the space), as Confluence makes."""
        if any(s.key.upper() == key.upper() for s in self._spaces):
            raise WriteRefused(f"A space with key {key} already exists.", field="key")
        index = len(self._spaces)
        space = Space(
            index=index,
            id=str(SPACE_ID_BASE + index),
            key=key,
            name=name,
            type="global",
            description=description,
            author=author,
            created_ms=now_ms(),
            first_page=self.page_count,
            page_count=0,
            first_blogpost=self.blogpost_count,
            blogpost_count=0,
            order_multiplier=1,
        )
        self._spaces.append(space)
        self._spaces_by_id[space.id] = space
        self._titles[space.id] = {}
        homepage = self.create_content(
            kind="page", space=space, title=name, parent_id=None, body=StorageText(""),
            author=author, draft=False, private=False,
        )  # fmt: skip
        space = replace(space, created_homepage_id=homepage.id)
        self._spaces[index] = self._spaces_by_id[space.id] = space
        self._own_content(homepage.ordinal).meta = replace(homepage, space=space)
        self.writes["spaces"] += 1
        return space

    def _title_index(self, space: Space) -> dict[str, int]:
        """Titles of a space's published pages (built on the first write that needs it)."""
        titles = self._titles.get(space.id)
        if titles is None:
            titles = {self.content_meta(o).title: o for o in self.space_content(space, "page")}
            self._titles[space.id] = titles
        return titles

    def _claim_title(self, space: Space, title: str, ordinal: int) -> None:
        titles = self._title_index(space)
        holder = titles.get(title)
        if holder is not None and holder != ordinal:
            raise WriteRefused(
                "A page with this title already exists: A page already exists with the same "
                f"TITLE in this space (title: {title}).",
                field="title",
            )
        titles[title] = ordinal

    def create_content(
        self,
        *,
        kind: str,
        space: Space,
        title: str,
        parent_id: str | None,
        body: RichText,
        author: User,
        draft: bool,
        private: bool,
    ) -> ContentMeta:
        """A new page or blog post; a draft is not listed and holds no title until published."""
        ordinal = self._content_total
        if kind == "page" and not draft:
            self._claim_title(space, title, ordinal)
        moment = now_ms()
        content_id = str(CREATED_CONTENT_ID_BASE + ordinal - self._generated_content)
        meta = ContentMeta(
            ordinal=ordinal,
            kind=kind,
            id=content_id,
            space=space,
            title=title,
            parent_id=parent_id,
            position=None,
            author=author,
            created_ms=moment,
            version=Version(1, moment, author, "", False),
        )
        self._content_total += 1
        self._content_ids[content_id] = ordinal
        self._space_extra.setdefault(space.id, []).append(ordinal)
        changes = self._own_content(ordinal)
        changes.meta, changes.body, changes.draft = meta, body, draft
        if private:  # only its creator sees and edits it
            changes.restrictions = (
                Restriction("read", (author,), ()),
                Restriction("update", (author,), ()),
            )
        self.writes["pages" if kind == "page" else "blogposts"] += 1
        return meta

    def update_content(
        self,
        ordinal: int,
        *,
        title: str,
        body: RichText | None,
        draft: bool,
        version: int,
        message: str,
        parent_id: str | None,
        author: User,
    ) -> ContentMeta:
        """A new version (or the first published one, when a draft is published)."""
        meta = self.content_meta(ordinal)
        was_draft = self.is_draft(ordinal)
        expected = (1, meta.version.number + 1) if was_draft else (meta.version.number + 1,)
        if version not in expected:
            raise WriteRefused(
                f"Version must be incremented when updating a page. Current version is: "
                f"{meta.version.number}",
                status=409,
            )
        if meta.kind == "page" and not draft:
            if not was_draft and meta.title != title:
                self._title_index(meta.space).pop(meta.title, None)
            self._claim_title(meta.space, title, ordinal)
        moment = now_ms()
        number = 1 if was_draft and not draft else version
        changes = self._own_content(ordinal)
        changes.meta = replace(
            meta,
            title=title,
            parent_id=parent_id if parent_id is not None else meta.parent_id,
            version=Version(number, moment, author, message, False),
        )
        if body is not None:
            changes.body = body
        changes.draft = draft
        self.writes["pageUpdates"] += 1
        return changes.meta

    def delete_content(self, ordinal: int) -> None:
        """Delete a page or blog post with its comments and attachments; children move up."""
        meta = self.content_meta(ordinal)
        if meta.kind == "page" and not self.is_draft(ordinal):
            titles = self._title_index(meta.space)
            if titles.get(meta.title) == ordinal:
                del titles[meta.title]
            for child in list(self.space_content(meta.space, "page")):
                child_meta = self.content_meta(child)
                if child_meta.parent_id == meta.id:
                    self._own_content(child).meta = replace(child_meta, parent_id=meta.parent_id)
        self._deleted_content.add(ordinal)
        self.writes["pagesDeleted" if meta.kind == "page" else "blogpostsDeleted"] += 1

    def add_confluence_comment(
        self,
        ordinal: int,
        *,
        kind: str,
        body: RichText,
        author: User,
        parent: ConfluenceComment | None,
        selection: str | None,
    ) -> ConfluenceComment:
        moment = now_ms()
        comment = ConfluenceComment(
            id=self._new_id(),
            kind=kind,
            container=self.content_meta(ordinal),
            parent_id=parent.id if parent else None,
            version=Version(1, moment, author, "", False),
            body=body,
        )
        if kind == "inline":
            comment = replace(
                comment,
                resolution_status=parent.resolution_status if parent else "open",
                marker_ref=parent.marker_ref if parent else str(uuid.uuid4()),
                selection=parent.selection if parent else selection,
            )
        changes = self._own_content(ordinal)
        (changes.footer if kind == "footer" else changes.inline).append(comment)
        self.writes[f"{kind}Comments"] += 1
        return comment

    def find_comment(self, comment_id: str, kind: str) -> tuple[int, ConfluenceComment] | None:
        """A comment clients wrote (replies are only made to those or to generated ones)."""
        if comment_id.isdigit():
            base = FOOTER_COMMENT_ID_BASE if kind == "footer" else INLINE_COMMENT_ID_BASE
            ordinal = (int(comment_id) - base) // COMMENT_STRIDE
            if 0 <= ordinal < self._generated_content and self.content_exists(ordinal):
                comments = self.footer_comments if kind == "footer" else self.inline_comments
                found = [c for c in comments(ordinal) if c.id == comment_id]
                if found:
                    return ordinal, found[0]
        for ordinal, changes in self._changes.items():
            for comment in changes.footer if kind == "footer" else changes.inline:
                if comment.id == comment_id and self.content_exists(ordinal):
                    return ordinal, comment
        return None

    def label_named(self, prefix: str, name: str) -> Label:
        """The site's label of this prefix and name, made when first used."""
        for label in self._labels:
            if label.name == name and label.prefix == prefix:
                return label
        label = Label(str(LABEL_ID_BASE + len(self._labels)), name, prefix)
        self._labels.append(label)
        self._labels_by_id[label.id] = label
        return label

    def add_labels(self, ordinal: int, labels: Sequence[Label]) -> None:
        present = set(self.labels_of(ordinal))
        changes = self._own_content(ordinal)
        for label in labels:
            if label not in present:
                changes.labels.append(label)
                present.add(label)
        self.writes["labels"] += 1

    def set_restrictions(self, ordinal: int, read: Restriction, update: Restriction) -> None:
        self._own_content(ordinal).restrictions = (read, update)
        self.writes["restrictions"] += 1

    def add_confluence_attachment(
        self,
        ordinal: int,
        *,
        filename: str,
        kind: FileKind,
        content: bytes,
        comment: str,
        author: User,
    ) -> ConfluenceAttachment:
        for existing in (
            self.content_attachment(ordinal, k)
            for k in range(self.content_attachment_count(ordinal))
        ):
            if existing.filename == filename:
                raise WriteRefused(
                    f"Cannot add a new attachment with same file name as an existing attachment: "
                    f"{filename}",
                    field="file",
                )
        attachment = ConfluenceAttachment(
            id=f"att{self._new_id()}",
            container=self.content_meta(ordinal),
            filename=filename,
            kind=kind,
            data=content,
            file_id=str(uuid.uuid4()),
            created_ms=now_ms(),
            author=author,
            comment=comment,
        )
        self._own_content(ordinal).attachments.append(attachment)
        self.writes["attachments"] += 1
        return attachment

    def content_properties(self, ordinal: int) -> list[ContentProperty]:
        changes = self._changes.get(ordinal)
        return list(changes.properties.values()) if changes else []

    def add_content_property(
        self, ordinal: int, key: str, value: Any, author: User
    ) -> ContentProperty:
        changes = self._own_content(ordinal)
        if key in changes.properties:
            raise WriteRefused(
                f"Cannot create property with key {key}: a property with this key already "
                "exists on the content.",
                field="key",
            )
        prop = ContentProperty(self._new_id(), key, value, Version(1, now_ms(), author, "", False))
        changes.properties[key] = prop
        self.writes["contentProperties"] += 1
        return prop


def _order_multiplier(seed: int, space_index: int, count: int) -> int:
    """A step coprime with `count`: listing by id then visits the tree out of order."""
    h = _mix(seed, _ORDER, space_index)
    if count < 4 or h % 3 == 0:
        return 1
    candidate = 2 + (h >> 2) % (count - 2)
    while gcd(candidate, count) != 1:
        candidate += 1
    return candidate


def _issue_times(seed: int, projects: Sequence[Project]) -> tuple[array[int], array[int]]:
    """Creation and last-update instants of every issue, increasing with the issue number."""
    rng = _rng(seed, "issue-times")
    created, updated = array("q"), array("q")
    recent = 14 * _DAY_MS
    for project in projects:
        step = (SITE_END_MS - _DAY_MS - project.created_ms) / max(project.issue_count, 1)
        for n in range(project.issue_count):
            born = project.created_ms + int((n + 0.9 * rng.random()) * step)
            roll = rng.random()
            if roll < 0.5:
                changed = born + int(rng.random() * 3 * _DAY_MS)
            elif roll < 0.8:
                changed = born + int(rng.random() * 120 * _DAY_MS)
            else:  # recent activity, so that "updated since" queries find something
                changed = SITE_END_MS - int(rng.random() * recent)
            created.append(born)
            updated.append(max(born, min(changed, SITE_END_MS)))
    return created, updated


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc_millis(ms: int) -> str:
    """2025-03-14T09:26:53.123, from milliseconds since the epoch, in exact integer arithmetic."""
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")[:-6]


def jira_time(ms: int) -> str:
    """Jira's timestamp format: 2025-03-14T09:26:53.123+0000."""
    return _utc_millis(ms) + "+0000"


def confluence_time(ms: int) -> str:
    """Confluence's timestamp format: 2025-03-14T09:26:53.123Z."""
    return _utc_millis(ms) + "Z"
