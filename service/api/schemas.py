"""Request and response models of the HTTP API (pydantic), and their mapping from domain types."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from service.api import examples
from service.domain import model as dm
from service.domain.allowance import AllowanceView, format_units
from service.text import MULTI_LINE, SINGLE_LINE, unstorable_text
from service.timebounds import check_bounds
from service.usecases.allowances import view_json
from service.usecases.checks import CheckResult

Code = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


# The written year is 1970..2199 (the range check_bounds then checks in UTC): the schema's pattern says the same.
_YEAR = r"^(19[7-9]\d|2[01]\d\d)-"
_RFC3339 = re.compile(_YEAR + r"\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def _rfc3339(value: Any) -> Any:
    """Only an RFC 3339 string (or a datetime) is a timestamp: no Unix numbers, no `"0.5"`."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.match(value.strip()):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
    if isinstance(value, str) and re.match(r"^\s*[+-]?\d{4,}-", value) and not re.match(_YEAR, value.strip()):
        return check_bounds(datetime(1, 1, 1, tzinfo=UTC), "timestamp")  # raises: a year out of range
    raise ValueError("RFC 3339 timestamp with an offset expected")


def _bounded(value: datetime) -> datetime:
    return check_bounds(value, "timestamp")  # OutOfBounds is a ValueError: pydantic reports it as a 422


# A timestamp in a request: RFC 3339 with an offset (API.md), nothing else, between 1970 and 2200 (UTC).
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_bounded),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _YEAR,
                    "description": "RFC 3339 with an offset, from 1970-01-01 to 2200-01-01 (UTC)"}),
]


# Every text a request carries: no control characters (service/text.py), stated in the OpenAPI document.
Text = Annotated[str, StringConstraints(pattern=SINGLE_LINE)]
Prose = Annotated[str, StringConstraints(pattern=MULTI_LINE)]  # line breaks and tabs allowed (a reason)
Email = Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=SINGLE_LINE)]
Domain = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=SINGLE_LINE)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=SINGLE_LINE)]


