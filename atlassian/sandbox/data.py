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
"""

from __future__ import annotations

import random
import threading
import uuid
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import pairwise
from math import gcd
from typing import Generic, TypeVar

from atlassian.sandbox.content import (
    Document,
    FileKind,
    Person,
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
    body: Document
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
    description: Document | None
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

    @property
    def homepage_id(self) -> str | None:
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
    body: Document
    labels: tuple[Label, ...]


@dataclass(frozen=True)
class ConfluenceComment:
    id: str
    kind: str  # "footer" or "inline"
    container: ContentMeta
    parent_id: str | None  # replies name the comment they answer
    version: Version  # number 1's author is the comment's author
    body: Document
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
        self.projects = projects
        self.spaces = spaces
        self.labels = labels
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
        self._metas: _Memo[int, ContentMeta] = _Memo(4096)

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
        return next((u for u in self.users if u.account_id == account_id), None)

    # -- Jira -------------------------------------------------------------------------------------

    @property
    def issue_count(self) -> int:
        return len(self._created)

    def project_by_key(self, key: str) -> Project | None:
        return self._projects_by_key.get(key.upper())

    def project_by_id(self, project_id: str) -> Project | None:
        return self._projects_by_id.get(project_id)

    def project_of(self, index: int) -> Project:
        return self.projects[bisect_right(self._project_starts, index) - 1]

    def issue_created_ms(self, index: int) -> int:
        return self._created[index]

    def issue_updated_ms(self, index: int) -> int:
        return self._updated[index]

    def issue_index(self, id_or_key: str) -> int | None:
        """The index of an issue named by id ("10042") or key ("ENG-7", any case)."""
        text = id_or_key.strip()
        if text.isdigit():
            index = int(text) - ISSUE_ID_BASE
            return index if 0 <= index < self.issue_count else None
        key, _, number = text.upper().rpartition("-")
        project = self._projects_by_key.get(key)
        if project is None or not number.isdigit():
            return None
        n = int(number)
        return project.first_issue + n - 1 if 1 <= n <= project.issue_count else None

    def issue_head(self, index: int) -> IssueHead:
        return self._heads.get(index, self._build_head)

    def issue(self, index: int) -> Issue:
        return self._issues.get(index, self._build_issue)

    def comment_count(self, index: int) -> int:
        if index % 50 == 3:
            return 0
        h = _mix(self.seed, _COMMENTS, index)
        if index % 50 == 7 or (self.issue_count <= 7 and index == self.issue_count - 1):
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
        if not attachment_id.isdigit():
            return None
        number = int(attachment_id) - JIRA_ATTACHMENT_ID_BASE
        index, k = divmod(number, JIRA_ATTACHMENT_STRIDE)
        if number < 0 or index >= self.issue_count or k >= self.attachment_count(index):
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
        changelog = self.changelog(index)
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
        for source in range(index + 1, min(index + MAX_LINK_DISTANCE, self.issue_count - 1) + 1):
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
        """Pages and blog posts together; ordinals below `page_count` are pages."""
        return self.page_count + self.blogpost_count

    def space_by_id(self, space_id: str) -> Space | None:
        return self._spaces_by_id.get(space_id)

    def label_by_id(self, label_id: str) -> Label | None:
        return self._labels_by_id.get(label_id)

    def content_ordinal(self, content_id: str) -> int | None:
        """The ordinal of the page or blog post with this id."""
        if not content_id.isdigit():
            return None
        number = int(content_id)
        if PAGE_ID_BASE <= number < PAGE_ID_BASE + self.page_count:
            return number - PAGE_ID_BASE
        if BLOGPOST_ID_BASE <= number < BLOGPOST_ID_BASE + self.blogpost_count:
            return self.page_count + number - BLOGPOST_ID_BASE
        return None

    def page_ordinal(self, space: Space, position: int) -> int:
        """The ordinal of the page at listing position `position` of a space."""
        return space.first_page + position

    def blogpost_ordinal(self, space: Space, position: int) -> int:
        return self.page_count + space.first_blogpost + position

    def content_meta(self, ordinal: int) -> ContentMeta:
        return self._metas.get(ordinal, self._build_meta)

    def content(self, ordinal: int) -> Content:
        meta = self.content_meta(ordinal)
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
        h = _mix(self.seed, _LABELS, ordinal)
        count = (0, 0, 1, 1, 2, 3)[h % 6]
        chosen: list[Label] = []
        for n in range(count):
            label = self.labels[_mix(h, n) % len(self.labels)]
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
        return self._comments(ordinal, "footer", self.footer_comment_shape(ordinal))

    def inline_comments(self, ordinal: int) -> tuple[ConfluenceComment, ...]:
        return self._comments(ordinal, "inline", self.inline_comment_shape(ordinal))

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
        if ordinal == 0:
            return 2
        return (0, 0, 1, 1, 2, 3)[_mix(self.seed, _CONTENT_FILES, ordinal) % 6]

    def content_attachment(self, ordinal: int, k: int) -> ConfluenceAttachment:
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
        if not self.is_restricted(ordinal):
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


def jira_time(ms: int) -> str:
    """Jira's timestamp format: 2025-03-14T09:26:53.123+0000."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def confluence_time(ms: int) -> str:
    """Confluence's timestamp format: 2025-03-14T09:26:53.123Z."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
