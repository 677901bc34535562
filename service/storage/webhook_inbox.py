"""Queries on the webhook inbox (kept apart from sql.py so the inbox's locking rules sit together)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage import tables as t
from service.storage.conflicts import add_unless_taken


class InboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_key(self, provider: str, event_key: str) -> t.WebhookEvent | None:
        return self.session.scalar(
            sa.select(t.WebhookEvent).where(t.WebhookEvent.provider == provider, t.WebhookEvent.event_key == event_key)
        )

    def insert_once(self, row: t.WebhookEvent) -> bool:
        """Store `row` unless (provider, event key) is stored already; False for a duplicate.

        A concurrent insert of the same key waits on the unique index (PostgreSQL) or on the write
        lock (SQLite), so exactly one transaction stores it; the savepoint keeps the loser's
        transaction usable.
        """
        if self.by_key(row.provider, row.event_key) is not None:
            return False
        return add_unless_taken(self.session, row)

    def lock(self, event_id: str) -> t.WebhookEvent | None:
        """The row, locked for this transaction (SQLite writers hold the database lock anyway)."""
        return self.session.scalar(sa.select(t.WebhookEvent).where(t.WebhookEvent.id == event_id).with_for_update())

    def lock_signature_request(self, provider: str, external_id: str) -> t.SignatureRequest | None:
        """The registered envelope, locked: concurrent events of one envelope apply one after another."""
        return self.session.scalar(
            sa.select(t.SignatureRequest)
            .where(t.SignatureRequest.provider == provider, t.SignatureRequest.external_id == external_id)
            .with_for_update()
        )

    def insert_signature_request(self, row: t.SignatureRequest) -> bool:
        """Register an envelope unless another transaction just did (False then)."""
        return add_unless_taken(self.session, row)

    def get(self, event_id: str) -> t.WebhookEvent | None:
        return self.session.get(t.WebhookEvent, event_id)

    def page(self, *, status: str | None, provider: str | None, limit: int, before_id: str | None) -> Sequence[t.WebhookEvent]:
        query = sa.select(t.WebhookEvent)
        if status:
            query = query.where(t.WebhookEvent.status == status)
        if provider:
            query = query.where(t.WebhookEvent.provider == provider)
        if before_id:
            query = query.where(t.WebhookEvent.id < before_id)
        return self.session.scalars(query.order_by(t.WebhookEvent.id.desc()).limit(limit)).all()

    def due(self, now: datetime, limit: int) -> Sequence[tuple[str, datetime]]:
        """Events waiting for a (re)try whose time has come: (id, next_attempt_at)."""
        rows = self.session.execute(
            sa.select(t.WebhookEvent.id, t.WebhookEvent.next_attempt_at)
            .where(t.WebhookEvent.status.in_(("received", "failed")), t.WebhookEvent.next_attempt_at <= now)
            .order_by(t.WebhookEvent.next_attempt_at)
            .limit(limit)
        )
        return [(r[0], r[1]) for r in rows if r[1] is not None]

    def claim(self, event_id: str, seen_next_attempt: datetime, until: datetime) -> bool:
        """Take a due event for one worker: only the first to move its next attempt time wins."""
        result = self.session.execute(
            sa.update(t.WebhookEvent)
            .where(
                t.WebhookEvent.id == event_id,
                t.WebhookEvent.next_attempt_at == seen_next_attempt,
                t.WebhookEvent.status.in_(("received", "failed")),
            )
            .values(next_attempt_at=until)
        )
        return bool(getattr(result, "rowcount", 0) == 1)
