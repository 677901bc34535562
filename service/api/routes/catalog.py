"""The service catalog and the membership plans (admin writes; clients:read may read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from service.api.deps import Admin, CatalogReader, NowDep, ReadSessionDep, SessionDep
from service.api.paging import Cursor, Keyset, Limit
from service.api.routes.clients import WRITE_ERRORS
from service.api.schemas.catalog import PlanIn, PlanOut, PlanPage, ServiceIn, ServiceOut, ServicePage
from service.api.schemas.common import CodePath
from service.usecases import allowances as allowance_uc
from service.usecases import catalog as uc

router = APIRouter(tags=["catalog"])


@router.get("/v1/services", response_model=ServicePage, summary="The service catalog", responses=WRITE_ERRORS)
def list_services(session: ReadSessionDep, caller: CatalogReader, limit: int = Limit, cursor: str | None = Cursor) -> dict[str, Any]:
    keyset = Keyset("services", int, str)
    rows = uc.service_page(session, limit=limit + 1, after=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.min_rank, r.code))
    return {"items": [uc.service_dict(r) for r in page], "next_cursor": next_cursor}


@router.put("/v1/services/{code}", response_model=ServiceOut, summary="Create or change a catalog service",
            responses={**WRITE_ERRORS, 201: {"model": ServiceOut, "description": "Created"}})
def put_service(
    body: ServiceIn, session: SessionDep, caller: Admin, now: NowDep, response: Response, code: str = CodePath
) -> dict[str, Any]:
    row, created = uc.put_service(
        session, code=code, name=body.name, requires_contract=body.requires_contract, min_rank=body.min_rank,
        actor=caller.name, now=now, channel_min_rank={str(k): v for k, v in body.channel_min_rank.items()},
    )
    response.status_code = 201 if created else 200
    return uc.service_dict(row)


@router.get("/v1/plans", response_model=PlanPage, summary="The membership plans", responses=WRITE_ERRORS)
def list_plans(session: ReadSessionDep, caller: CatalogReader, limit: int = Limit, cursor: str | None = Cursor) -> dict[str, Any]:
    keyset = Keyset("plans", int, str)
    rows = uc.plan_page(session, limit=limit + 1, after=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.rank, r.code))
    prices = uc.external_prices(session, [r.code for r in page])
    items = [{**uc.plan_dict(r, prices[r.code]), "allowances": allowance_uc.plan_allowances_out(session, r.code)} for r in page]
    return {"items": items, "next_cursor": next_cursor}


@router.put("/v1/plans/{code}", response_model=PlanOut, summary="Create or change a membership plan",
            responses={**WRITE_ERRORS, 201: {"model": PlanOut, "description": "Created"}})
def put_plan(
    body: PlanIn, session: SessionDep, caller: Admin, now: NowDep, response: Response, code: str = CodePath
) -> dict[str, Any]:
    plan = uc.PlanInput(
        code=code, name=body.name, rank=body.rank, amount_minor=body.monthly_price.amount_minor,
        currency=body.monthly_price.currency, priority=body.routing.priority, queue=body.routing.queue,
        first_response_minutes=body.sla.first_response_minutes, onsite_response_hours=body.sla.onsite_response_hours,
        active=body.active, calendar=body.calendar,
        first_response_business_minutes=body.sla.first_response_business_minutes,
        onsite_response_business_hours=body.sla.onsite_response_business_hours,
        external_prices=[(p.system, p.id) for p in body.external_prices] if body.external_prices is not None else None,
    )
    row, created = uc.put_plan(session, plan, actor=caller.name, now=now)
    if body.allowances is not None:
        allowance_uc.put_plan_allowances(session, code, [a.model_dump() for a in body.allowances], actor=caller.name, now=now)
    response.status_code = 201 if created else 200
    return {**uc.plan_dict(row, uc.external_prices(session, [code])[code]),
            "allowances": allowance_uc.plan_allowances_out(session, code)}
