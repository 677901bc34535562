"""Tables of contracts: versions, documents, acceptances, signature requests, signing links and their evidence."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


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
    __table_args__ = (
        # One version per moment of publication, so the version in force at any time is one.
        sa.Index(
            "uq_contract_versions_published_at",
            "published_at",
            unique=True,
            sqlite_where=sa.text("published_at IS NOT NULL"),
            postgresql_where=sa.text("published_at IS NOT NULL"),
        ),
    )


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


class ContractDocument(Base):
    """The exact bytes of a contract version's document (Markdown, HTML or PDF), uploaded while a draft."""

    __tablename__ = "contract_documents"
    version: Mapped[str] = mapped_column(sa.ForeignKey("contract_versions.version"), primary_key=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    actor: Mapped[str] = mapped_column(sa.String(200))
    uploaded_at: Mapped[datetime]


class SigningLink(Base):
    """A personal, single-use, expiring link to sign one version; only the token's SHA-256 is kept."""

    __tablename__ = "signing_links"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    contract_version: Mapped[str] = mapped_column(sa.ForeignKey("contract_versions.version"))
    email: Mapped[str] = mapped_column(sa.String(320))
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    first_opened_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    acceptance_id: Mapped[str | None] = mapped_column(sa.String(40))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(200))


class ClickThroughEvidence(Base):
    """What a signing-link acceptance was given and who gave it; unique per link (single use, held by the database)."""

    __tablename__ = "click_through_evidence"
    acceptance_id: Mapped[str] = mapped_column(sa.ForeignKey("acceptances.id"), primary_key=True)
    signing_link_id: Mapped[str] = mapped_column(sa.ForeignKey("signing_links.id"), unique=True)
    signer_title: Mapped[str | None] = mapped_column(sa.String(300))
    decline_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    ip: Mapped[str] = mapped_column(sa.String(64))
    user_agent: Mapped[str] = mapped_column(sa.String(1000))
    document_sha256: Mapped[str] = mapped_column(sa.String(64))
    consent_version: Mapped[str] = mapped_column(sa.String(32))
    button_text: Mapped[str] = mapped_column(sa.String(200))
    server_time: Mapped[datetime]
