"""A restore as a recorded job: its row, its id map file, and the estimates of its preview."""

import json
import stat

from jobs import restore, restore_job
from policy.statuses import RestoreStatus
from storage.models import Restore

from .conftest import SitesFactory


def test_a_restore_run_is_recorded_and_its_id_map_written_owner_only(sites: SitesFactory) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    plan = restore.preview(site.context, backup_id, target="dst-jira")
    queued = restore_job.queue(site.context, plan, requested_by="alice@example.com")
    assert queued.status is RestoreStatus.QUEUED

    result = restore_job.execute(site.context, queued.id, plan)

    with site.context.sessions() as session:
        row = session.get_one(Restore, queued.id)
        assert row.status is RestoreStatus.COMPLETED
        assert row.items_restored == result.items_restored() > 0
        assert row.started_at is not None and row.finished_at is not None
        assert row.id_map_path is not None
    map_file = site.context.environment.data_dir / "restores" / queued.id / "id-map.json"
    assert row.id_map_path == str(map_file)
    document = json.loads(map_file.read_text())
    assert document["ids"] == result.id_map and document["keys"] == result.key_map
    assert stat.S_IMODE(map_file.stat().st_mode) == 0o600


def test_the_estimate_uses_measured_throughput_once_a_restore_of_that_app_finished(
    sites: SitesFactory,
) -> None:
    site = sites()
    backup_id = site.backup("src-jira")
    plan = restore.preview(site.context, backup_id, target="dst-jira")
    before = restore_job.estimates(site.context, plan)
    assert "no restore measured here yet" in before.own.describe()
    assert before.reference.describe().startswith("Atlassian's reference objective: RTO 12 hours")

    queued = restore_job.queue(site.context, plan, requested_by=None)
    restore_job.execute(site.context, queued.id, plan)

    after = restore_job.estimates(site.context, plan)
    assert "measured here" in after.own.describe()
