"""Response models of the report routes (coverage, clients to chase)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api import examples
from service.api.schemas.allowances import AllowanceUsageOut
from service.api.schemas.catalog import MoneyModel


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
