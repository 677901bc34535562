"""Request and response models of the allowances: a plan's, a client's (in a decision and a report), the grants', the ledger's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from service.api.schemas.common import Int, Page, Strict, Timestamp
from service.text import MULTI_LINE, SINGLE_LINE

Units = int | float
UnitName = Literal["incidents", "hours", "visits"]


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


class GrantIn(Strict):
    service: str = Field(pattern=SINGLE_LINE, min_length=1, max_length=64)
    unit: UnitName
    amount: PositiveQuantity
    expires_at: Timestamp | None = None
    reason: str = Field(pattern=MULTI_LINE, min_length=1, max_length=1000)


class GrantOut(BaseModel):
    id: str
    client_id: str
    service: str
    unit: str
    amount: Units
    used: Units
    remaining: Units
    expires_at: datetime | None
    reason: str
    actor: str
    created_at: datetime
    active: bool


class GrantPage(Page):
    items: list[GrantOut]


class UsageIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"service": "remote_support", "units": 1.5, "idempotency_key": "ticket-4711-visit-1", "ticket_ref": "4711"}
    ]})
    service: str = Field(pattern=SINGLE_LINE, min_length=1, max_length=64)
    units: PositiveQuantity = Field(description="hours to the quarter (0.25); incidents and visits whole")
    idempotency_key: str = Field(pattern=SINGLE_LINE, min_length=1, max_length=200,
                                 description="the ticket or call id: the same key records once")
    ticket_ref: str | None = Field(None, pattern=SINGLE_LINE, max_length=200)
    at: Timestamp | None = Field(None, description="when the work was done (its period counts it); default now")


class UsageOut(BaseModel):
    usage_id: str
    client_id: str
    service: str
    units: Units
    overage_units: Units
    idempotency_key: str | None = None
    ticket_ref: str | None = None
    reverses: str | None = None
    reason: str | None = None
    at: datetime
    allowance: AllowanceOut | None


class ReverseIn(Strict):
    reason: str = Field(pattern=MULTI_LINE, min_length=1, max_length=1000)


class LedgerEntryOut(BaseModel):
    usage_id: str
    kind: Literal["use", "reversal"]
    service: str
    units: Units
    overage_units: Units
    idempotency_key: str
    ticket_ref: str | None
    at: datetime
    reverses: str | None
    reason: str | None
    actor: str
    created_at: datetime


class LedgerPage(Page):
    items: list[LedgerEntryOut]
