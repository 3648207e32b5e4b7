"""Atlassian's reference recovery objectives (docs/rules.md, "RPO/RTO reference").

These are the objectives Atlassian publishes for *its own* backup and restore, by size (Atlassian;
docs/rules.md); the bot shows them labelled as such, beside its own measured estimate. "Up to" is
inclusive, GB is 10^9 bytes and TB 10^12, and the data size is the uncompressed JSON bytes of the
backup. A row holds only while *both* the data and the attachments are within it.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from policy.frequency import Frequency
from policy.products import Product

GB = 10**9
TB = 10**12

REFERENCE_LABEL = "Atlassian's reference objective"


class ObjectiveKind(StrEnum):
    RTO = "RTO"  # how long a restore may take
    RPO = "RPO"  # how much recent data a restore may lose


@dataclass(frozen=True)
class TableRow:
    """One line of Atlassian's table: the bound holds while both sizes are at most these."""

    max_data_bytes: int
    max_attachment_bytes: int
    hours: int
    beyond: str | None  # what Atlassian adds when a site is past the row


CONTACT_SUPPORT = "contact Atlassian support to help you restore"
NO_DAILY_BACKUP = "daily backup isn't available"

REFERENCE_TABLE: dict[Product, dict[ObjectiveKind, TableRow]] = {
    Product.JIRA: {
        ObjectiveKind.RTO: TableRow(60 * GB, 3_500 * GB, 12, CONTACT_SUPPORT),
        ObjectiveKind.RPO: TableRow(240 * GB, 12 * TB, 24, NO_DAILY_BACKUP),
    },
    Product.CONFLUENCE: {
        ObjectiveKind.RTO: TableRow(30 * GB, 12 * TB, 12, None),
        ObjectiveKind.RPO: TableRow(120 * GB, 12 * TB, 24, None),
    },
}

WEEKLY_RPO = timedelta(days=7)


@dataclass(frozen=True)
class Objective:
    kind: ObjectiveKind
    bound: timedelta
    within: bool  # True: at most `bound`; False: more than `bound`
    note: str | None = None

    def describe(self) -> str:
        hours = int(self.bound.total_seconds() // 3600)
        amount = f"{hours // 24} days" if hours % 24 == 0 and hours > 24 else f"{hours} hours"
        text = amount if self.within else f"more than {amount}"
        return f"{text}; {self.note}" if self.note else text


@dataclass(frozen=True)
class ReferenceObjectives:
    product: Product
    rto: Objective
    rpo: Objective

    label = REFERENCE_LABEL

    @property
    def daily_backup_available(self) -> bool:
        """False only where Atlassian says so: a Jira site past its RPO row."""
        return self.rpo.within or self.product is not Product.JIRA

    def describe(self) -> str:
        return f"{self.label}: RTO {self.rto.describe()}, RPO {self.rpo.describe()}"


def _check_size(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number of bytes, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} cannot be negative, got {value}")


def _objective(row: TableRow, kind: ObjectiveKind, data: int, attachments: int) -> Objective:
    within = data <= row.max_data_bytes and attachments <= row.max_attachment_bytes
    return Objective(kind, timedelta(hours=row.hours), within, None if within else row.beyond)


def reference_objectives(
    product: Product, data_bytes: int, attachment_bytes: int = 0
) -> ReferenceObjectives:
    """Atlassian's RTO and RPO for a site of this product and size."""
    _check_size(data_bytes, "data size")
    _check_size(attachment_bytes, "attachment size")
    rows = REFERENCE_TABLE[product]
    return ReferenceObjectives(
        product,
        rto=_objective(rows[ObjectiveKind.RTO], ObjectiveKind.RTO, data_bytes, attachment_bytes),
        rpo=_objective(rows[ObjectiveKind.RPO], ObjectiveKind.RPO, data_bytes, attachment_bytes),
    )


def schedule_rpo(reference: ReferenceObjectives, frequency: Frequency) -> Objective | None:
    """The RPO a schedule gives: the daily reference, or 7 days weekly; None for a single run."""
    if frequency is Frequency.WEEKLY:
        return Objective(ObjectiveKind.RPO, WEEKLY_RPO, within=True)
    if frequency is Frequency.DAILY:
        return reference.rpo
    return None
