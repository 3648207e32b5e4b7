"""The identifiers people type (docs/data-model.md, contract): `bk-`, `rr-` and `sc-` ids."""

import re
from enum import StrEnum


class IdKind(StrEnum):
    BACKUP = "bk"
    RESTORE_REQUEST = "rr"
    SCHEDULE = "sc"

    @property
    def noun(self) -> str:
        return {"bk": "backup", "rr": "restore request", "sc": "schedule"}[self.value]


ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_MIN_LENGTH = 6
ID_MAX_LENGTH = 10
ID_PATTERN = re.compile(
    rf"^(?P<kind>bk|rr|sc)-(?P<body>[a-z0-9]{{{ID_MIN_LENGTH},{ID_MAX_LENGTH}}})$"
)


def id_kind(text: str) -> IdKind | None:
    """The kind of a well-formed, lowercase identifier, else None."""
    match = ID_PATTERN.match(text)
    return IdKind(match["kind"]) if match else None


def id_example(kind: IdKind) -> str:
    return f"{kind.value}-" + "a1b2c3d4"
