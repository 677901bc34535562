"""Tables of memberships and of the billing system's view of them (prices mapped to plans, subscriptions)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


class Membership(Base):
    """One row per change; the live one has superseded_at NULL (history is kept)."""

    __tablename__ = "memberships"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    plan_code: Mapped[str] = mapped_column(sa.ForeignKey("plans.code"))
    status: Mapped[str] = mapped_column(sa.String(16))
    current_period_end: Mapped[datetime | None]
    external_ref: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(sa.String(200))
    __table_args__ = (
        sa.Index("ix_memberships_client_live", "client_id", "superseded_at"),
        # At most one live membership per client, whatever races (history rows carry superseded_at).
        sa.Index(
            "uq_memberships_live",
            "client_id",
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        ),
    )


class PlanExternalPrice(Base):
    """A billing system's price that puts a client on this plan (e.g. Stripe `price_…`); removed ones kept."""

    __tablename__ = "plan_external_prices"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    plan_code: Mapped[str] = mapped_column(sa.ForeignKey("plans.code"), index=True)
    system: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    __table_args__ = (
        # A price maps to at most one plan.
        sa.Index(
            "uq_plan_external_prices_live",
            "system",
            "external_id",
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        ),
    )


class BillingSubscription(Base):
    """The last state applied from a billing subscription: events older than it are recorded, not applied."""

    __tablename__ = "billing_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(32))
    last_applied_at: Mapped[datetime]
    last_source: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("system", "external_id", name="uq_billing_subscriptions_system_external"),)
