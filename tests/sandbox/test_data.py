"""The site content: deterministic, of the asked size, and varied where backups get hard."""

import time
import tracemalloc
from collections import Counter

import pytest

from sandbox.data import SiteData


def _fingerprint(site: SiteData) -> list[object]:
    """Enough of a site to tell two sites apart: users, issues, pages, bodies and file bytes."""
    issues = [site.issue(i) for i in range(0, site.issue_count, 7)]
    contents = [site.content(o) for o in range(0, site.content_count, 5)]
    return [
        site.users,
        site.projects,
        site.spaces,
        issues,
        contents,
        [site.content_attachments(o) for o in range(0, site.content_count, 5)],
        [site.restrictions(o) for o in range(site.content_count)],
    ]


def test_the_same_seed_gives_the_same_site():
    first = SiteData.generate(5, projects=2, issues=60, spaces=2, pages=20)
    again = SiteData.generate(5, projects=2, issues=60, spaces=2, pages=20)
    assert _fingerprint(first) == _fingerprint(again)


def test_another_seed_gives_another_site():
    first = SiteData.generate(5, projects=2, issues=60, spaces=2, pages=20)
    other = SiteData.generate(6, projects=2, issues=60, spaces=2, pages=20)
    assert [u.account_id for u in first.users] != [u.account_id for u in other.users]
    assert [first.issue_head(i).summary for i in range(60)] != [
        other.issue_head(i).summary for i in range(60)
    ]


def test_counts_are_totals_for_the_site():
    site = SiteData.generate(3, projects=4, issues=101, spaces=3, pages=50, blogposts=7)
    assert site.issue_count == sum(p.issue_count for p in site.projects) == 101
    assert site.page_count == sum(s.page_count for s in site.spaces) == 50
    assert site.blogpost_count == sum(s.blogpost_count for s in site.spaces) == 7
    assert all(p.issue_count for p in site.projects)
    assert all(s.page_count for s in site.spaces)
    assert len({p.issue_count for p in site.projects}) > 1  # spread unevenly, as real sites are


def test_blog_posts_default_to_one_for_every_five_pages():
    assert SiteData.generate(1, spaces=2, pages=23).blogpost_count == 4


def test_an_empty_site_has_users_and_nothing_else():
    site = SiteData.empty(9)
    assert site.users
    assert (site.projects, site.spaces, site.labels) == ((), (), ())
    assert site.issue_count == site.content_count == 0


@pytest.mark.parametrize(
    "counts",
    [
        {"issues": -1},
        {"projects": 0, "issues": 5},
        {"spaces": 0, "pages": 3},
        {"spaces": 0, "pages": 0, "blogposts": 2},
    ],
)
def test_impossible_counts_are_refused(counts):
    with pytest.raises(ValueError):
        SiteData.generate(1, **counts)


def test_a_hundred_thousand_issues_take_little_time_and_memory():
    tracemalloc.start()
    started = time.perf_counter()
    site = SiteData.generate(2, projects=20, issues=100_000, spaces=4, pages=5_000)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 5
    assert peak < 20_000_000
    last = site.issue(99_999)
    assert last.key == f"{site.projects[-1].key}-{site.projects[-1].issue_count}"


def test_users_look_like_atlassian_accounts(site):
    ids = [u.account_id for u in site.users]
    assert any(i.startswith("557058:") for i in ids)
    assert any(len(i) == 24 and ":" not in i for i in ids)
    assert any(not u.display_name.isascii() for u in site.users)
    assert all(u.email for u in site.users if u.account_type == "atlassian")
    assert any(u.account_type == "app" and u.email is None for u in site.users)
    assert any(not u.active for u in site.users)


def test_some_issues_have_more_than_twenty_comments_and_some_none(site):
    counts = [len(site.issue(i).comments) for i in range(site.issue_count)]
    assert any(n > 20 for n in counts)
    assert 0 in counts
    assert len({c.author for i in range(10) for c in site.issue(i).comments}) > 2


