"""Timestamps are UTC instants on every database: naive values are refused, zones don't matter."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from policy.products import Product
from policy.retention import NaiveDatetimeError
from storage.models import Site

BERLIN = ZoneInfo("Europe/Berlin")


def site(created_at: datetime) -> Site:
    return Site(
        name="acme-jira",
        product=Product.JIRA,
        url="https://acme.atlassian.net",
        created_at=created_at,
    )


def test_naive_datetime_is_refused_on_write(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError) as refused, sessions.begin() as session:
        session.add(site(datetime(2026, 3, 1, 9, 0)))

    assert isinstance(refused.value.orig, NaiveDatetimeError)


def test_naive_datetime_is_refused_in_a_query(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError) as refused, sessions() as session:
        session.scalars(select(Site).where(Site.created_at < datetime(2026, 3, 1))).all()

    assert isinstance(refused.value.orig, NaiveDatetimeError)


def test_timestamp_reads_back_as_the_same_instant_in_utc(sessions: sessionmaker[Session]) -> None:
    written = datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)  # just after clocks went forward
    with sessions.begin() as session:
        session.add(site(written))

    with sessions() as session:
        read = session.scalars(select(Site.created_at)).one()

    assert read == written
    assert read.tzinfo is UTC
    assert read == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_queries_compare_instants_not_wall_clocks(sessions: sessionmaker[Session]) -> None:
    # 10:30 in Berlin (UTC+1 in winter) is 09:30 UTC: before 10:00 UTC, though its clock says later.
    with sessions.begin() as session:
        session.add(site(datetime(2026, 2, 1, 10, 30, tzinfo=BERLIN)))
    cutoff = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)

    with sessions() as session:
        before = session.scalars(select(Site.name).where(Site.created_at < cutoff)).all()
        after = session.scalars(
            select(Site.name).where(Site.created_at >= cutoff - timedelta(minutes=30))
        ).all()

    assert before == ["acme-jira"]
    assert after == ["acme-jira"]
