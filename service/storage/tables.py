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
    # SLA targets in business time on the plan's calendar (null: the calendar-time targets apply).
    calendar_code: Mapped[str | None] = mapped_column(sa.String(64))
    first_response_business_minutes: Mapped[int | None]
    onsite_response_business_hours: Mapped[int | None]


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


class Calendar(Base):
    """A working calendar; its definition lives in versions, the newest being current."""

    __tablename__ = "calendars"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    current_version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CalendarVersion(Base):
    """One definition of a calendar, never changed once written: answers name the version they used."""

    __tablename__ = "calendar_versions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    calendar_code: Mapped[str] = mapped_column(sa.ForeignKey("calendars.code"))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    intervals: Mapped[list[Any]]
    holidays: Mapped[dict[str, Any] | None]
    closed_dates: Mapped[list[Any]]
    # The holidays of the country resolved when the version was written, plus its own closed dates.
    resolved_closed_dates: Mapped[list[Any]]
    created_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("calendar_code", "version", name="uq_calendar_versions_code_version"),)


class UiSession(Base):
    """A signed-in web page session; signing out ends it here, so a copied cookie stops working."""

    __tablename__ = "ui_sessions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


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
