"""Row and named locks that make "read, then write" safe where an invariant spans several rows.

SQLite writers hold the database's write lock from BEGIN IMMEDIATE, so these only lock on
PostgreSQL, where two READ COMMITTED transactions would otherwise both read, then both write.
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage import tables as t


def lock_client(session: Session, client_id: str) -> t.Client | None:
    """The client row, locked until the transaction ends: changes of one client's records queue here."""
    return session.scalar(
        sa.select(t.Client).where(t.Client.id == client_id).with_for_update().execution_options(populate_existing=True)
    )


def serialize(session: Session, name: str) -> None:
    """Hold the transaction-scoped lock called `name` (PostgreSQL advisory lock), e.g. for the catalog's publication order."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(zlib.crc32(name.encode()))))