def _integral(value: Any) -> Any:
    """JSON's 2.0 is the integer 2 (JSON Schema says so); 2.5, "2" and true are not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_integral)]


class Strict(BaseModel):
    # strict: a JSON 0 is not `false`, `false` is not 0, 1.0 is not a string — the document's types hold.
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if unstorable_text(data):
            raise ValueError("text must not hold NUL characters or unpaired surrogates")
        return data


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class Page(BaseModel):
    next_cursor: str | None = None


# ---- entitlement checks ------------------------------------------------------------------------
class ExternalRef(Strict):
    system: Text = Field(min_length=1, max_length=64)
    id: Text = Field(min_length=1, max_length=200)


class ClientSelector(Strict):
    id: Text | None = Field(None, max_length=64)
    email: Text | None = Field(None, max_length=320)
    phone: Text | None = Field(None, max_length=100)
    external_ref: ExternalRef | None = None


class ContactSelector(Strict):
    """The person asking, beside the client identifier: exactly one of email, phone."""

    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=100)


CheckChannel = Literal["phone", "email", "web", "chat", "remote", "onsite"]


class CheckRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"client": {"phone": "(212) 555-0142"}, "service": "advanced_support", "channel": "phone",
                 "at": "2026-11-24T10:00:00+00:00"}
            ]
        },
    )
    client: ClientSelector
    service: Text = Field(min_length=1, max_length=64)
    channel: CheckChannel | None = None
    at: Timestamp | None = None
    units: int | float | None = Field(None, gt=0, le=1_000_000, description="units the agent means to use (default 1)")
    contact: ContactSelector | None = None


class BatchRequest(Strict):
    items: list[dict[str, Any]] = Field(max_length=100)


class ReasonOut(BaseModel):
    code: str
    detail: str


class MatchedClientOut(BaseModel):
    id: str
    name: str
    matched_by: str


class ContractOut(BaseModel):
    status: str
    current_version: str | None
    signed_version: str | None
    signed_at: datetime | None
    grace_until: datetime | None


class MembershipOut(BaseModel):
    plan: str | None
    rank: int
    status: str | None
    current_period_end: datetime | None


class RoutingModel(Strict):
    priority: Text = Field(min_length=1, max_length=32)
    queue: Text = Field(min_length=1, max_length=64)


class SlaModel(Strict):
    first_response_minutes: Int = Field(ge=0, le=10_000_000)
    onsite_response_hours: Int = Field(ge=0, le=1_000_000)
    first_response_business_minutes: Int | None = Field(
        None, ge=0, le=100_000, description="first response in business minutes on the plan's calendar (instead of calendar time)"
    )
    onsite_response_business_hours: Int | None = Field(
        None, ge=0, le=2_000, description="on-site response in business hours on the plan's calendar (instead of calendar time)"
    )


class CalendarRef(BaseModel):
    code: str
    version: int


class DecisionSlaOut(BaseModel):
    """The SLA targets of the answer and their deadlines counted from its evaluation time."""

    first_response_minutes: int
    onsite_response_hours: int
    first_response_business_minutes: int | None = None
    onsite_response_business_hours: int | None = None
    first_response_due_at: datetime | None = None
    onsite_due_at: datetime | None = None
    clock: Literal["running", "outside_hours"] = "running"
    next_open_at: datetime | None = Field(None, description="null while the clock is running")
    calendar: CalendarRef | None = Field(None, description="the calendar version the deadlines were computed on; null = 24/7")


class MoneyModel(Strict):
    amount_minor: Int = Field(ge=0, le=10**12)
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")


class PlanOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PLAN_OUT]})
    code: str
    name: str
    rank: int
    monthly_price: MoneyModel
    routing: RoutingModel
    sla: SlaModel
    active: bool
    calendar: str | None = None
    external_prices: list[ExternalRef] = Field(default_factory=list, description="billing prices mapped to this plan")
    allowances: list[PlanAllowanceOut] = []


class ContactMatchOut(BaseModel):
    name: str
    roles: list[str]


class ApproverOut(BaseModel):
    name: str
    phone: str | None
    email: str | None


class DecisionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decision_id": "dec_aaaaaaaaaaaaaaaaaaaaaa",
                    "allowed": False,
                    "service": "advanced_support",
                    "reasons": [{"code": "CONTRACT_UNSIGNED", "detail": "the current contract is not signed"}],
                    "client": {"id": "cl_x", "name": "Acme Dental", "matched_by": "phone"},
                    "contract": {"status": "unsigned", "current_version": "2026.1", "signed_version": "2025.1",
                                 "signed_at": "2025-02-01T10:00:00+00:00", "grace_until": "2026-02-15T00:00:00+00:00"},
                    "membership": {"plan": None, "rank": 0, "status": None, "current_period_end": None},
                    "routing": {"priority": "normal", "queue": "standard"},
                    "sla": {"first_response_minutes": 240, "onsite_response_hours": 72},
                    "upsell": [],
                    "degraded": False,
                    "evaluated_at": "2026-11-24T10:00:00+00:00",
                    "normalized_phone": "+12125550142",
                    "contact": None,
                    "approvers": [],
                }
            ]
        }
    )
    decision_id: str
    allowed: bool
    service: str
    reasons: list[ReasonOut]
    client: MatchedClientOut | None
    contract: ContractOut
    membership: MembershipOut
    routing: RoutingModel
    sla: DecisionSlaOut
    upsell: list[PlanOut]
    degraded: bool
    evaluated_at: datetime
    normalized_phone: str = ""
    allowance: AllowanceOut | None = None
    contact: ContactMatchOut | None = None
    approvers: list[ApproverOut] = Field(default_factory=list)


class FlatDecision(BaseModel):
    """`?format=flat`: every value a string (empty, never null), no nesting, under 1 kB — for IVRs and flow builders."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.FLAT_DECISION]})
    allowed: str = Field(description='"true" or "false"')
    found: str = Field(description='"true" when the caller was matched to a client')
    client_id: str
    client_name: str = Field(description="shortened if needed to keep the answer under 1 kB")
    service: str
    reason: str = Field(description="the first reason code (empty when none)")
    reasons: str = Field(description="all reason codes, comma-separated")
    contract_status: str
    grace_until: str = Field(description="RFC 3339, or empty")
    signed_version: str
    plan: str = Field(description="membership plan code, or empty")
    rank: str
    priority: str
    queue: str
    route: str = Field(description="the one value to branch on: the queue when allowed, `triage` when refused")
    first_response_minutes: str
    onsite_response_hours: str
    first_response_due_at: str = Field("", description="RFC 3339 deadline of the first response, or empty")
    upsell: str = Field(description="codes of the plans that would grant the service, comma-separated")
    normalized_phone: str = Field(description="the caller id in E.164, or empty")
    degraded: str = Field(description='"true" when served from memory with the database away')
    decision_id: str
    evaluated_at: str
    allowance_unit: str = Field("", description="the allowance's unit, or empty when the service has none")
    allowance_remaining: str = Field("", description="units left this period (may be 2.5 for hours), or empty")
    allowance_state: str = Field("", description="ok | low | exhausted | overage, or empty")
    allowance_sentence: str = Field("", description='e.g. "2.5 hours left this month"; present only with an allowance')
    contact_name: str = Field("", description="the contact who asked, when the check identified one")


