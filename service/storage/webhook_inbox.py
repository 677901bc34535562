"""Queries on the webhook inbox (kept apart from sql.py so the inbox's locking rules sit together)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.storage import tables as t
from service.storage.conflicts import add_unless_taken

# Events a processor takes up once their next_attempt_at has come: new ones (due when stored, or after
# the lease of a processor that died while asking the provider), and failed ones due for a retry.
DUE_STATUSES = ("received", "failed")


class InboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert_new(self, values: dict[str, object]) -> bool:
        """Store an event unless (provider, event key) is stored already, in one statement; False for a
        duplicate. The unique constraint decides, so concurrent copies store exactly one row (the
        losers wait on the index on PostgreSQL, on the write lock on SQLite, then insert nothing)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert(t.WebhookEvent) if dialect == "postgresql" else sqlite.insert(t.WebhookEvent)
        statement = (insert.values(values).on_conflict_do_nothing(index_elements=["provider", "event_key"])
                     .returning(t.WebhookEvent.id))
        return self.session.execute(statement).scalar() is not None

    def next_due(self, now: datetime) -> t.WebhookEvent | None:
        """The oldest event waiting to be processed (or retried) whose time has come, locked for this
        transaction; other processors skip it (SKIP LOCKED on PostgreSQL, SQLite has one writer)."""
        return self.session.scalar(
            sa.select(t.WebhookEvent)
            .where(t.WebhookEvent.status.in_(DUE_STATUSES), t.WebhookEvent.next_attempt_at <= now)
            .order_by(t.WebhookEvent.next_attempt_at, t.WebhookEvent.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )

    def any_due(self, now: datetime) -> bool:
        return self.session.scalar(
            sa.select(t.WebhookEvent.id)
            .where(t.WebhookEvent.status.in_(DUE_STATUSES), t.WebhookEvent.next_attempt_at <= now)
            .limit(1)
        ) is not None

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
