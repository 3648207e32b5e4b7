"""Data sizes as admins type them (`60GB`, `3.5 TB`, `512MiB`, `1.2e3 GB`) and as we show them.

Decimal units follow Atlassian's table (GB = 10^9 bytes, TB = 10^12); binary units (KiB, MiB,
GiB, TiB, PiB) are powers of 1024. Arithmetic is exact (Decimal), so `3.5 TB` is exactly
3,500,000,000,000 bytes and the table's inclusive boundaries hold to the byte.
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

UNITS: dict[str, int] = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "eb": 10**18,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
}
UNIT_NAMES = ("B", "KB", "MB", "GB", "TB", "PB", "EB", "KiB", "MiB", "GiB", "TiB", "PiB")
ACCEPTED = "a number and a unit, like 60GB, 3.5 TB or 512MiB (units: " + ", ".join(UNIT_NAMES) + ")"
MAX_BYTES = 10**18  # an exabyte: far past any Atlassian site, small enough to catch typos
MAX_INPUT_LENGTH = 64

_SIZE = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(?P<unit>[a-z]*)$", re.IGNORECASE
)
_NOT_FINITE = re.compile(r"^[+-]?(?:nan|inf|infinity)\b", re.IGNORECASE)


class SizeError(ValueError):
    """A size that cannot be read, with what is accepted."""


def parse_size(text: str) -> int:
    """The number of bytes `text` names; SizeError says what was wrong and what is accepted."""
    stripped = text.strip()
    if not stripped:
        raise SizeError(f"the size is empty; give {ACCEPTED}")
    if len(stripped) > MAX_INPUT_LENGTH:
        raise SizeError(f"the size is too long to be a size; give {ACCEPTED}")
    if _NOT_FINITE.match(stripped):
        raise SizeError(f"a size must be a finite number; give {ACCEPTED}")
    match = _SIZE.match(stripped)
    if not match:
        raise SizeError(f"that is not a size; give {ACCEPTED}")
    if not match["unit"]:
        raise SizeError(f"the size has no unit; give {ACCEPTED}")
    factor = UNITS.get(match["unit"].lower())
    if factor is None:
        raise SizeError(f"unknown unit; give {ACCEPTED}")
    try:
        number = Decimal(match["number"])
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal literals
        raise SizeError(f"that is not a number; give {ACCEPTED}") from None
    if number < 0:
        raise SizeError("a size cannot be negative")
    if number.is_zero() or number.adjusted() < -30:
        return 0
    if number.adjusted() > 30 or number * factor > MAX_BYTES:
        raise SizeError(f"that size is too large (at most {format_size(MAX_BYTES)})")
    return int((number * factor).to_integral_value(rounding=ROUND_HALF_UP))


_DISPLAY_UNITS = (
    ("EB", 10**18),
    ("PB", 10**15),
    ("TB", 10**12),
    ("GB", 10**9),
    ("MB", 10**6),
    ("KB", 10**3),
)


def format_size(n_bytes: int) -> str:
    """A short decimal rendering, three significant digits at most: `60 GB`, `3.5 TB`, `512 B`."""
    if n_bytes < 1000:
        return f"{n_bytes} B"
    index = next(i for i, (_, factor) in enumerate(_DISPLAY_UNITS) if n_bytes >= factor)
    if index > 0 and float(f"{n_bytes / _DISPLAY_UNITS[index][1]:.3g}") >= 1000:
        index -= 1  # 999.9 GB rounds to 1000 GB: show it as 1 TB
    name, factor = _DISPLAY_UNITS[index]
    return f"{n_bytes / factor:.3g} {name}"


def exact_size_text(n_bytes: int) -> str:
    """The byte count in the largest decimal unit that holds it exactly (`3500GB`, `60GB`),
    so that `parse_size` reads it back to the same byte."""
    for name, factor in _DISPLAY_UNITS:
        if n_bytes and n_bytes % factor == 0:
            return f"{n_bytes // factor}{name}"
    return f"{n_bytes}B"
