"""A restore as a recorded job: its row (Queued -> In Progress -> an ending), its heartbeat,
its old -> new id map on disk, and the recovery-time estimates shown with its preview.

`jobs.restore` plans, executes and verifies; this module is what the CLI and the Slack
approval flow call around it, so both record restores the same way and every finished restore
adds to this deployment's measured restore throughput.
"""

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from atlassian_cloud.importer import RestoreResult
from atlassian_cloud.restore_plan import RestorePlan
from jobs import restore
from jobs.context import JobContext
from jobs.heartbeat import Heartbeat
from policy.estimates import RestoreEstimate, estimate_restore
from policy.objectives import ReferenceObjectives, reference_objectives
from storage import restores
from storage.models import Restore

# Used for the estimate when the target advertised no rate limit while it was planned:
# a cautious figure for an Atlassian Cloud site shared with its users.
ASSUMED_RATE_LIMIT = 10.0


@dataclass(frozen=True)
class Estimates:
    reference: ReferenceObjectives  # Atlassian's reference objective, by size
    own: RestoreEstimate  # this deployment's estimate

    def describe(self) -> str:
        return f"{self.reference.describe()}; {self.own.describe()}"


def estimates(context: JobContext, plan: RestorePlan) -> Estimates:
    attachment_bytes = sum(a.size or 0 for a in plan.attachments)
    with context.sessions() as session:
        history = restores.restore_throughput(session, plan.product)
    items = sum(tally.create for tally in plan.counts.values())
    own = estimate_restore(
        items=items,
        bytes_=plan.data_bytes + attachment_bytes,
        requests=plan.requests,
        rate_limit_per_second=plan.rate_limit or ASSUMED_RATE_LIMIT,
        history=history,
    )
    return Estimates(reference_objectives(plan.product, plan.data_bytes, attachment_bytes), own)


def queue(
    context: JobContext,
    plan: RestorePlan,
    *,
    requested_by: str | None,
    approved_by: str | None = None,
    restore_id: str | None = None,
) -> Restore:
    """The `Queued` row of a restore of `plan`; RestoreAlreadyActive if the target is busy."""
    with context.sessions.begin() as session:
        return restores.queue_restore(
            session,
            plan.backup_id,
            plan.target_site,
            context.clock(),
            scope=None if plan.scope.kind is None else plan.scope.describe(),
            requested_by=requested_by,
            approved_by=approved_by,
            restore_id=restore_id,
        )


def execute(
    context: JobContext,
    restore_id: str,
    plan: RestorePlan,
    progress: restore.ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RestoreResult:
    """Run the queued restore `restore_id` as planned, recording how it went."""
    with context.sessions.begin() as session:
        row = session.get_one(Restore, restore_id)
        restores.start_restore(row, context.clock())
    with Heartbeat(context, restore_id, beat=restores.beat):
        result = restore.run(context, plan, progress, cancel)
    map_path = write_id_map(context, restore_id, plan, result)
    with context.sessions.begin() as session:
        row = session.get_one(Restore, restore_id)
        restores.finish_restore(
            row,
            context.clock(),
            status=result.status,
            items_restored=result.items_restored(),
            bytes_restored=plan.data_bytes + result.uploaded_bytes,
            item_counts=dict(result.created) or None,
            id_map_path=str(map_path),
            error=result.error,
        )
    return result


def write_id_map(
    context: JobContext, restore_id: str, plan: RestorePlan, result: RestoreResult
) -> Path:
    """`<data dir>/restores/<id>/id-map.json`: every old id and key with its new one, owner-only
    (it names the items of a site), written atomically."""
    folder = context.environment.data_dir / "restores" / restore_id
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "id-map.json"
    document = {
        "restore": restore_id,
        "backup": plan.backup_id,
        "from": plan.source_site,
        "to": plan.target_site,
        "status": str(result.status),
        "ids": result.id_map,
        "keys": result.key_map,
    }
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=1, sort_keys=True)
        stream.flush()
        os.fsync(stream.fileno())
    temporary.replace(path)
    return path
