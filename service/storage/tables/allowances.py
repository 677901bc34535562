"""Tables of allowances: a plan's included units, a client's grants, the usage ledger and its legs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


class PlanAllowances(Base):
    """A plan's allowances, as the list PUT /v1/plans/{code} gave (units in quarter-units)."""

    __tablename__ = "plan_allowances"
    plan_code: Mapped[str] = mapped_column(sa.ForeignKey("plans.code"), primary_key=True)
    allowances: Mapped[list[Any]]
    updated_at: Mapped[datetime]


class AllowanceGrant(Base):
    """A block of prepaid units for one client and service (quarter-units)."""

    __tablename__ = "allowance_grants"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    service_code: Mapped[str] = mapped_column(sa.ForeignKey("services.code"))
    unit: Mapped[str] = mapped_column(sa.String(16))
    amount_q: Mapped[int] = mapped_column(sa.BigInteger)
    expires_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(sa.String(1000))
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class AllowanceUsage(Base):
    """The usage ledger, append-only: a use, or the reversal of one (negative units)."""

    __tablename__ = "allowance_usage"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"))
    service_code: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    units_q: Mapped[int] = mapped_column(sa.BigInteger)
    overage_q: Mapped[int] = mapped_column(sa.BigInteger)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200))
    ticket_ref: Mapped[str | None] = mapped_column(sa.String(200))
    at: Mapped[datetime]
    # A use is reversed at most once: the database holds it.
    reverses_id: Mapped[str | None] = mapped_column(sa.ForeignKey("allowance_usage.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(sa.String(1000))
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    # The answer given when it was recorded: the same key again gets exactly this.
    answer: Mapped[dict[str, Any]]
    __table_args__ = (
        sa.UniqueConstraint("client_id", "idempotency_key", name="uq_allowance_usage_client_key"),
        sa.Index("ix_allowance_usage_client_created", "client_id", "created_at", "id"),
    )


class AllowanceLeg(Base):
    """What one ledger entry took from one pool (included, rollover, a block, overage)."""

    __tablename__ = "allowance_legs"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    usage_id: Mapped[str] = mapped_column(sa.ForeignKey("allowance_usage.id"), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    service_code: Mapped[str] = mapped_column(sa.String(64))
    pool: Mapped[str] = mapped_column(sa.String(16))
    grant_id: Mapped[str | None] = mapped_column(sa.String(40))
    period_start: Mapped[datetime]
    units_q: Mapped[int] = mapped_column(sa.BigInteger)
