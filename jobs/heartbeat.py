"""Keeping a running job's heartbeat fresh, so no other process mistakes it for one whose
process died (storage.catalog.mark_interrupted, storage.restores.mark_interrupted)."""

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from jobs.context import JobContext
from storage import catalog

Beat = Callable[[Session, Sequence[str], datetime], None]

logger = logging.getLogger(__name__)


class Heartbeat:
    """While the `with` block runs, a daemon thread refreshes the job's heartbeat (a backup's
    by default; pass `beat` for another kind of row)."""

    def __init__(
        self,
        context: JobContext,
        backup_id: str,
        every: float | None = None,  # default: the config's `jobs.heartbeat_seconds`
        beat: Beat = catalog.beat,
    ):
        self._context = context
        self._backup_id = backup_id
        self._every = every if every is not None else context.config.jobs.heartbeat_seconds
        self._beat_rows = beat
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"heartbeat-{backup_id}", daemon=True
        )

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                with self._context.sessions.begin() as session:
                    self._beat_rows(session, [self._backup_id], self._context.clock())
            except SQLAlchemyError as error:  # a missed beat is harmless; the next one may land
                logger.warning("heartbeat of %s failed: %s", self._backup_id, error)
