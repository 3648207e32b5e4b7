"""Atlassian's RPO/RTO reference table (docs/rules.md), at, below and above every boundary."""

import pytest

from policy.frequency import Frequency
from policy.objectives import REFERENCE_LABEL, reference_objectives, schedule_rpo
from policy.products import Product

GB = 10**9
TB = 10**12

# (product, objective, data limit, attachment limit, hours, what Atlassian adds beyond the row)
ROWS = [
    (Product.JIRA, "rto", 60 * GB, 3_500 * GB, 12, "contact Atlassian support to help you restore"),
    (Product.JIRA, "rpo", 240 * GB, 12 * TB, 24, "daily backup isn't available"),
    (Product.CONFLUENCE, "rto", 30 * GB, 12 * TB, 12, None),
    (Product.CONFLUENCE, "rpo", 120 * GB, 12 * TB, 24, None),
]


def objective(product, which, data, attachments):
    return getattr(reference_objectives(product, data, attachments), which)


@pytest.mark.parametrize(("product", "which", "data_limit", "att_limit", "hours", "beyond"), ROWS)
@pytest.mark.parametrize("offset", [-1, 0])
def test_within_the_row_at_and_just_below_each_boundary(
    product, which, data_limit, att_limit, hours, beyond, offset
):
    for data, attachments in ((data_limit + offset, 0), (0, att_limit + offset)):
        result = objective(product, which, data, attachments)
        assert result.within
        assert result.describe() == f"{hours} hours"
    assert objective(product, which, data_limit + offset, att_limit + offset).within


@pytest.mark.parametrize(("product", "which", "data_limit", "att_limit", "hours", "beyond"), ROWS)
def test_beyond_the_row_one_byte_above_either_boundary(
    product, which, data_limit, att_limit, hours, beyond
):
    for data, attachments in ((data_limit + 1, 0), (0, att_limit + 1), (data_limit + 1, att_limit)):
        result = objective(product, which, data, attachments)
        assert not result.within
        expected = f"more than {hours} hours" + (f"; {beyond}" if beyond else "")
        assert result.describe() == expected


def test_jira_beyond_its_rpo_row_cannot_have_a_daily_backup():
    assert reference_objectives(Product.JIRA, 240 * GB, 12 * TB).daily_backup_available
    assert not reference_objectives(Product.JIRA, 240 * GB + 1, 0).daily_backup_available
    assert not reference_objectives(Product.JIRA, 0, 12 * TB + 1).daily_backup_available


def test_confluence_beyond_its_rpo_row_keeps_daily_backups():
    objectives = reference_objectives(Product.CONFLUENCE, 120 * GB + 1, 0)
    assert not objectives.rpo.within
    assert objectives.daily_backup_available


def test_the_reference_is_labelled_as_atlassians_wherever_it_is_described():
    text = reference_objectives(Product.JIRA, 61 * GB, 0).describe()
    assert REFERENCE_LABEL == "Atlassian's reference objective"
    assert text == (
        "Atlassian's reference objective: RTO more than 12 hours; "
        "contact Atlassian support to help you restore, "
        "RPO 24 hours"
    )


def test_a_weekly_schedule_has_a_seven_day_rpo():
    reference = reference_objectives(Product.JIRA, 1 * GB, 0)
    weekly = schedule_rpo(reference, Frequency.WEEKLY)
    assert weekly is not None
    assert weekly.describe() == "7 days"
    assert schedule_rpo(reference, Frequency.DAILY) == reference.rpo
    assert schedule_rpo(reference, Frequency.ONCE) is None


@pytest.mark.parametrize(("data", "attachments"), [(-1, 0), (0, -1)])
def test_negative_sizes_are_refused(data, attachments):
    with pytest.raises(ValueError, match="cannot be negative"):
        reference_objectives(Product.JIRA, data, attachments)


def test_sizes_must_be_whole_bytes():
    with pytest.raises(TypeError, match="whole number of bytes"):
        reference_objectives(Product.JIRA, 1.5, 0)  # type: ignore[arg-type]