class BatchOut(BaseModel):
    results: list[dict[str, Any]]


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def plan_out(plan: dm.Plan) -> dict[str, Any]:
    return {
        "code": plan.code,
        "name": plan.name,
        "rank": plan.rank,
        "monthly_price": {"amount_minor": plan.monthly_price.amount_minor, "currency": plan.monthly_price.currency},
        "routing": {"priority": plan.routing.priority, "queue": plan.routing.queue},
        "sla": sla_out(plan.sla),
        "active": plan.active,
        "calendar": plan.calendar,
    }


def sla_out(sla: dm.Sla) -> dict[str, Any]:
    return {
        "first_response_minutes": sla.first_response_minutes,
        "onsite_response_hours": sla.onsite_response_hours,
        "first_response_business_minutes": sla.first_response_business_minutes,
        "onsite_response_business_hours": sla.onsite_response_business_hours,
    }


def sla_clock_out(clock: dm.SlaClock | None) -> dict[str, Any]:
    """The deadline fields that ride in every decision's `sla`."""
    if clock is None:
        return {"first_response_due_at": None, "onsite_due_at": None, "clock": "running", "next_open_at": None, "calendar": None}
    return {
        "first_response_due_at": _ts(clock.first_response_due_at),
        "onsite_due_at": _ts(clock.onsite_due_at),
        "clock": clock.clock.value,
        "next_open_at": _ts(clock.next_open_at),
        "calendar": {"code": clock.calendar_code, "version": clock.calendar_version} if clock.calendar_code else None,
    }


def decision_out(result: CheckResult) -> dict[str, Any]:
    """The decision as JSON-ready primitives (the hot path serialises this directly)."""
    d = result.decision
    c = d.contract
    m = d.membership
    return {
        "decision_id": result.decision_id,
        "allowed": d.allowed,
        "service": d.service,
        "reasons": [{"code": r.code.value, "detail": r.detail} for r in d.reasons],
        "client": (
            {"id": result.client.id, "name": result.client.name, "matched_by": result.client.matched_by}
            if result.client
            else None
        ),
        "contract": {
            "status": c.status.value,
            "current_version": c.current_version,
            "signed_version": c.signed_version,
            "signed_at": _ts(c.signed_at),
            "grace_until": _ts(c.grace_until),
        },
        "membership": {
            "plan": m.plan,
            "rank": m.rank,
            "status": m.status.value if m.status else None,
            "current_period_end": _ts(m.current_period_end),
        },
        "routing": {"priority": d.routing.priority, "queue": d.routing.queue},
        "sla": sla_out(d.sla) | sla_clock_out(d.sla_clock),
        "upsell": [plan_out(p) for p in d.upsell],
        "degraded": result.degraded,
        "evaluated_at": d.evaluated_at.isoformat(),
        "normalized_phone": result.normalized_phone,
        "allowance": view_json(d.allowance),
        "contact": {"name": result.contact.name, "roles": sorted(result.contact.roles)} if result.contact else None,
        "approvers": [{"name": a.name, "phone": a.phone, "email": a.email} for a in d.approvers],
    }


