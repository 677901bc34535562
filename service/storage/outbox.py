"""Queries on the outbox table: enqueue once per dedupe key, claim due messages, record each attempt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.ids import new_id
from service.storage import tables as t
from service.storage.sql import keyset_page

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)


def by_dedupe_key(session: Session, dedupe_key: str) -> t.OutboxMessage | None:
    return session.scalars(sa.select(t.OutboxMessage).where(t.OutboxMessage.dedupe_key == dedupe_key)).first()


def enqueue(
    session: Session, *, target: str, dedupe_key: str, method: str, url: str, payload: dict[str, Any], now: datetime
) -> tuple[t.OutboxMessage, bool]:
    """The message for `dedupe_key`, and whether this call created it (False: a repeated delivery)."""
    existing = by_dedupe_key(session, dedupe_key)
    if existing is not None:
        return existing, False
    message = t.OutboxMessage(
        id=new_id("obx"), target=target, dedupe_key=dedupe_key, method=method, url=url, payload=payload,
        status=PENDING, attempts=0, last_error=None, created_at=now, next_attempt_at=now, delivered_at=None,
    )
    try:
        # A concurrent duplicate may win the unique key between our read and this insert.
        with session.begin_nested():
            session.add(message)
            session.flush()
    except sa.exc.IntegrityError:
        winner = by_dedupe_key(session, dedupe_key)
        if winner is None:
            raise
        return winner, False
    return message, True


def any_due(session: Session, *, now: datetime) -> bool:
    query = sa.select(t.OutboxMessage.id).where(t.OutboxMessage.status == PENDING, t.OutboxMessage.next_attempt_at <= now).limit(1)
    return session.scalars(query).first() is not None


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[t.OutboxMessage]:
    """Pending messages due now, each leased to this caller (other workers skip it until the lease ends)."""
    due = session.scalars(
        sa.select(t.OutboxMessage.id)
        .where(t.OutboxMessage.status == PENDING, t.OutboxMessage.next_attempt_at <= now)
        .order_by(t.OutboxMessage.next_attempt_at)
        .limit(limit)
    ).all()
    claimed: list[str] = []
    for message_id in due:
        result = session.execute(
            sa.update(t.OutboxMessage)
            .where(t.OutboxMessage.id == message_id, t.OutboxMessage.status == PENDING, t.OutboxMessage.next_attempt_at <= now)
            .values(next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            claimed.append(message_id)
    if not claimed:
        return []
    rows = session.scalars(sa.select(t.OutboxMessage).where(t.OutboxMessage.id.in_(claimed))).all()
    return sorted(rows, key=lambda row: claimed.index(row.id))


def get(session: Session, message_id: str) -> t.OutboxMessage | None:
    return session.get(t.OutboxMessage, message_id)


def listing(
    session: Session, *, status: str | None, limit: int, before: tuple[datetime, str] | None = None
) -> list[t.OutboxMessage]:
    """Newest first; `before` is the (created_at, id) of the last message of the previous page."""
    query = sa.select(t.OutboxMessage)
    if status is not None:
        query = query.where(t.OutboxMessage.status == status)
    key = (t.OutboxMessage.created_at, t.OutboxMessage.id)
    query = keyset_page(query, key, limit=limit, after=before, descending=True)
    return list(session.scalars(query).all())


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(sa.select(t.OutboxMessage.status, sa.func.count()).group_by(t.OutboxMessage.status)).all()
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}
