"""Tables of a client: the record, its identifiers and contacts, its overrides and grace extensions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Only named contacts with the role `requester` may ask for contract services (PRODUCT.md).
    restrict_to_contacts: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class ClientIdentifier(Base):
    """email | domain | phone | external; `system` is '' except for external references."""

    __tablename__ = "client_identifiers"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    system: Mapped[str] = mapped_column(sa.String(64), default="")
    value: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    # Set when the identifier is a contact's e-mail or phone: one uniqueness rule for both.
    contact_id: Mapped[str | None] = mapped_column(sa.ForeignKey("client_contacts.id"), index=True)
    __table_args__ = (
        # An identifier belongs to at most one client; removed ones are kept for history.
        sa.Index(
            "uq_client_identifiers_live",
            "kind",
            "system",
            "value",
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        ),
    )


class ClientContact(Base):
    """A named person of a client; its e-mail and phone are client_identifiers rows linked by contact_id."""

    __tablename__ = "client_contacts"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    # Comma-separated roles (requester, approver, billing): one text column reads into the state query.
    roles: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class Override(Base):
    __tablename__ = "overrides"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    service_code: Mapped[str] = mapped_column(sa.ForeignKey("services.code"))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(200))


class GraceExtension(Base):
    __tablename__ = "grace_extensions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    contract_version: Mapped[str] = mapped_column(sa.ForeignKey("contract_versions.version"))
    until: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
