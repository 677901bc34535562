"""Request and response models of the catalog routes (services, plans), and a plan's mapping to its JSON."""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from service.api import examples
from service.api.schemas.allowances import PlanAllowanceIn, PlanAllowanceOut
from service.api.schemas.common import CheckChannel, ExternalRef, Int, Page, Strict, Text, integral
from service.domain import model as dm


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


class ServiceIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    requires_contract: bool
    min_rank: Int = Field(ge=0, le=1000)
    channel_min_rank: dict[CheckChannel, Annotated[int, Ge(0), Le(1000), BeforeValidator(integral)]] = Field(
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
