"""Tables of work that is not a request: the webhook inbox, the outbox, jobs and their files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


class WebhookEvent(Base):
    """The webhook inbox: every verified delivery, stored as received, unique per provider event."""

    __tablename__ = "webhook_events"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(32))
    event_key: Mapped[str] = mapped_column(sa.String(400))
    envelope_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    event_type: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    detail: Mapped[str | None] = mapped_column(sa.String(2000))
    body: Mapped[str] = mapped_column(sa.Text)
    headers: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    __table_args__ = (sa.UniqueConstraint("provider", "event_key", name="uq_webhook_events_provider_event_key"),)


class OutboxMessage(Base):
    """Durable outbound updates (helpdesk write-back), retried until delivered or failed for good."""

    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    target: Mapped[str] = mapped_column(sa.String(32))
    dedupe_key: Mapped[str] = mapped_column(sa.String(400), unique=True)
    method: Mapped[str] = mapped_column(sa.String(8))
    url: Mapped[str] = mapped_column(sa.String(2000))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class Job(Base):
    """Work that is not answering a request: claimed with a lease, retried with backoff, its progress visible."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    # queued | running | succeeded | failed
    status: Mapped[str] = mapped_column(sa.String(16))
    payload: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(sa.String(200))
    error: Mapped[str | None] = mapped_column(sa.String(2000))
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(400), index=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    __table_args__ = (
        # The runners' poll: due queued jobs, and running ones whose lease ran out.
        sa.Index("ix_jobs_status_run_after", "status", "run_after"),
        sa.Index("ix_jobs_created_at_id", "created_at", "id"),
        # At most one live (queued or running) job per dedupe key; finished ones are kept for history.
        sa.Index(
            "uq_jobs_dedupe_key_live",
            "dedupe_key",
            unique=True,
            sqlite_where=sa.text("status IN ('queued', 'running')"),
            postgresql_where=sa.text("status IN ('queued', 'running')"),
        ),
    )


class JobFile(Base):
    """An uploaded file a job reads (a big import), stored before the upload is answered."""

    __tablename__ = "job_files"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    size: Mapped[int]
    created_at: Mapped[datetime]
