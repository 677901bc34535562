"""SQLAlchemy 2.0 tables. Timestamps are stored as UTC and always come back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database (SQLite has no time zones), aware UTC in Python."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[Any]: sa.JSON()}


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


class Plan(Base):
    __tablename__ = "plans"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    rank: Mapped[int]
    price_amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    price_currency: Mapped[str] = mapped_column(sa.String(3))
    routing_priority: Mapped[str] = mapped_column(sa.String(32))
    routing_queue: Mapped[str] = mapped_column(sa.String(64))
    first_response_minutes: Mapped[int]
    onsite_response_hours: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]


class Service(Base):
    __tablename__ = "services"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    requires_contract: Mapped[bool]
    min_rank: Mapped[int]
    updated_at: Mapped[datetime]
    # {channel: rank}: through that channel the service needs that rank instead of min_rank.
    channel_min_rank: Mapped[dict[str, Any] | None]


class ContractVersion(Base):
    __tablename__ = "contract_versions"
    version: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    document_url: Mapped[str] = mapped_column(sa.String(2000))
    document_sha256: Mapped[str] = mapped_column(sa.String(64))
    grace_days: Mapped[int]
    term_days: Mapped[int | None]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class Acceptance(Base):
    __tablename__ = "acceptances"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    contract_version: Mapped[str] = mapped_column(sa.ForeignKey("contract_versions.version"))
    decision: Mapped[str] = mapped_column(sa.String(16))
    method: Mapped[str] = mapped_column(sa.String(32))
    signer_name: Mapped[str | None] = mapped_column(sa.String(300))
    signer_email: Mapped[str | None] = mapped_column(sa.String(320))
    signed_at: Mapped[datetime]
    provider: Mapped[str | None] = mapped_column(sa.String(32))
    envelope_id: Mapped[str | None] = mapped_column(sa.String(200))
    # Evidence from a webhook: unique so that one provider event never yields two acceptances.
    event_key: Mapped[str | None] = mapped_column(sa.String(400), unique=True)
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    __table_args__ = (sa.Index("ix_acceptances_client_version_signed", "client_id", "contract_version", "signed_at"),)


class SignatureRequest(Base):
    __tablename__ = "signature_requests"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(32))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    contract_version: Mapped[str] = mapped_column(sa.ForeignKey("contract_versions.version"))
    status: Mapped[str] = mapped_column(sa.String(32), default="sent")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("provider", "external_id", name="uq_signature_requests_provider_external"),)


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
    __table_args__ = (sa.Index("ix_memberships_client_live", "client_id", "superseded_at"),)


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
