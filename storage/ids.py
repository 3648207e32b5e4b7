"""New identifiers for the things people type: `bk-`, `rr-` and `sc-` ids (docs/data-model.md)."""

import secrets

from policy.identifiers import ID_ALPHABET, IdKind

ID_BODY_LENGTH = 8


def new_id(kind: IdKind) -> str:
    """A fresh random identifier of this kind, such as `bk-k3v9q2mx`.

    Eight characters from a 36-letter alphabet give about 2.8e12 values, so a collision is
    negligible for a bot's lifetime; the primary key refuses one anyway.
    """
    body = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_BODY_LENGTH))
    return f"{kind.value}-{body}"