FLAT_MAX_BYTES = 1000
FLAT_TEXT_FLOOR = 48  # bytes of a free-text field kept while others can still give way


def flat_out(result: CheckResult) -> dict[str, str]:
    """The flat string map, kept under 1 kB (Studio, Connect) by shortening the free-text fields."""
    flat = _flat_fields(result)
    # First every free-text field down to a readable head, then, only if still over, further.
    for floor in (FLAT_TEXT_FLOOR, 0):
        for key in ("upsell", "client_name", "contact_name", "reasons", "allowance_sentence"):
            over = len(orjson.dumps(flat)) - FLAT_MAX_BYTES
            if over <= 0:
                return flat
            if key not in flat:
                continue
            encoded = flat[key].encode()
            keep = max(min(floor, len(encoded)), len(encoded) - over)
            flat[key] = encoded[:keep].decode("utf-8", "ignore")
    return flat


def _flat_fields(result: CheckResult) -> dict[str, str]:
    d = result.decision
    return {
        "allowed": "true" if d.allowed else "false",
        "found": "true" if result.client else "false",
        "client_id": result.client.id if result.client else "",
        "client_name": result.client.name if result.client else "",
        "service": d.service,
        "reason": d.reasons[0].code.value if d.reasons else "",
        "reasons": ",".join(r.code.value for r in d.reasons),
        "contract_status": d.contract.status.value,
        "grace_until": _ts(d.contract.grace_until) or "",
        "signed_version": d.contract.signed_version or "",
        "plan": d.membership.plan or "",
        "rank": str(d.membership.rank),
        "priority": d.routing.priority,
        "queue": d.routing.queue,
        "route": d.routing.queue if d.allowed else "triage",
        "first_response_minutes": str(d.sla.first_response_minutes),
        "onsite_response_hours": str(d.sla.onsite_response_hours),
        "first_response_due_at": _ts(d.sla_clock.first_response_due_at if d.sla_clock else None) or "",
        "upsell": ",".join(p.code for p in d.upsell),
        "normalized_phone": result.normalized_phone,
        "degraded": "true" if result.degraded else "false",
        "decision_id": result.decision_id,
        "evaluated_at": d.evaluated_at.isoformat(),
        **_flat_allowance(d.allowance),
        "contact_name": result.contact.name if result.contact else "",
    }


def _flat_allowance(view: AllowanceView | None) -> dict[str, str]:
    if view is None:  # the sentence only rides along with an allowance: the 1 kB holds the long names first
        return {"allowance_unit": "", "allowance_remaining": "", "allowance_state": ""}
    return {"allowance_unit": view.unit.value, "allowance_remaining": format_units(view.remaining_q),
            "allowance_state": view.state.value, "allowance_sentence": view.sentence()}


# ---- clients -----------------------------------------------------------------------------------
class ContactIn(Strict):
    name: str = Field(min_length=1, max_length=300)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=100)
    roles: list[Literal["requester", "approver", "billing"]] = Field(default_factory=list, max_length=3)


class ContactOut(BaseModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    roles: list[str]


class ClientCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Acme Dental", "emails": ["office@acmedental.com"], "domains": ["acmedental.com"],
                 "phones": ["(212) 555-0142"], "external_refs": [{"system": "halopsa", "id": "1042"}]}
            ]
        },
    )
    name: Text = Field(min_length=1, max_length=300)
    emails: list[Email] = Field(default_factory=list, max_length=100)
    domains: list[Domain] = Field(default_factory=list, max_length=100)
    phones: list[Phone] = Field(default_factory=list, max_length=100)
    external_refs: list[ExternalRef] = Field(default_factory=list, max_length=100)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=100)
    restrict_to_contacts: bool = False


