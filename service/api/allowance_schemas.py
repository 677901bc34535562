"""Request and response models of the allowance routes (the plan's, the grants', the ledger's)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas import AllowanceOut, Page, PlanAllowanceIn, PlanAllowanceOut, PositiveQuantity, Strict, Timestamp
from service.text import MULTI_LINE, SINGLE_LINE

Units = int | float
UnitName = Literal["incidents", "hours", "visits"]
__all__ = ["AllowanceOut", "PlanAllowanceIn", "PlanAllowanceOut"]


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
