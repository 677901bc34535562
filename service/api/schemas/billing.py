"""Request and response models of the billing sync route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import Strict


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