class ClientPatch(Strict):
    name: Text | None = Field(None, min_length=1, max_length=300)
    status: Literal["active", "archived"] | None = None
    emails: list[Email] | None = Field(None, max_length=100)
    domains: list[Domain] | None = Field(None, max_length=100)
    phones: list[Phone] | None = Field(None, max_length=100)
    external_refs: list[ExternalRef] | None = Field(None, max_length=100)
    contacts: list[ContactIn] | None = Field(None, max_length=100, description="replaces the client's contacts")
    restrict_to_contacts: bool | None = None


class ClientOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CLIENT_OUT]})
    id: str
    name: str
    status: str
    emails: list[str]
    domains: list[str]
    phones: list[str]
    external_refs: list[ExternalRef]
    contract: ContractOut | None = None
    membership: MembershipOut | None = None
    created_at: datetime
    updated_at: datetime
    contacts: list[ContactOut] = Field(default_factory=list)
    restrict_to_contacts: bool = False


class ClientPage(Page):
    items: list[ClientOut]


class ImportResultOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.IMPORT_RESULT_OUT]})
    created: int
    updated: int
    unchanged: int
    errors: list[dict[str, Any]]
    dry_run: bool


class EventOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EVENT_OUT]})
    id: str
    kind: str
    actor: str
    subject: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class EventPage(Page):
    items: list[EventOut]


class ServiceDecisionPage(BaseModel):
    client: MatchedClientOut
    evaluated_at: datetime
    items: list[DecisionOut]
    next_cursor: str | None = None


class MembershipPut(Strict):
    plan: Text = Field(min_length=1, max_length=64)
    status: Literal["active", "trialing", "past_due", "canceled", "expired"]
    current_period_end: Timestamp | None = None
    external_ref: Text | None = Field(None, max_length=200)


class MembershipRecordOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.MEMBERSHIP_RECORD_OUT]})
    id: str
    plan: str
    status: str
    current_period_end: datetime | None
    external_ref: str | None
    created_at: datetime
    superseded_at: datetime | None


class AcceptanceIn(Strict):
    contract_version: Text = Field(min_length=1, max_length=64)
    decision: Literal["signed", "declined"]
    method: Literal["paper", "manual", "phone", "click_through", "email", "provider"] = "manual"
    signer_name: Text | None = Field(None, max_length=300)
    signer_email: Text | None = Field(None, max_length=320)
    signed_at: Timestamp


class AcceptanceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ACCEPTANCE_OUT]})
    id: str
    contract_version: str
    decision: str
    method: str
    signer_name: str | None
    signer_email: str | None
    signed_at: datetime
    provider: str | None
    envelope_id: str | None
    actor: str
    created_at: datetime


class AcceptancePage(Page):
    items: list[AcceptanceOut]


class SignatureRequestIn(Strict):
    provider: Literal["docusign", "dropbox_sign", "pandadoc", "adobe_sign", "standard"]
    external_id: Text = Field(min_length=1, max_length=200)
    contract_version: Text = Field(min_length=1, max_length=64)


class SignatureRequestOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SIGNATURE_REQUEST_OUT]})
    id: str
    provider: str
    external_id: str
    contract_version: str
    status: str
    created_at: datetime
    updated_at: datetime


class SignatureRequestPage(Page):
    items: list[SignatureRequestOut]


class GraceIn(Strict):
    until: Timestamp


class GraceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.GRACE_OUT]})
    client_id: str
    contract_version: str
    grace_until: datetime


class OverrideIn(Strict):
    service: Text = Field(min_length=1, max_length=64)
    expires_at: Timestamp
    reason: Prose = Field(min_length=1, max_length=1000)


class OverrideOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.OVERRIDE_OUT]})
    id: str
    client_id: str
    service: str
    reason: str
    actor: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool


class OverridePage(Page):
    items: list[OverrideOut]


# ---- catalog and contracts ---------------------------------------------------------------------
class ServiceIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    requires_contract: bool
    min_rank: Int = Field(ge=0, le=1000)
    channel_min_rank: dict[CheckChannel, Annotated[int, Ge(0), Le(1000), BeforeValidator(_integral)]] = Field(
        default_factory=dict, description="through that channel the service needs that rank instead of min_rank"
    )


class ServiceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SERVICE_OUT]})
    code: str
    name: str
    requires_contract: bool
    min_rank: int
    channel_min_rank: dict[str, int] = Field(default_factory=dict)


class ServicePage(Page):
    items: list[ServiceOut]


class PlanIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 19900, "currency": "USD"},
                 "routing": {"priority": "high", "queue": "priority"},
                 "sla": {"first_response_minutes": 30, "onsite_response_hours": 8}, "active": True}
            ]
        },
    )
    name: Text = Field(min_length=1, max_length=200)
    rank: Int = Field(ge=1, le=1000)
    monthly_price: MoneyModel
    routing: RoutingModel
    sla: SlaModel
    active: bool = True
    calendar: str | None = Field(None, min_length=1, max_length=64, description="the calendar the business-time SLA targets run on")
    # Absent = keep the plan's current prices; a list replaces them. A price belongs to one plan (409).
    external_prices: list[ExternalRef] | None = Field(
        None, max_length=100, description='billing prices that put a client on this plan, e.g. {"system": "stripe", "id": "price_…"}')
    allowances: list[PlanAllowanceIn] | None = Field(None, description="included units per period; omitted: unchanged")


class PlanPage(Page):
    items: list[PlanOut]


class ContractIn(Strict):
    version: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    title: Text = Field(min_length=1, max_length=300)
    document_url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://[^\x00-\x20\x7f-\x9f]+$")
    document_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    grace_days: Int = Field(ge=0, le=3650)
    term_days: Annotated[int, Field(ge=1, le=36500), BeforeValidator(_integral)] | None = None


class PublishIn(Strict):
    at: Timestamp | None = None


class ContractVersionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONTRACT_VERSION_OUT]})
    version: str
    title: str
    document_url: str
    document_sha256: str
    grace_days: int
    term_days: int | None
    status: str
    created_at: datetime
    published_at: datetime | None


class ContractPage(Page):
    items: list[ContractVersionOut]


class CoverageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.COVERAGE_OUT]})
    clients_active: int
    contract: dict[str, int]
    signed_pct: float
    members: dict[str, int]
    members_pct: float
    rmr: MoneyModel
    rmr_by_currency: list[MoneyModel]
    evaluated_at: datetime
    allowances: dict[str, list[AllowanceUsageOut]] = Field(
        default_factory=dict, description="per plan: each allowance's units used this period, and the members at or past the warning")


_CLIENT_TO_CHASE_EXAMPLE: dict[str, Any] = {
    "id": "cl_agrbd7tbg4frynlpzqgq4vy", "name": "Acme Dental", "contract_status": "pending",
    "grace_until": "2026-12-24T00:00:00+00:00", "days_left": 12, "current_version": "2026.1",
    "emails": ["office@acmedental.com"], "phones": ["+12125550142"],
}


class ClientToChaseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CLIENT_TO_CHASE_EXAMPLE]})
    id: str
    name: str
    contract_status: Literal["pending", "unsigned", "declined", "expired"]
    grace_until: datetime
    days_left: int = Field(description="whole days until grace_until, rounded up; zero or negative once past")
    current_version: str
    emails: list[str]
    phones: list[str]


class ClientToChasePage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CLIENT_TO_CHASE_EXAMPLE], "next_cursor": None}]})
    items: list[ClientToChaseOut]
    next_cursor: str | None


class Health(BaseModel):
    status: str


# ---- e-signature webhooks ----------------------------------------------------------------------
class WebhookEventOut(BaseModel):
    """One stored webhook event (the inbox); the raw body is kept but not shown here."""

    id: str
    provider: str
    event_key: str
    event_type: str | None
    envelope_id: str | None
    status: Literal["received", "processed", "unmatched", "failed", "unconfirmed", "refused"]
    detail: str | None
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    next_attempt_at: datetime | None


class WebhookEventPage(Page):
    items: list[WebhookEventOut]


