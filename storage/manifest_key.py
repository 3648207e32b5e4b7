"""The key that signs snapshot manifests (HMAC-SHA256, docs/snapshot-format.md).

It is BACKUPBOT_MANIFEST_KEY when set; otherwise 32 random bytes generated on first use and kept
in `<data dir>/manifest.key`, readable by the owner only, and reused ever after. Either way the
key is written as hexadecimal text (64 digits for 32 bytes; `openssl rand -hex 32` makes one):
hex has a single spelling, no padding, and survives shells, YAML and copy-paste unchanged.
Losing the key makes every backup it signed unverifiable, so keep a copy of it with the
deployment's other secrets.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from contextlib import suppress
from pathlib import Path

from settings.environment import Environment, Secret
from settings.errors import ConfigError

KEY_BYTES = 32
KEY_FILE_NAME = "manifest.key"
VARIABLE = "BACKUPBOT_MANIFEST_KEY"
_HOW_TO_MAKE = "`openssl rand -hex 32` makes one"


def decode_key(text: str, source: str) -> bytes:
    """The key written as hex in `text`; ConfigError naming `source` (never the value) if not."""
    digits = text.strip()
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise ConfigError(
            [
                f"{source}: the manifest key must be at least {KEY_BYTES} bytes written as "
                f"{2 * KEY_BYTES} or more hexadecimal digits ({_HOW_TO_MAKE})"
            ],
            "the environment" if source == VARIABLE else source,
        )
    return key


def manifest_key(environment: Environment) -> bytes:
    """The deployment's manifest key: the variable when set, else the kept (or a new) file."""
    return load_or_create_key(environment.data_dir, environment.manifest_key)


def load_or_create_key(data_dir: Path, configured: Secret | None = None) -> bytes:
    """`configured` decoded, or the key in `<data_dir>/manifest.key`, created on first use."""
    if configured is not None:
        return decode_key(configured.reveal(), VARIABLE)
    path = Path(data_dir) / KEY_FILE_NAME
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    _create_key_file(path)
    return _read_key_file(path)


def _refusal(path: Path, problem: str) -> ConfigError:
    return ConfigError([f"{path}: {problem}"], "the manifest key file")


def _read_key_file(path: Path) -> bytes:
    try:
        # O_NOFOLLOW: a symlink planted in the data directory must not choose our key.
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise _refusal(path, f"cannot be read ({error.strerror})") from None
    with os.fdopen(descriptor, "r", encoding="ascii", errors="replace") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise _refusal(path, "is not a regular file")
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            raise _refusal(
                path,
                f"is readable or writable by others (mode {mode:04o}); the manifest key must be "
                f"the owner's only: run `chmod 600 {path}`",
            )
        if status.st_uid != os.getuid():
            raise _refusal(path, "belongs to another user; the bot's own user must own it")
        text = file.read(4096)
    return decode_key(text, str(path))


def _create_key_file(path: Path) -> None:
    """Writes a new random key to `path` atomically; if another process won the race, keeps its."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
            file.flush()
            os.fsync(file.fileno())
        # A hard link, unlike a rename, fails when the name exists: two processes starting at
        # once both end up with the first one's key.
        with suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
