"""Restoring Confluence backups between two in-process sandbox sites: the tree, restrictions
before visibility, existing spaces skipped, single pages, and re-runs that write nothing."""

from atlassian_cloud.restore_plan import RestoreScope
from jobs import restore
from policy.statuses import RestoreStatus
from sandbox.data import SiteData

from .conftest import SEED, SOURCE, TARGET, Sites, SitesFactory


def space_pages(sites: Sites, origin: str, key: str) -> dict[str, dict]:
    spaces = sites.call(origin, "GET", "/wiki/api/v2/spaces", params={"keys": key}).json()
    space_id = spaces["results"][0]["id"]
    listed = sites.call(
        origin, "GET", f"/wiki/api/v2/spaces/{space_id}/pages", params={"limit": 250}
    ).json()
    return {page["title"]: page for page in listed["results"]}


def restrictions_of(sites: Sites, origin: str, content_id: str) -> dict[str, list[str]]:
    answer = sites.call(
        origin, "GET", f"/wiki/rest/api/content/{content_id}/restriction/byOperation"
    ).json()
    return {
        operation: sorted(
            u["accountId"] for u in answer[operation]["restrictions"]["user"]["results"]
        )
        for operation in ("read", "update")
    }


def test_a_whole_backup_restored_into_an_empty_site_has_no_difference(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-wiki")
    plan = restore.preview(site.context, backup_id, target="dst-wiki")
    assert plan.counts["spaces"].create == 2 and plan.counts["pages"].create == 12
    assert site.router.writes_to(TARGET) == []

    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.COMPLETED, result.failed
    assert restore.verify(site.context, plan, result) == []


def test_the_page_tree_is_kept(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-wiki")
    restore.run(site.context, restore.preview(site.context, backup_id, target="dst-wiki"))

    before, after = space_pages(site, SOURCE, "DOCS"), space_pages(site, TARGET, "DOCS")
    by_id = {page["id"]: title for title, page in before.items()}
    after_by_id = {page["id"]: title for title, page in after.items()}
    for title, page in before.items():
        parent = by_id.get(page.get("parentId"))
        assert after_by_id.get(after[title].get("parentId")) == parent, title


def test_a_restricted_page_is_restored_with_its_restrictions(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-wiki")
    plan = restore.preview(site.context, backup_id, target="dst-wiki")
    restricted = [item for item in plan.items if item.restricted]
    assert restricted, "the seeded site restricts some pages"

    result = restore.run(site.context, plan)

    for item in restricted:
        expected = restrictions_of(site, SOURCE, item.source_id)
        assert restrictions_of(site, TARGET, result.id_map[item.source_id]) == expected


def test_a_page_whose_restrictions_cannot_be_applied_is_not_published(
    sites: SitesFactory,
) -> None:
    # Another organization's people: the restrictions name accounts the target does not know.
    site = sites(target=SiteData.empty(SEED + 1))
    backup_id = site.backup("src-wiki")
    plan = restore.preview(site.context, backup_id, target="dst-wiki")
    restricted = {item.source_id: item.label for item in plan.items if item.restricted}

    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.INCOMPLETE
    failed = {f.source_id for f in result.failed if "restrictions could not be applied" in f.reason}
    assert failed == set(restricted)
    published = set(space_pages(site, TARGET, "DOCS")) | set(space_pages(site, TARGET, "TEAM"))
    assert not published & set(restricted.values())


def test_an_existing_space_is_skipped_and_nothing_is_written(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-wiki")
    plan = restore.preview(site.context, backup_id, target="src-wiki")
    assert plan.counts["spaces"].skip == 2 and plan.counts["pages"].create == 0
    assert any("already exists" in note for note in plan.notes)

    restore.run(site.context, plan)

    assert site.router.writes_to(SOURCE) == []


def test_one_space_is_restored_alone(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-wiki")
    plan = restore.preview(
        site.context, backup_id, target="dst-wiki", scope=RestoreScope("space", "TEAM")
    )
    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.COMPLETED, result.failed
    assert restore.verify(site.context, plan, result) == []
    spaces = site.call(TARGET, "GET", "/wiki/api/v2/spaces").json()["results"]
    assert [space["key"] for space in spaces] == ["TEAM"]


def test_a_deleted_page_comes_back_under_its_original_parent(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-wiki", "copies")
    pages = space_pages(site, SOURCE, "DOCS")
    child = next(page for page in pages.values() if page.get("parentId"))
    site.call(SOURCE, "DELETE", f"/wiki/api/v2/pages/{child['id']}")

    plan = restore.preview(site.context, backup_id, scope=RestoreScope("page", child["id"]))
    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.COMPLETED, result.failed
    assert restore.verify(site.context, plan, result) == []
    restored = space_pages(site, SOURCE, "DOCS")[child["title"]]
    assert restored["parentId"] == child["parentId"]


def test_re_running_a_finished_restore_writes_nothing(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-wiki")
    restore.run(site.context, restore.preview(site.context, backup_id, target="dst-wiki"))
    writes = len(site.router.writes_to(TARGET))

    plan = restore.preview(site.context, backup_id, target="dst-wiki")
    again = restore.run(site.context, plan)

    assert again.status is RestoreStatus.COMPLETED and again.created == {}
    assert len(site.router.writes_to(TARGET)) == writes
    assert restore.verify(site.context, plan, again) == []


def test_re_running_recognises_its_spaces_and_pages_even_where_titles_repeat(
    sites: SitesFactory,
) -> None:
    # A larger site: blog posts share titles with pages, and each space's homepage has the
    # title of the homepage the target makes for a new space.
    site = sites(
        source=SiteData.generate(1, projects=1, issues=3, spaces=2, pages=40),
        target=SiteData.empty(1),  # the same people, so restrictions can name them
    )
    backup_id = site.backup("src-wiki")
    first = restore.run(site.context, restore.preview(site.context, backup_id, target="dst-wiki"))
    assert first.status is RestoreStatus.COMPLETED, first.failed
    writes = len(site.router.writes_to(TARGET))

    plan = restore.preview(site.context, backup_id, target="dst-wiki")
    assert all(c.decision != "skip" for c in plan.containers), plan.notes
    assert all(tally.conflict == 0 for tally in plan.counts.values()), plan.notes
    again = restore.run(site.context, plan)

    assert again.status is RestoreStatus.COMPLETED, again.failed
    assert again.created == {}
    assert len(site.router.writes_to(TARGET)) == writes


def test_a_space_that_exists_is_skipped_without_making_the_restore_incomplete(
    sites: SitesFactory,
) -> None:
    site = sites(target=SiteData.generate(SEED, projects=1, issues=1, spaces=2, pages=4))
    backup_id = site.backup("src-wiki")
    plan = restore.preview(site.context, backup_id, target="dst-wiki")
    assert {c.decision for c in plan.containers} == {"skip"}
    result = restore.run(site.context, plan)
    assert result.status is RestoreStatus.COMPLETED, result.failed
    assert result.created == {}
    assert result.skipped.get("page", 0) == plan.counts["pages"].skip > 0


def test_a_personal_space_missing_from_the_target_is_reported_in_the_preview_not_attempted(
    sites: SitesFactory,
) -> None:
    # Seed 42 with ten spaces holds a personal space (~accountid); only its owner can make it.
    site = sites(
        source=SiteData.generate(42, projects=1, issues=3, spaces=10, pages=40),
        target=SiteData.empty(42),
    )
    backup_id = site.backup("src-wiki")
    plan = restore.preview(site.context, backup_id, target="dst-wiki")
    personal = [c for c in plan.containers if c.key.startswith("~")]
    assert personal and all(c.decision == "skip" for c in personal)
    assert all("personal space" in c.reason for c in personal)
    in_personal = [i for i in plan.items if i.container.startswith("~")]
    assert in_personal and all(i.action == "conflict" for i in in_personal)

    result = restore.run(site.context, plan)

    assert result.status is RestoreStatus.INCOMPLETE
    assert {f.source_id for f in result.failed} == {i.source_id for i in in_personal}
    posts = [w for w in site.router.writes_to(TARGET) if w.url.path.endswith("/api/v2/spaces")]
    assert len(posts) == len(plan.containers) - len(personal)
