"""Plans and services of the catalog (admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.storage import tables as t
from service.storage.sql import SqlRepository
from service.usecases import audit


def service_dict(row: t.Service) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "requires_contract": row.requires_contract, "min_rank": row.min_rank,
            "channel_min_rank": dict(sorted((row.channel_min_rank or {}).items()))}


def plan_dict(row: t.Plan) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "rank": row.rank,
        "monthly_price": {"amount_minor": row.price_amount_minor, "currency": row.price_currency},
        "routing": {"priority": row.routing_priority, "queue": row.routing_queue},
        "sla": {"first_response_minutes": row.first_response_minutes, "onsite_response_hours": row.onsite_response_hours},
        "active": row.active,
    }


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


def put_plan(session: Session, plan: PlanInput, *, actor: str, now: datetime) -> tuple[t.Plan, bool]:
    if plan.rank < 1:
        raise InvalidInput("a plan's rank is 1 or more (rank 0 means no membership)")
    repo = SqlRepository(session)
    row = repo.get_plan(plan.code)
    before = plan_dict(row) if row else None
    created = row is None
    if row is None:
        row = t.Plan(code=plan.code, updated_at=now)
        session.add(row)
    row.name, row.rank, row.active = plan.name, plan.rank, plan.active
    row.price_amount_minor, row.price_currency = plan.amount_minor, plan.currency.upper()
    row.routing_priority, row.routing_queue = plan.priority, plan.queue
    row.first_response_minutes, row.onsite_response_hours = plan.first_response_minutes, plan.onsite_response_hours
    row.updated_at = now
    after = plan_dict(row)
    if before != after:
        audit.record(session, kind="plan.put", actor=actor, at=now, scope="catalog", subject=plan.code, before=before, after=after)
    session.flush()
    return row, created
