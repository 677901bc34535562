"""Tables of signing campaigns and the mail they send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


class Campaign(Base):
    """A contract rollout campaign: the first message and reminders for one version."""

    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    contract_version: Mapped[str] = mapped_column(sa.ForeignKey("contract_versions.version"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    reminder_days: Mapped[list[Any]]
    include_declined: Mapped[bool] = mapped_column(default=False)
    from_address: Mapped[str | None] = mapped_column(sa.String(320))
    reply_to: Mapped[str | None] = mapped_column(sa.String(320))
    # None = the shipped default wording.
    subject_template: Mapped[str | None] = mapped_column(sa.Text)
    text_template: Mapped[str | None] = mapped_column(sa.Text)
    html_template: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    __table_args__ = (
        # At most one live (running or paused) campaign per version: two would mail every client twice.
        sa.Index(
            "uq_campaigns_live_version", "contract_version", unique=True,
            sqlite_where=sa.text("status IN ('running', 'paused')"),
            postgresql_where=sa.text("status IN ('running', 'paused')"),
        ),
    )


class CampaignRecipient(Base):
    """A client the campaign has written to (its address, whether it muted the reminders).

    Whether the client opened the link is read from its signing links (one source of truth)."""

    __tablename__ = "campaign_recipients"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(sa.ForeignKey("campaigns.id"))
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    unsubscribed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("campaign_id", "client_id", name="uq_campaign_recipients_campaign_client"),)


class CampaignMessage(Base):
    """One step sent to one client: the unique key is what makes each step go out exactly once."""

    __tablename__ = "campaign_messages"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(sa.ForeignKey("campaigns.id"))
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(32))
    due_at: Mapped[datetime]
    email: Mapped[str] = mapped_column(sa.String(320))
    message_id: Mapped[str] = mapped_column(sa.String(400), unique=True)
    signing_link_id: Mapped[str | None] = mapped_column(sa.String(40))
    # Reminders only: the one-click unsubscribe token of this message (only its SHA-256 is kept).
    unsubscribe_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "client_id", "step", name="uq_campaign_messages_campaign_client_step"),
    )


class MailOutbox(Base):
    """Durable outgoing mail: one row per Message-ID, sent exactly once or retried (see usecases/mail.py)."""

    __tablename__ = "mail_outbox"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(400), unique=True)
    to_address: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(1000))
    text: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str | None] = mapped_column(sa.Text)
    headers: Mapped[dict[str, Any]]
    ref_kind: Mapped[str | None] = mapped_column(sa.String(32))
    ref_id: Mapped[str | None] = mapped_column(sa.String(80))
    # queued | sending | sent | retrying | bounced | failed
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    __table_args__ = (
        sa.Index("ix_mail_outbox_due", "status", "next_attempt_at"),
        sa.Index("ix_mail_outbox_ref", "ref_kind", "ref_id"),
    )
