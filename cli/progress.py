"""What the operator commands show while and after they work: a progress bar and summaries."""

import sys
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import Progress as Bar
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from atlassian_cloud.importer import RestoreResult
from atlassian_cloud.restore_plan import RestorePlan
from atlassian_cloud.restore_verify import Difference
from jobs.backup import BackupResult
from jobs.restore_job import Estimates
from policy.sizes import format_size
from storage.snapshot import VerifyReport

MAX_LISTED = 20  # lines of a kind shown; the rest are counted


class Step(Protocol):
    """A progress report of a backup or a restore."""

    @property
    def phase(self) -> str: ...

    @property
    def items_done(self) -> int: ...


class TaskProgress:
    """A live line on stderr: the phase a backup or restore is in and the items done so far."""

    def __init__(self, label: str) -> None:
        self._bar = Bar(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} items"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._label = label
        self._task = self._bar.add_task(f"{self._label}: starting", total=None)

    def __enter__(self) -> "TaskProgress":
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, progress: Step) -> None:
        self._bar.update(
            self._task,
            description=f"{self._label}: {progress.phase}",
            completed=progress.items_done,
        )


def describe_result(site: str, result: BackupResult) -> str:
    if not result.status.holds_data:
        return f"{result.backup_id} of {site}: {result.status}: {result.error}"
    counts = ", ".join(f"{n:,} {entity}" for entity, n in sorted(result.item_counts.items()))
    failed = f"; {result.failed_items} item(s) could not be read" if result.failed_items else ""
    return (
        f"{result.backup_id} of {site}: {result.status}: {counts}; "
        f"data {format_size(result.data_bytes)}, attachments "
        f"{format_size(result.attachment_bytes)}{failed}"
    )


def describe_report(report: VerifyReport) -> str:
    if report.ok:
        return (
            f"{report.backup_id}: verified: {report.chunks_checked} chunks, "
            f"{report.records_checked:,} records, every SHA-256 and the manifest's HMAC match"
        )
    problems = "\n".join(f"  {problem}" for problem in report.problems)
    return f"{report.backup_id}: NOT VERIFIED: {len(report.problems)} problem(s)\n{problems}"


def describe_plan(plan: RestorePlan, estimates: Estimates) -> str:
    """The preview: what would be created, skipped and in conflict, and why."""
    lines = [
        f"restore of {plan.backup_id} ({plan.source_site}) into {plan.target_site}, "
        f"{plan.scope.describe()}:"
    ]
    for kind, tally in plan.counts.items():
        counts = tally.as_dict()
        shown = ", ".join(f"{n:,} to {action}" for action, n in counts.items() if n)
        lines.append(f"  {kind}: {shown or 'none'}")
    attachments = ", ".join(f"{n:,} {source}" for source, n in plan.attachment_counts().items())
    lines.append(f"  attachments: {attachments}")
    lines += [f"  note: {note}" for note in plan.notes[:MAX_LISTED]]
    if len(plan.notes) > MAX_LISTED:
        lines.append(f"  … and {len(plan.notes) - MAX_LISTED} more notes")
    lines += [f"  cannot be reproduced: {u.what} ({u.instead})" for u in plan.unreproducible]
    lines.append(f"  {estimates.describe()}")
    return "\n".join(lines)


def describe_restore(restore_id: str, result: RestoreResult) -> str:
    created = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.created.items()) if n)
    lines = [f"{restore_id}: {result.status}: created {created or 'nothing'}"]
    if result.error:
        lines.append(f"  {result.error}")
    lines += [
        f"  not restored: {f.kind} {f.source_id}: {f.reason}" for f in result.failed[:MAX_LISTED]
    ]
    if len(result.failed) > MAX_LISTED:
        lines.append(f"  … and {len(result.failed) - MAX_LISTED} more")
    lines += [f"  not reproduced: {what}" for what in result.not_reproduced[:MAX_LISTED]]
    if len(result.not_reproduced) > MAX_LISTED:
        lines.append(f"  … and {len(result.not_reproduced) - MAX_LISTED} more")
    return "\n".join(lines)


def describe_differences(differences: list[Difference]) -> str:
    if not differences:
        return (
            "verification: the restored items match the backup on everything a restore reproduces"
        )
    lines = [f"verification: {len(differences)} difference(s)"]
    lines += [f"  {difference.describe()}" for difference in differences[:MAX_LISTED]]
    return "\n".join(lines)
