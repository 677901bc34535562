"""Request and response models of the check routes (JSON, flat and batch answers), and a decision's mapping to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from service.api import examples
from service.api.schemas.allowances import AllowanceOut
from service.api.schemas.catalog import PlanOut, RoutingModel, plan_out, sla_out
from service.api.schemas.common import CheckChannel, ExternalRef, Strict, Text, Timestamp, iso_text
from service.domain import model as dm
from service.domain.allowance import AllowanceView, format_units
from service.usecases.allowances import view_json
from service.usecases.checks import CheckResult


class ClientSelector(Strict):
    id: Text | None = Field(None, max_length=64)
    email: Text | None = Field(None, max_length=320)
    phone: Text | None = Field(None, max_length=100)
    external_ref: ExternalRef | None = None


class ContactSelector(Strict):
    """The person asking, beside the client identifier: exactly one of email, phone."""

    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=100)


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


def sla_clock_out(clock: dm.SlaClock | None) -> dict[str, Any]:
    """The deadline fields that ride in every decision's `sla`."""
    if clock is None:
        return {"first_response_due_at": None, "onsite_due_at": None, "clock": "running", "next_open_at": None, "calendar": None}
    return {
        "first_response_due_at": iso_text(clock.first_response_due_at),
        "onsite_due_at": iso_text(clock.onsite_due_at),
        "clock": clock.clock.value,
        "next_open_at": iso_text(clock.next_open_at),
        "calendar": {"code": clock.calendar_code, "version": clock.calendar_version} if clock.calendar_code else None,
    }


def contract_json(view: dm.ContractView) -> dict[str, Any]:
    """A contract view as it rides in a decision and in a client record."""
    return {
        "status": view.status.value,
        "current_version": view.current_version,
        "signed_version": view.signed_version,
        "signed_at": iso_text(view.signed_at),
        "grace_until": iso_text(view.grace_until),
    }


def membership_json(view: dm.MembershipView) -> dict[str, Any]:
    """A membership view as it rides in a decision and in a client record."""
    return {
        "plan": view.plan,
        "rank": view.rank,
        "status": view.status.value if view.status else None,
        "current_period_end": iso_text(view.current_period_end),
    }


def decision_out(result: CheckResult) -> dict[str, Any]:
    """The decision as JSON-ready primitives (the hot path serialises this directly)."""
    d = result.decision
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
        "contract": contract_json(d.contract),
        "membership": membership_json(d.membership),
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
        "grace_until": iso_text(d.contract.grace_until) or "",
        "signed_version": d.contract.signed_version or "",
        "plan": d.membership.plan or "",
        "rank": str(d.membership.rank),
        "priority": d.routing.priority,
        "queue": d.routing.queue,
        "route": d.routing.queue if d.allowed else "triage",
        "first_response_minutes": str(d.sla.first_response_minutes),
        "onsite_response_hours": str(d.sla.onsite_response_hours),
        "first_response_due_at": iso_text(d.sla_clock.first_response_due_at if d.sla_clock else None) or "",
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