def test_issues_vary_as_real_ones_do(site):
    issues = [site.issue(i) for i in range(site.issue_count)]
    assert len({i.head.status.name for i in issues}) >= 4
    assert len({i.head.issue_type.name for i in issues}) >= 3
    assert len({i.head.priority.name for i in issues}) >= 3
    assert any(i.security for i in issues) and any(not i.security for i in issues)
    assert any(i.description is None for i in issues)
    assert any(i.assignee is None for i in issues)
    assert any(i.labels for i in issues)
    assert any(not i.head.summary.isascii() for i in issues)
    kinds = {a.kind.media_type for i in issues for a in i.attachments}
    assert {"image/png", "application/pdf", "text/plain"} <= kinds


def test_issue_links_are_listed_at_both_ends(site):
    outward = Counter()
    inward = Counter()
    for i in range(site.issue_count):
        for link in site.issue(i).links:
            ends = (site.issue_head(i).key, link.other.key)
            (outward if link.outward else inward)[
                (link.id, *(ends if link.outward else ends[::-1]))
            ] += 1
    assert outward
    assert outward == inward


def test_the_changelog_ends_in_the_current_status(site):
    for i in range(site.issue_count):
        issue = site.issue(i)
        moves = [item for h in issue.changelog for item in h.items if item.field == "status"]
        if moves:
            assert moves[-1].to_string == issue.head.status.name
        times = [h.created_ms for h in issue.changelog]
        assert times == sorted(times)
        assert all(issue.created_ms <= t <= issue.updated_ms for t in times)


def test_attachments_are_real_files_of_their_media_type(site):
    signatures = {"image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-"}
    for i in range(site.issue_count):
        for attachment in site.issue(i).attachments:
            assert 0 < len(attachment.data) < 16_000
            assert attachment.data.startswith(signatures.get(attachment.kind.media_type, b""))
            assert attachment.filename.endswith("." + attachment.kind.extension)


def test_page_trees_are_at_least_three_levels_deep(site):
    for space in site.spaces:
        parents = {}
        for r in range(space.page_count):
            meta = site.content_meta(site.page_ordinal(space, r))
            parents[meta.id] = meta.parent_id

        def depth(page_id, parents=parents):
            return 1 if parents[page_id] is None else 1 + depth(parents[page_id])

        assert [p for p, parent in parents.items() if parent is None] == [space.homepage_id]
        assert max(depth(p) for p in parents) >= 3


def test_some_children_are_listed_before_their_parents(site):
    order = {site.content_meta(o).id: o for o in range(site.page_count)}
    assert any(
        order[meta.parent_id] > order[meta.id]
        for meta in map(site.content_meta, range(site.page_count))
        if meta.parent_id
    )


def test_titles_are_unique_within_a_space(site):
    for space in site.spaces:
        titles = [site.content_meta(space.first_page + r).title for r in range(space.page_count)]
        assert len(set(titles)) == len(titles)


def test_some_pages_are_restricted_to_users_and_groups(site):
    restricted = [o for o in range(site.content_count) if site.is_restricted(o)]
    assert 1 in restricted
    assert len(restricted) < site.content_count
    read, update = site.restrictions(1)
    assert read.users and read.groups and update.users
    unrestricted = next(o for o in range(site.content_count) if not site.is_restricted(o))
    assert site.restrictions(unrestricted)[0].users == ()


def test_inline_comments_are_anchored_in_the_page_body(site):
    anchored = dangling = 0
    for ordinal in range(site.content_count):
        storage = site.content(ordinal).body.to_storage()
        for comment in site.inline_comments(ordinal):
            marker = f'ac:ref="{comment.marker_ref}"'
            if comment.resolution_status == "dangling":
                assert marker not in storage
                dangling += 1
            else:
                assert marker in storage
                anchored += 1
    assert anchored and dangling


def test_footer_comments_include_replies_on_the_same_page(site):
    replies = 0
    for ordinal in range(site.content_count):
        comments = site.footer_comments(ordinal)
        ids = {c.id for c in comments}
        for comment in comments:
            if comment.parent_id:
                assert comment.parent_id in ids
                replies += 1
    assert replies


def test_pages_carry_labels_and_bodies_with_unicode(site):
    assert any(site.labels_of(o) for o in range(site.content_count))
    assert any(not site.content(o).body.plain_text().isascii() for o in range(10))
