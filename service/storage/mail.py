"""Queries on the mail outbox: insert once per Message-ID, claim due mail, read statuses."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.ids import new_id
from service.storage import tables as t

QUEUED, SENDING, SENT, RETRYING, BOUNCED, FAILED = "queued", "sending", "sent", "retrying", "bounced", "failed"
STATUSES = (QUEUED, SENDING, SENT, RETRYING, BOUNCED, FAILED)
# `sending` is claimable again once its lease ran out: the process that claimed it died mid-send.
CLAIMABLE = (QUEUED, RETRYING, SENDING)


def by_message_id(session: Session, message_id: str) -> t.MailOutbox | None:
    return session.scalars(sa.select(t.MailOutbox).where(t.MailOutbox.message_id == message_id)).first()


def insert_once(session: Session, *, message_id: str, values: dict[str, Any], now: datetime) -> t.MailOutbox:
    """The row for `message_id`: the existing one, or a new queued one (a concurrent twin loses the unique key)."""
    existing = by_message_id(session, message_id)
    if existing is not None:
        return existing
    row = t.MailOutbox(
        id=new_id("mail"), message_id=message_id, status=QUEUED, attempts=0, next_attempt_at=now, last_error=None,
        created_at=now, sent_at=None, **values,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        winner = by_message_id(session, message_id)
        if winner is None:
            raise
        return winner
    return row


def any_due(session: Session, *, now: datetime) -> bool:
    query = sa.select(t.MailOutbox.id).where(t.MailOutbox.status.in_(CLAIMABLE), t.MailOutbox.next_attempt_at <= now).limit(1)
    return session.scalars(query).first() is not None


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[t.MailOutbox]:
    """Due rows marked `sending` until now + lease. PostgreSQL: FOR UPDATE SKIP LOCKED, so two
    replicas never claim the same row; SQLite: the writer holds the database's write lock."""
    rows = list(session.scalars(
        sa.select(t.MailOutbox)
        .where(t.MailOutbox.status.in_(CLAIMABLE), t.MailOutbox.next_attempt_at <= now)
        .order_by(t.MailOutbox.next_attempt_at, t.MailOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all())
    for row in rows:
        row.status = SENDING
        row.next_attempt_at = now + lease
    session.flush()
    return rows


def get(session: Session, mail_id: str) -> t.MailOutbox | None:
    return session.get(t.MailOutbox, mail_id)


def statuses(session: Session, message_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(dict.fromkeys(message_ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        chunk = wanted[start:start + 500]
        rows = session.execute(sa.select(t.MailOutbox.message_id, t.MailOutbox.status).where(t.MailOutbox.message_id.in_(chunk)))
        found.update({message_id: status for message_id, status in rows})
    return found


def by_ref(session: Session, ref_kind: str, ref_id: str) -> list[t.MailOutbox]:
    query = sa.select(t.MailOutbox).where(t.MailOutbox.ref_kind == ref_kind, t.MailOutbox.ref_id == ref_id)
    return list(session.scalars(query.order_by(t.MailOutbox.created_at, t.MailOutbox.id)).all())
