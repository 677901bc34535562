"""Plans and services of the catalog (admin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.domain import model as dm
from service.errors import Conflict, InvalidInput
from service.identifiers import normalize_external
from service.storage import tables as t
from service.storage.billing import BillingRepository
from service.storage.sql import SqlRepository
from service.usecases import audit
from service.usecases.calendars import require_calendar


def service_dict(row: t.Service) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "requires_contract": row.requires_contract, "min_rank": row.min_rank,
            "channel_min_rank": dict(sorted((row.channel_min_rank or {}).items()))}


def plan_dict(row: t.Plan, external_prices: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "rank": row.rank,
        "monthly_price": {"amount_minor": row.price_amount_minor, "currency": row.price_currency},
        "routing": {"priority": row.routing_priority, "queue": row.routing_queue},
        "sla": {
            "first_response_minutes": row.first_response_minutes, "onsite_response_hours": row.onsite_response_hours,
            "first_response_business_minutes": row.first_response_business_minutes,
            "onsite_response_business_hours": row.onsite_response_business_hours,
        },
        "active": row.active,
        "calendar": row.calendar_code,
        "external_prices": [{"system": system, "id": value} for system, value in external_prices],
    }


def load_catalog(session: Session, policy: dm.Policy) -> dm.Catalog:
    """The catalog as the check sees it (services, plans, published versions, calendars), read now."""
    return SqlRepository(session).load_catalog(policy)


def service_page(session: Session, *, limit: int, after: tuple[int, str] | None) -> Sequence[t.Service]:
    """A page of the catalog's services, by (min rank, code)."""
    return SqlRepository(session).service_page(limit=limit, after=after)


def plan_page(session: Session, *, limit: int, after: tuple[int, str] | None) -> Sequence[t.Plan]:
    """A page of the membership plans, by (rank, code)."""
    return SqlRepository(session).plan_page(limit=limit, after=after)


def external_prices(session: Session, plan_codes: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Each plan's prices in billing systems, (system, price id)."""
    return BillingRepository(session).external_prices(plan_codes)


def put_service(
    session: Session, *, code: str, name: str, requires_contract: bool, min_rank: int, actor: str, now: datetime,
    channel_min_rank: dict[str, int] | None = None,
) -> tuple[t.Service, bool]:
    repo = SqlRepository(session)
    row = repo.get_service(code)
    before = service_dict(row) if row else None
    created = row is None
    if row is None:
        row = t.Service(code=code, name=name, requires_contract=requires_contract, min_rank=min_rank, updated_at=now)
        session.add(row)
    else:
        row.name, row.requires_contract, row.min_rank, row.updated_at = name, requires_contract, min_rank, now
    row.channel_min_rank = dict(sorted((channel_min_rank or {}).items())) or None
    after = service_dict(row)
    if before != after:
        audit.record(session, kind="service.put", actor=actor, at=now, scope="catalog", subject=code, before=before, after=after)
    session.flush()
    return row, created


@dataclass(frozen=True)
class PlanInput:
    code: str
    name: str
    rank: int
    amount_minor: int
    currency: str
    priority: str
    queue: str
    first_response_minutes: int
    onsite_response_hours: int
    active: bool
    calendar: str | None = None
    first_response_business_minutes: int | None = None
    onsite_response_business_hours: int | None = None
    # None keeps the plan's prices; a sequence of (system, id) replaces them.
    external_prices: Sequence[tuple[str, str]] | None = None


def put_plan(session: Session, plan: PlanInput, *, actor: str, now: datetime) -> tuple[t.Plan, bool]:
    if plan.rank < 1:
        raise InvalidInput("a plan's rank is 1 or more (rank 0 means no membership)")
    business = plan.first_response_business_minutes is not None or plan.onsite_response_business_hours is not None
    if business and plan.calendar is None:
        raise InvalidInput("business-time SLA targets need the plan's calendar",
                           errors=[{"loc": ["body", "calendar"], "msg": "the code of the calendar the targets run on"}])
    require_calendar(session, plan.calendar)
    repo, billing = SqlRepository(session), BillingRepository(session)
    prices = _external_prices(billing, plan) if plan.external_prices is not None else None
    row = repo.get_plan(plan.code)
    before = plan_dict(row, billing.external_prices([plan.code])[plan.code]) if row else None
    created = row is None
    if row is None:
        row = t.Plan(code=plan.code, updated_at=now)
        session.add(row)
    row.name, row.rank, row.active = plan.name, plan.rank, plan.active
    row.price_amount_minor, row.price_currency = plan.amount_minor, plan.currency.upper()
    row.routing_priority, row.routing_queue = plan.priority, plan.queue
    row.first_response_minutes, row.onsite_response_hours = plan.first_response_minutes, plan.onsite_response_hours
    row.calendar_code = plan.calendar
    row.first_response_business_minutes = plan.first_response_business_minutes
    row.onsite_response_business_hours = plan.onsite_response_business_hours
    row.updated_at = now
    if prices is not None:
        session.flush()
        if not billing.replace_external_prices(plan.code, prices, now):
            raise Conflict("an external price belongs to another plan")
    after = plan_dict(row, billing.external_prices([plan.code])[plan.code])
    if before != after:
        audit.record(session, kind="plan.put", actor=actor, at=now, scope="catalog", subject=plan.code, before=before, after=after)
    session.flush()
    return row, created


def _external_prices(billing: BillingRepository, plan: PlanInput) -> list[tuple[str, str]]:
    """The plan's new prices, normalised; 409 when one maps to another plan (a price names one plan)."""
    prices: list[tuple[str, str]] = []
    for system, value in plan.external_prices or ():
        ref = normalize_external(system, value)
        if ref not in prices:
            prices.append(ref)
    for system, value in prices:
        owner = billing.price_owner(system, value)
        if owner is not None and owner != plan.code:
            raise Conflict(f"the price {system}:{value} belongs to the plan {owner!r}")
    return prices
