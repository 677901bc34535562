"""Frozen value types of the product: clients' decision inputs, the catalog and the decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ContractStatus(StrEnum):
    NOT_CONFIGURED = "not_configured"
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    PENDING = "pending"
    UNSIGNED = "unsigned"


class MembershipStatus(StrEnum):
    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    EXPIRED = "expired"


class ClientStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class AcceptanceDecision(StrEnum):
    SIGNED = "signed"
    DECLINED = "declined"


class ReasonCode(StrEnum):
    UNKNOWN_CLIENT = "UNKNOWN_CLIENT"
    CLIENT_INACTIVE = "CLIENT_INACTIVE"
    OVERRIDE = "OVERRIDE"
    CONTRACT_UNSIGNED = "CONTRACT_UNSIGNED"
    CONTRACT_DECLINED = "CONTRACT_DECLINED"
    CONTRACT_EXPIRED = "CONTRACT_EXPIRED"
    CONTRACT_PENDING = "CONTRACT_PENDING"
    CONTRACT_NOT_CONFIGURED = "CONTRACT_NOT_CONFIGURED"
    TIER_REQUIRED = "TIER_REQUIRED"
    MEMBERSHIP_PAST_DUE = "MEMBERSHIP_PAST_DUE"
    CONTACT_NOT_AUTHORIZED = "CONTACT_NOT_AUTHORIZED"


# Reasons that explain a refusal (as opposed to warnings riding along an allowed answer).
REFUSING_REASONS = frozenset(
    {
        ReasonCode.CONTRACT_UNSIGNED,
        ReasonCode.CONTRACT_DECLINED,
        ReasonCode.CONTRACT_EXPIRED,
        ReasonCode.TIER_REQUIRED,
        ReasonCode.UNKNOWN_CLIENT,
        ReasonCode.CLIENT_INACTIVE,
        ReasonCode.CONTACT_NOT_AUTHORIZED,
    }
)


@dataclass(frozen=True, slots=True)
class Routing:
    priority: str
    queue: str


@dataclass(frozen=True, slots=True)
class Sla:
    first_response_minutes: int
    onsite_response_hours: int


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Plan:
    code: str
    name: str
    rank: int
    monthly_price: Money
    routing: Routing
    sla: Sla
    active: bool = True


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: str
    requires_contract: bool
    min_rank: int
    # (channel, rank) pairs: through that channel the service needs that rank instead of min_rank.
    channel_min_rank: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ContractVersion:
    version: str
    grace_days: int
    term_days: int | None
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class Acceptance:
    contract_version: str
    decision: AcceptanceDecision
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    plan_code: str
    status: MembershipStatus
    current_period_end: datetime | None


@dataclass(frozen=True, slots=True)
class Override:
    service_code: str
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.starts_at <= at < self.expires_at


@dataclass(frozen=True, slots=True)
class GraceExtension:
    contract_version: str
    until: datetime


@dataclass(frozen=True, slots=True)
class ClientState:
    """Everything the decision needs to know about one client (the cached unit)."""

    id: str
    name: str
    status: ClientStatus
    created_at: datetime
    acceptances: tuple[Acceptance, ...] = ()
    membership: Membership | None = None
    overrides: tuple[Override, ...] = ()
    grace_extensions: tuple[GraceExtension, ...] = ()
    # (kind, system, value) of the identifiers the client owns: lets a cache check an index entry.
    identifiers: frozenset[tuple[str, str, str]] = frozenset()
    contacts: tuple[Contact, ...] = ()
    restrict_to_contacts: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """Settings the rules depend on."""

    new_client_grace_days: int = 14
    dunning_grace_days: int = 7
    default_routing: Routing = Routing(priority="normal", queue="standard")
    default_sla: Sla = Sla(first_response_minutes=240, onsite_response_hours=72)


@dataclass(frozen=True, slots=True)
class Catalog:
    services: dict[str, Service]
    plans: dict[str, Plan]
    # Every published version (drafts excluded), any order.
    versions: tuple[ContractVersion, ...] = ()
    policy: Policy = field(default_factory=Policy)


@dataclass(frozen=True, slots=True)
class ContractView:
    status: ContractStatus
    current_version: str | None
    signed_version: str | None
    signed_at: datetime | None
    grace_until: datetime | None


@dataclass(frozen=True, slots=True)
class MembershipView:
    plan: str | None
    rank: int
    status: MembershipStatus | None
    current_period_end: datetime | None


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    service: str
    reasons: tuple[Reason, ...]
    contract: ContractView
    membership: MembershipView
    routing: Routing
    sla: Sla
    upsell: tuple[Plan, ...]
    evaluated_at: datetime
    # With CONTACT_NOT_AUTHORIZED: the client's contacts an agent may call to approve the request.
    approvers: tuple[Contact, ...] = ()


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    REMOTE = "remote"
    ONSITE = "onsite"


class ContactRole(StrEnum):
    REQUESTER = "requester"
    APPROVER = "approver"
    BILLING = "billing"


@dataclass(frozen=True, slots=True)
class Contact:
    """A named person of a client; e-mail and phone normalised (they are identifiers of the client)."""

    id: str
    name: str
    roles: frozenset[str]
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """The person behind a check, as far as it could tell: `identified` when the check named a person
    (a contact's phone or e-mail, `contact` beside the client, a personal e-mail on the client's domain)."""

    identified: bool = False
    contact: Contact | None = None
