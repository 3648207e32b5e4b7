"""New identifiers look like the ones people type: `bk-`, `rr-`, `sc-` and lowercase letters."""

import pytest

from policy.identifiers import ID_PATTERN, IdKind, id_kind
from storage.ids import new_id


@pytest.mark.parametrize("kind", list(IdKind))
def test_new_id_matches_the_identifier_pattern_with_its_prefix(kind: IdKind) -> None:
    identifier = new_id(kind)

    assert identifier.startswith(f"{kind.value}-")
    assert ID_PATTERN.match(identifier)
    assert id_kind(identifier) is kind


def test_new_ids_do_not_repeat() -> None:
    identifiers = {new_id(IdKind.BACKUP) for _ in range(10_000)}

    assert len(identifiers) == 10_000
