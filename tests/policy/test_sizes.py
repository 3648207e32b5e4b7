"""Sizes as admins type them, exact to the byte at the table's boundaries."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.sizes import MAX_BYTES, SizeError, exact_size_text, format_size, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60GB", 60 * 10**9),
        ("3.5 TB", 3_500 * 10**9),
        ("512MiB", 512 * 2**20),
        ("1.2e3 GB", 1_200 * 10**9),
        ("60gb", 60 * 10**9),
        ("12 tb", 12 * 10**12),
        (".5 KB", 500),
        ("7 B", 7),
        ("2GiB", 2 * 2**30),
        ("0GB", 0),
        ("+1 MB", 10**6),
    ],
)
def test_sizes_are_read_exactly(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-1GB", "cannot be negative"),
        ("-0.5 TB", "cannot be negative"),
        ("nan GB", "finite number"),
        ("NaN", "finite number"),
        ("inf TB", "finite number"),
        ("-Infinity GB", "finite number"),
        ("60", "has no unit"),
        ("60 XB", "unknown unit"),
        ("60 gigabytes", "unknown unit"),
        ("sixty GB", "not a size"),
        ("1,5 GB", "not a size"),
        ("", "empty"),
        ("1e40 GB", "too large"),
        ("9" * 70 + " GB", "too long"),
    ],
)
def test_bad_sizes_are_refused_saying_what_is_accepted(text, reason):
    with pytest.raises(SizeError, match=reason) as refusal:
        parse_size(text)
    assert "GB" in str(refusal.value) or reason in {"cannot be negative", "too large"}


@given(st.integers(min_value=0, max_value=MAX_BYTES))
def test_any_byte_count_reads_back(n):
    assert parse_size(f"{n}B") == n


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=999))
def test_decimal_gigabytes_are_exact(whole, thousandths):
    assert parse_size(f"{whole}.{thousandths:03d} GB") == whole * 10**9 + thousandths * 10**6


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (60 * 10**9, "60 GB"),
        (3_500 * 10**9, "3.5 TB"),
        (999_950_000_000, "1 TB"),
        (123_456_789, "123 MB"),
    ],
)
def test_sizes_are_shown_in_decimal_units(n_bytes, text):
    assert format_size(n_bytes) == text


@given(st.integers(min_value=0, max_value=MAX_BYTES))
def test_the_exact_text_of_a_size_reads_back_to_the_same_byte(n):
    assert parse_size(exact_size_text(n)) == n


def test_the_exact_text_uses_the_largest_unit_that_holds_the_size():
    assert exact_size_text(60 * 10**9) == "60GB"
    assert exact_size_text(3_500 * 10**9) == "3500GB"
    assert exact_size_text(1_234) == "1234B"
    assert exact_size_text(0) == "0B"
