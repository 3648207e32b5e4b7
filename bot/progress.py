"""What the operator commands show while and after they work: a progress bar and summaries."""

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import Progress as Bar
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from jobs.backup import BackupResult, Progress
from policy.sizes import format_size
from storage.snapshot import VerifyReport


class BackupProgress:
    """A live line on stderr: the phase being read and the items written so far."""

    def __init__(self, backup_id: str, site: str) -> None:
        self._bar = Bar(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} items"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._label = f"{backup_id} of {site}"
        self._task = self._bar.add_task(f"{self._label}: starting", total=None)

    def __enter__(self) -> "BackupProgress":
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, progress: Progress) -> None:
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
