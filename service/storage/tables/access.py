"""Tables of access and audit: API keys, web sessions, the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scopes: Mapped[list[Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UiSession(Base):
    """A signed-in web page session; signing out ends it here, so a copied cookie stops working."""

    __tablename__ = "ui_sessions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Event(Base):
    """The audit trail and the change log in one: kept forever, ordered by seq."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    client_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    # What the change invalidates in caches: client | catalog | keys | none
    scope: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str | None] = mapped_column(sa.String(200))
    actor: Mapped[str] = mapped_column(sa.String(200))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
