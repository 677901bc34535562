"""Frozen value types of the product: clients' decision inputs, the catalog and the decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from service.domain.allowance import AllowanceView, BlockGrant, Leg, PlanAllowance
from service.domain.calendar import BusinessCalendar


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
    ALLOWANCE_EXHAUSTED = "ALLOWANCE_EXHAUSTED"
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
    ALLOWANCE_OVERAGE = "ALLOWANCE_OVERAGE"
    ALLOWANCE_LOW = "ALLOWANCE_LOW"
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
        ReasonCode.ALLOWANCE_EXHAUSTED,
        ReasonCode.APPROVAL_REQUIRED,
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
    # Targets in business time on the plan's calendar (None: the calendar-time target above applies).
    first_response_business_minutes: int | None = None
    onsite_response_business_hours: int | None = None


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
    calendar: str | None = None
    allowances: tuple[PlanAllowance, ...] = ()


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
    # Block grants and the usage ledger summed per (service, pool, grant, period): see domain.allowance.
    allowance_grants: tuple[BlockGrant, ...] = ()
    allowance_legs: tuple[Leg, ...] = ()
    # Views computed from this (immutable) state, with the span they hold for: the hot check reuses them.
    memo: dict[object, object] = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)
    contacts: tuple[Contact, ...] = ()
    restrict_to_contacts: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """Settings the rules depend on."""

    new_client_grace_days: int = 14
    dunning_grace_days: int = 7
    default_routing: Routing = Routing(priority="normal", queue="standard")
    default_sla: Sla = Sla(first_response_minutes=240, onsite_response_hours=72)
    # The calendar of the default SLA (None: 24/7); with one, the default targets count in business time.
    default_calendar: str | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    services: dict[str, Service]
    plans: dict[str, Plan]
    # Every published version (drafts excluded), any order.
    versions: tuple[ContractVersion, ...] = ()
    policy: Policy = field(default_factory=Policy)
    # The current version of each working calendar, by code (service.domain.calendar.BusinessCalendar).
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)


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


class Clock(StrEnum):
    RUNNING = "running"
    OUTSIDE_HOURS = "outside_hours"


@dataclass(frozen=True, slots=True)
class SlaClock:
    first_response_due_at: datetime | None
    onsite_due_at: datetime | None
    clock: Clock
    next_open_at: datetime | None
    calendar_code: str | None
    calendar_version: int | None


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
    # Deadlines of the SLA counted from evaluated_at (service.domain.sla.sla_clock).
    sla_clock: SlaClock | None = None
    allowance: AllowanceView | None = None
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
