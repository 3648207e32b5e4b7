"""Named leases in the database: one holder at a time, kept by renewing before `expires_at`.

A lease held by a process that died lapses on its own, so another process can take it over
without anyone having to notice the death. Both statements are single-row and atomic on
SQLite and PostgreSQL alike, so two processes racing for a free lease cannot both win.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Lease


def hold(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until `now + ttl`; False while another
    holder's lease has not lapsed."""
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at <= now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount:  # type: ignore[attr-defined]
        return True
    try:
        with session.begin_nested():
            session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:  # it exists, and is someone else's
        return False
    return True


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up at once (a clean shutdown), so a standby need not wait for it to lapse."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
