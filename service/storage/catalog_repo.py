"""The catalog's SQL: services, plans, contract versions, business calendars; load_catalog builds the domain Catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa

from service.domain import allowance as da
from service.domain import model as dm
from service.storage import tables as t
from service.storage.calendars import current_versions, to_calendar
from service.storage.paging import keyset_page
from service.storage.session_repo import SessionRepository


def _to_plan(row: t.Plan) -> dm.Plan:
    return dm.Plan(
        code=row.code,
        name=row.name,
        rank=row.rank,
        monthly_price=dm.Money(row.price_amount_minor, row.price_currency),
        routing=dm.Routing(row.routing_priority, row.routing_queue),
        sla=dm.Sla(row.first_response_minutes, row.onsite_response_hours,
                   row.first_response_business_minutes, row.onsite_response_business_hours),
        active=row.active,
        calendar=row.calendar_code,
    )


def _to_service(row: t.Service) -> dm.Service:
    channel_ranks = tuple(sorted((str(k), int(v)) for k, v in (row.channel_min_rank or {}).items()))
    return dm.Service(row.code, row.name, row.requires_contract, row.min_rank, channel_ranks)


class CatalogSql(SessionRepository):
    # ---- catalog -------------------------------------------------------------------------------
    def load_catalog(self, policy: dm.Policy) -> dm.Catalog:
        s = self.session
        services = {r.code: _to_service(r) for r in s.scalars(sa.select(t.Service))}
        plans = {r.code: _to_plan(r) for r in s.scalars(sa.select(t.Plan))}
        for row in s.scalars(sa.select(t.PlanAllowances)):
            if row.plan_code in plans and row.allowances:
                allowances = tuple(da.allowance_from_record(a) for a in row.allowances)
                plans[row.plan_code] = replace(plans[row.plan_code], allowances=allowances)
        versions = tuple(
            dm.ContractVersion(r.version, r.grace_days, r.term_days, r.published_at)
            for r in s.scalars(sa.select(t.ContractVersion).where(t.ContractVersion.published_at.is_not(None)))
        )
        calendars = {r.calendar_code: to_calendar(r) for r in current_versions(s)}
        return dm.Catalog(services=services, plans=plans, versions=versions, policy=policy, calendars=calendars)

    def list_services(self) -> Sequence[t.Service]:
        return self.session.scalars(sa.select(t.Service).order_by(t.Service.min_rank, t.Service.code)).all()

    def get_service(self, code: str) -> t.Service | None:
        return self.session.get(t.Service, code)

    def list_plans(self) -> Sequence[t.Plan]:
        return self.session.scalars(sa.select(t.Plan).order_by(t.Plan.rank, t.Plan.code)).all()

    def get_plan(self, code: str) -> t.Plan | None:
        return self.session.get(t.Plan, code)

    # ---- contract versions ---------------------------------------------------------------------
    def get_version(self, version: str) -> t.ContractVersion | None:
        return self.session.get(t.ContractVersion, version)

    def list_versions(self) -> Sequence[t.ContractVersion]:
        return self.session.scalars(sa.select(t.ContractVersion).order_by(t.ContractVersion.created_at.desc())).all()


    # ---- pages of the lists: keyset (rows after the last key seen, `limit` rows), never OFFSET ---
    def service_page(self, *, limit: int, after: tuple[int, str] | None) -> Sequence[t.Service]:
        key = (t.Service.min_rank, t.Service.code)
        return self.session.scalars(keyset_page(sa.select(t.Service), key, limit=limit, after=after)).all()

    def plan_page(self, *, limit: int, after: tuple[int, str] | None) -> Sequence[t.Plan]:
        key = (t.Plan.rank, t.Plan.code)
        return self.session.scalars(keyset_page(sa.select(t.Plan), key, limit=limit, after=after)).all()