class WebhookAck(BaseModel):
    """What a webhook endpoint answers once the delivery is verified and stored (or known already).

    The answer comes as soon as the events are stored; a background job applies them (see the inbox,
    `GET /v1/webhooks/events`, for each event's outcome)."""

    status: str = Field(description="received (stored; applied by a background job) | duplicate (known already)")
    events: list[str] = Field(description="inbox ids of the events this delivery stored")


class StripeAck(BaseModel):
    """What the Stripe endpoint answers once an event is verified and stored (or known already)."""

    received: bool = True


class BillingSyncIn(Strict):
    dry_run: bool = False


class BillingSyncChange(BaseModel):
    client_id: str
    from_: dict[str, Any] | None = Field(alias="from", description="the membership before (plan, status, period end, subscription)")
    to: dict[str, Any] = Field(description="the membership as billing says it is")
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class BillingSyncOut(BaseModel):
    checked: int = Field(description="subscriptions listed from the billing system")
    changed: list[BillingSyncChange] = Field(description="memberships that differed (corrected unless dry_run)")
    unmatched: list[dict[str, Any]] = Field(default_factory=list, description="subscriptions no client or plan matches")
    dry_run: bool = False
    job_id: str | None = None
# ---- allowances (the plan's part; the rest is in allowance_schemas) ---------------------------------
# A quantity of units (hours to the quarter): an int or a float. Pydantic cannot state bounds on a union
# in the document, so the schema is given as JSON Schema says it (minimum / exclusiveMinimum, maximum).
Quantity = Annotated[int | float, Field(ge=0, le=1_000_000), WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1_000_000})]
PositiveQuantity = Annotated[
    int | float, Field(gt=0, le=1_000_000), WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000})
]


class PlanAllowanceIn(Strict):
    service: str = Field(min_length=1, max_length=64)
    unit: Literal["incidents", "hours", "visits"]
    amount: Quantity = Field(description="units included per period (hours to the quarter)")
    period: Literal["month", "quarter", "year"]
    rollover_max: Quantity = Field(0, description="unused included units carried over, at most")
    overage: Literal["refuse", "allow", "approval"] = "refuse"
    warn_at_pct: Int = Field(80, ge=0, le=100)


class PlanAllowanceOut(BaseModel):
    service: str
    unit: str
    amount: int | float
    period: str
    rollover_max: int | float
    overage: str
    warn_at_pct: int


_ALLOWANCE_EXAMPLE: dict[str, Any] = {
    "service": "remote_support", "unit": "hours", "included": 10, "rollover": 2, "granted": 5, "used": 14.5,
    "remaining": 2.5, "overage": 0, "period": "month", "period_start": "2026-12-01T00:00:00+00:00",
    "period_end": "2027-01-01T00:00:00+00:00", "state": "low", "policy": "refuse", "warn_at_pct": 80,
    "sentence": "2.5 hours left this month",
}


class AllowanceOut(BaseModel):
    """A client's allowance of one service at the evaluation time (this period)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ALLOWANCE_EXAMPLE]})
    service: str
    unit: str
    included: int | float
    rollover: int | float = Field(description="unused included units carried in from the previous period")
    granted: int | float = Field(description="units of the client's live prepaid blocks")
    used: int | float
    remaining: int | float = Field(description="included + rollover + granted - used")
    overage: int | float = Field(description="units used this period beyond what was left (billable)")
    period: str
    period_start: datetime
    period_end: datetime
    state: Literal["ok", "low", "exhausted", "overage"]
    policy: Literal["refuse", "allow", "approval"]
    warn_at_pct: int
    sentence: str = Field(description='for an IVR to read out: "2.5 hours left this month"')



class AllowanceUsageOut(BaseModel):
    service: str
    unit: str
    period_start: datetime
    period_end: datetime
    used: int | float = Field(description="units the plan's members used this period (overage included)")
    clients_at_warning: int = Field(description="members at or past warn_at_pct, exhausted or in overage")


PlanIn.model_rebuild()
PlanOut.model_rebuild()
DecisionOut.model_rebuild()
CoverageOut.model_rebuild()
