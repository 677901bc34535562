"""Queries of the allowances: plan allowances, block grants, the usage ledger and its legs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain import allowance as da
from service.domain import model as dm
from service.storage import tables as t
from service.storage.sql import fetch_client_state, keyset_page

_LOCK_CLIENT = sa.select(t.Client.id).where(t.Client.id == sa.bindparam("cid")).with_for_update()
_BY_KEY = sa.select(t.AllowanceUsage.service_code, t.AllowanceUsage.kind, t.AllowanceUsage.answer).where(
    t.AllowanceUsage.client_id == sa.bindparam("cid"), t.AllowanceUsage.idempotency_key == sa.bindparam("key"))
_INSERT_USAGE = sa.insert(t.AllowanceUsage)
_INSERT_LEG = sa.insert(t.AllowanceLeg)


class AllowanceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- plans ---------------------------------------------------------------------------------
    def plan_allowances(self, plan_code: str) -> t.PlanAllowances | None:
        return self.session.get(t.PlanAllowances, plan_code)

    def all_plan_allowances(self) -> Sequence[t.PlanAllowances]:
        return self.session.scalars(sa.select(t.PlanAllowances).order_by(t.PlanAllowances.plan_code)).all()

    # ---- the ledger's lock ---------------------------------------------------------------------
    def locked_state(self, client_id: str) -> dm.ClientState | None:
        """The client's decision inputs, read while holding the client's row: a use, a reversal or a
        grant of one client waits for the one before it to commit (PostgreSQL: SELECT … FOR UPDATE;
        SQLite: writers begin IMMEDIATE, so the whole database is theirs already)."""
        connection = self.session.connection()
        if connection.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE holds the database already
            found = connection.execute(_LOCK_CLIENT, {"cid": client_id}).scalar()
            if found is None:
                return None
        return fetch_client_state(connection, client_id)

    # ---- usage ---------------------------------------------------------------------------------
    def usage_by_key(self, client_id: str, key: str) -> tuple[str, str, dict[str, Any]] | None:
        """(service, kind, answer) of the entry recorded under this key, if any."""
        row = self.session.connection().execute(_BY_KEY, {"cid": client_id, "key": key}).first()
        return (row[0], row[1], row[2]) if row is not None else None

    def get_usage(self, usage_id: str) -> t.AllowanceUsage | None:
        return self.session.get(t.AllowanceUsage, usage_id)

    def reversal_of(self, usage_id: str) -> t.AllowanceUsage | None:
        return self.session.scalars(sa.select(t.AllowanceUsage).where(t.AllowanceUsage.reverses_id == usage_id)).first()

    def legs_of(self, usage_id: str) -> list[da.Leg]:
        rows = self.session.scalars(
            sa.select(t.AllowanceLeg).where(t.AllowanceLeg.usage_id == usage_id).order_by(t.AllowanceLeg.id)
        ).all()
        return [da.Leg(r.service_code, da.Pool(r.pool), r.period_start, r.units_q, r.grant_id) for r in rows]

    def add_entry(self, usage: dict[str, Any], legs: Sequence[da.Leg]) -> None:
        """One ledger entry and its legs (Core inserts: a use is the ledger's hot write)."""
        connection = self.session.connection()
        connection.execute(_INSERT_USAGE, usage)
        if legs:
            connection.execute(_INSERT_LEG, [
                {"usage_id": usage["id"], "client_id": usage["client_id"], "service_code": leg.service, "pool": leg.pool.value,
                 "grant_id": leg.grant_id, "period_start": leg.period_start, "units_q": leg.units_q}
                for leg in legs
            ])

    def usage_page(
        self, client_id: str, service: str | None, *, limit: int, before: Sequence[Any] | None
    ) -> Sequence[t.AllowanceUsage]:
        query = sa.select(t.AllowanceUsage).where(t.AllowanceUsage.client_id == client_id)
        if service:
            query = query.where(t.AllowanceUsage.service_code == service)
        columns = (t.AllowanceUsage.created_at, t.AllowanceUsage.id)
        return self.session.scalars(keyset_page(query, columns, limit=limit, after=before, descending=True)).all()

    # ---- grants --------------------------------------------------------------------------------
    def grant_page(self, client_id: str, *, limit: int, before: Sequence[Any] | None) -> Sequence[t.AllowanceGrant]:
        query = sa.select(t.AllowanceGrant).where(t.AllowanceGrant.client_id == client_id)
        columns = (t.AllowanceGrant.created_at, t.AllowanceGrant.id)
        return self.session.scalars(keyset_page(query, columns, limit=limit, after=before, descending=True)).all()

    def block_used(self, grant_ids: Sequence[str]) -> dict[str, int]:
        if not grant_ids:
            return {}
        rows = self.session.execute(
            sa.select(t.AllowanceLeg.grant_id, sa.func.sum(t.AllowanceLeg.units_q))
            .where(t.AllowanceLeg.grant_id.in_(grant_ids), t.AllowanceLeg.pool == da.Pool.BLOCK.value)
            .group_by(t.AllowanceLeg.grant_id)
        ).all()
        return {str(g): int(n or 0) for g, n in rows}

    # ---- the coverage report -------------------------------------------------------------------
    def members_with_usage(self, plan_code: str, service: str, since: datetime) -> list[str]:
        """Clients with a live membership of the plan and a ledger leg of the service in a period
        starting at or after `since` (the only ones that can be at their warning threshold, short of
        a threshold of 0 %)."""
        live = sa.select(t.Membership.client_id).where(t.Membership.plan_code == plan_code, t.Membership.superseded_at.is_(None))
        rows = self.session.execute(
            sa.select(t.AllowanceLeg.client_id).distinct()
            .where(t.AllowanceLeg.service_code == service, t.AllowanceLeg.period_start >= since,
                   t.AllowanceLeg.client_id.in_(live))
        ).all()
        return [r[0] for r in rows]

    def client_states(self, client_ids: Sequence[str]) -> list[dm.ClientState]:
        connection = self.session.connection()
        found = (fetch_client_state(connection, cid) for cid in client_ids)
        return [s for s in found if s is not None]
