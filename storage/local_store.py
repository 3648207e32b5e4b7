"""Managed storage in a local folder: an `ArtifactStore` whose objects are files under a root.

Writes are atomic and durable: a temporary file in the object's own directory is written,
flushed, fsync-ed and renamed over the final name, then the directory is fsync-ed, so a crash
leaves either the old object, the new one, or none, never half a file under the final name.
Backups hold an organization's data, so every file is 0600 and every directory 0700.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.artifacts import (
    ObjectInfo,
    ObjectNotFound,
    PutResult,
    StorageError,
    TransientStorageError,
    iter_blocks,
    validate_key,
    validate_prefix,
)

logger = logging.getLogger(__name__)

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
TEMPORARY_SUFFIX = ".tmp"

# Failures that say "not now" rather than "never": a retry may succeed. A full disk or a
# permission problem needs an operator, so it is reported at once.
_TRANSIENT_ERRNOS = frozenset({errno.EAGAIN, errno.EINTR, errno.EBUSY, errno.ETIMEDOUT})
# Creating the directories and the temporary file races with `delete`, which prunes emptied
# directories; a few tries settle it.
_CREATE_TRIES = 3


def _fsync_directory(directory: Path) -> None:
    """Makes a rename or unlink in `directory` durable (the entry, not just the file's data)."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class LocalStore:
    """An ArtifactStore in the folder `root`, created 0700 when missing."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        """`durable=False` skips fsync; only for throwaway stores such as benchmarks' baselines."""
        self.root = Path(root).absolute()
        self._durable = durable
        try:
            self._prepare_root()
        except OSError as error:
            raise self._failure(error, "preparing the folder", None) from None

    @property
    def location(self) -> str:
        return f"local folder {self.root}"

    def _prepare_root(self) -> None:
        if not self.root.exists():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            with suppress(FileExistsError):
                os.mkdir(self.root, DIRECTORY_MODE)
        if not self.root.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(self.root))
        mode = stat.S_IMODE(self.root.stat().st_mode)
        if mode != DIRECTORY_MODE:
            # The folder holds organizations' data: nobody but the bot's user may list it.
            logger.warning(
                "%s: tightening permissions from %04o to %04o", self.location, mode, DIRECTORY_MODE
            )
            os.chmod(self.root, DIRECTORY_MODE)

    # --- errors ----------------------------------------------------------------------------

    def _failure(self, error: OSError, action: str, key: str | None) -> StorageError:
        what = f" {key!r}" if key else ""
        reason = error.strerror or type(error).__name__
        message = f"{self.location}: {action}{what} failed ({reason})"
        if error.errno in _TRANSIENT_ERRNOS:
            return TransientStorageError(message)
        return StorageError(message)

    def is_transient(self, error: BaseException) -> bool:
        return isinstance(error, TransientStorageError)

    # --- paths -----------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def _make_directories(self, directory: Path) -> None:
        """Creates the missing directories between the root and `directory`, each 0700."""
        missing = []
        current = directory
        while current != self.root and not current.is_dir():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            try:
                os.mkdir(path, DIRECTORY_MODE)
            except FileExistsError:
                continue
            os.chmod(path, DIRECTORY_MODE)  # the umask may have taken away owner bits
            if self._durable:
                _fsync_directory(path.parent)

    # --- the protocol ----------------------------------------------------------------------

    def put(self, key: str, stream: BinaryIO | Iterable[bytes]) -> PutResult:
        path = self._path(key)
        try:
            descriptor, temporary = self._create_temporary(path)
        except OSError as error:
            raise self._failure(error, "writing", key) from None
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(descriptor, "wb") as file:
                for block in iter_blocks(stream):
                    file.write(block)
                    digest.update(block)
                    size += len(block)
                file.flush()
                if self._durable:
                    os.fsync(file.fileno())
            os.replace(temporary, path)
            if self._durable:
                _fsync_directory(path.parent)
        except BaseException as error:
            # Whatever stopped the write (the stream's own exception included), the final name
            # keeps what it had; the temporary file goes.
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            if isinstance(error, OSError):
                raise self._failure(error, "writing", key) from None
            raise
        return PutResult(key=key, size=size, sha256=digest.hexdigest())

    def _create_temporary(self, path: Path) -> tuple[int, str]:
        for attempt in range(_CREATE_TRIES):
            try:
                self._make_directories(path.parent)
                # mkstemp creates the file 0600 with O_EXCL; the leading dot keeps it out of
                # listings, since no key segment may start with one.
                return tempfile.mkstemp(
                    prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent
                )
            except FileNotFoundError:
                if attempt + 1 == _CREATE_TRIES:
                    raise
        raise AssertionError("unreachable")

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key, self.location) from None
        except OSError as error:
            if error.errno == errno.ELOOP:  # a symlink: never an object of ours
                raise ObjectNotFound(key, self.location) from None
            raise self._failure(error, "reading", key) from None
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise ObjectNotFound(key, self.location)
        return os.fdopen(descriptor, "rb")

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            status = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            raise self._failure(error, "checking", key) from None
        if not stat.S_ISREG(status.st_mode):
            return None
        return ObjectInfo(key=key, size=status.st_size, modified_at=_modified(status))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        # Walk from the deepest directory the prefix names completely, then filter by the rest.
        *directories, _ = prefix.split("/")
        start = self.root.joinpath(*directories)
        base = "/".join(directories)
        try:
            yield from self._walk(start, f"{base}/" if base else "", prefix)
        except OSError as error:
            raise self._failure(error, "listing", prefix or "(everything)") from None

    def _walk(self, directory: Path, key_prefix: str, wanted: str) -> Iterator[ObjectInfo]:
        try:
            with os.scandir(directory) as entries:
                found = [
                    (entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name, entry)
                    for entry in entries
                    if not entry.name.startswith(".")  # temporary files, and nothing of ours
                ]
        except (FileNotFoundError, NotADirectoryError):
            return
        # Sorting a directory's names with a "/" after each subdirectory's name yields the keys
        # below it in full-key order: all of "a/..." sorts exactly where "a/" does.
        for name, entry in sorted(found, key=lambda pair: pair[0]):
            key = key_prefix + name
            if entry.is_dir(follow_symlinks=False):
                if key.startswith(wanted) or wanted.startswith(key):
                    yield from self._walk(Path(entry.path), key, wanted)
            elif entry.is_file(follow_symlinks=False) and key.startswith(wanted):
                status = entry.stat(follow_symlinks=False)
                yield ObjectInfo(key=key, size=status.st_size, modified_at=_modified(status))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as error:
            raise self._failure(error, "deleting", key) from None
        if self._durable:
            _fsync_directory(path.parent)
        self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        """Removes directories left empty, up to the root, so expired backups leave no trace."""
        while directory != self.root:
            try:
                os.rmdir(directory)
            except OSError:
                return  # not empty (or already gone): stop here
            directory = directory.parent


def _modified(status: os.stat_result) -> datetime:
    return datetime.fromtimestamp(status.st_mtime, UTC)
