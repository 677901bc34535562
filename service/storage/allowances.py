"""Queries of the allowances: plan allowances, block grants, the usage ledger and its legs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain import allowance as da
from service.domain import model as dm
from service.storage import changes
from service.storage import tables as t
from service.storage.bulk import driver_value
from service.storage.paging import keyset_page
from service.storage.state_read import CLIENT_STATE, Prepared, client_state_from_rows, fetch_client_state

_LOCK_CLIENT = sa.select(t.Client.id).where(t.Client.id == sa.bindparam("cid")).with_for_update()
_BY_KEY = sa.select(t.AllowanceUsage.service_code, t.AllowanceUsage.kind, t.AllowanceUsage.answer).where(
    t.AllowanceUsage.client_id == sa.bindparam("cid"), t.AllowanceUsage.idempotency_key == sa.bindparam("key"))


class _Insert:
    """An INSERT of a table's given columns, compiled once per dialect and run on the DBAPI cursor,
    with values converted as the columns' types would (a use's rows: SQLAlchemy's per-statement
    work, and the ORM's unit of work for the event, cost more than the database's own)."""

    def __init__(self, model: type[t.Base], columns: Sequence[str]) -> None:
        table = t.Base.metadata.tables[model.__tablename__]
        self.columns = tuple(columns)
        self.json = frozenset(c for c in self.columns if isinstance(table.c[c].type, sa.JSON))
        self.prepared = Prepared(sa.insert(table).values({c: sa.bindparam(c, type_=table.c[c].type) for c in self.columns}))

    def bound(self, dialect_name: str, row: dict[str, Any]) -> tuple[str, Any]:
        sqlite = dialect_name == "sqlite"
        return self.prepared.bound(dialect_name, {c: driver_value(row[c], c in self.json, sqlite=sqlite) for c in self.columns})


_USAGE_ROW = _Insert(t.AllowanceUsage, [
    "id", "client_id", "service_code", "kind", "units_q", "overage_q", "idempotency_key", "ticket_ref", "at", "reverses_id",
    "reason", "actor", "created_at", "answer"])
_LEG_ROW = _Insert(t.AllowanceLeg, ["usage_id", "client_id", "service_code", "pool", "grant_id", "period_start", "units_q"])
_EVENT_ROW = _Insert(t.Event, ["client_id", "scope", "kind", "subject", "actor", "before", "after", "created_at"])
_LOCK = Prepared(_LOCK_CLIENT)
_KEY = Prepared(_BY_KEY)


@contextmanager
def _driver_errors(connection: sa.Connection) -> Iterator[None]:
    """The driver's errors as SQLAlchemy raises them (the handlers answer 409, 503 … by those), and a
    connection found dead taken out of the pool."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        dead = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
        if dead:
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(None, None, exc, dbapi.Error, connection_invalidated=dead,
                                         dialect=connection.dialect) from exc


def _leg_row(usage: dict[str, Any], leg: da.Leg) -> dict[str, Any]:
    return {"usage_id": usage["id"], "client_id": usage["client_id"], "service_code": leg.service, "pool": leg.pool.value,
            "grant_id": leg.grant_id, "period_start": leg.period_start, "units_q": leg.units_q}


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

    def lock_for_use(self, client_id: str, key: str) -> tuple[dm.ClientState | None, tuple[str, str, dict[str, Any]] | None]:
        """A use's reads: the client's row held (as locked_state), then its decision inputs, then the
        entry already recorded under `key` (service, kind, answer) if any.

        Each read is a statement of its own after the lock, so on PostgreSQL each reads a fresh
        snapshot and sees what the request holding the lock before committed (a join in the locking
        statement would not); the three go in one pipeline, one round trip."""
        connection = self.session.connection()
        dialect = connection.dialect.name
        raw = connection.connection.driver_connection
        assert raw is not None
        state_sql, state_args = CLIENT_STATE.bound(dialect, {"cid": client_id})
        key_sql, key_args = _KEY.bound(dialect, {"cid": client_id, "key": key})
        with _driver_errors(connection):
            if dialect == "sqlite":  # BEGIN IMMEDIATE holds the database already
                cursor = raw.cursor()
                try:
                    rows = cursor.execute(state_sql, state_args).fetchall()
                    found = cursor.execute(key_sql, key_args).fetchone()
                finally:
                    cursor.close()
            else:
                lock_sql, lock_args = _LOCK.bound(dialect, {"cid": client_id})
                lock, state, by_key = raw.cursor(), raw.cursor(), raw.cursor()
                try:
                    with raw.pipeline():
                        lock.execute(lock_sql, lock_args)
                        state.execute(state_sql, state_args)
                        by_key.execute(key_sql, key_args)
                    rows, found = state.fetchall(), by_key.fetchone()
                finally:
                    for cursor in (lock, state, by_key):
                        cursor.close()
        state_found = client_state_from_rows(rows)
        if found is None:
            return state_found, None
        answer = found[2] if isinstance(found[2], dict) else orjson.loads(found[2])  # SQLite gives the JSON's text
        return state_found, (found[0], found[1], answer)

    def add_entry(self, usage: dict[str, Any], legs: Sequence[da.Leg], event: dict[str, Any]) -> None:
        """A ledger entry (a use or a reversal), its legs and its audit event, in one round trip on
        PostgreSQL (a pipeline): a use is the ledger's hot write. The event carries the change to
        other processes; this process's cache hears of it by changes.report, as for any write that
        bypasses the ORM."""
        connection = self.session.connection()
        dialect = connection.dialect.name
        raw = connection.connection.driver_connection
        assert raw is not None
        entry = _USAGE_ROW.bound(dialect, usage)
        leg_rows = [_LEG_ROW.bound(dialect, _leg_row(usage, leg)) for leg in legs]
        audit = _EVENT_ROW.bound(dialect, event)
        with _driver_errors(connection):
            cursor = raw.cursor()
            try:
                if dialect == "sqlite":
                    for sql, args in (entry, *leg_rows, audit):
                        cursor.execute(sql, args)
                else:
                    with raw.pipeline():
                        for sql, args in (entry, *leg_rows, audit):
                            cursor.execute(sql, args)
            finally:
                cursor.close()
        changes.report(self.session, [("client", usage["client_id"])])

    # ---- usage ---------------------------------------------------------------------------------
    def get_usage(self, usage_id: str) -> t.AllowanceUsage | None:
        return self.session.get(t.AllowanceUsage, usage_id)

    def reversal_of(self, usage_id: str) -> t.AllowanceUsage | None:
        return self.session.scalars(sa.select(t.AllowanceUsage).where(t.AllowanceUsage.reverses_id == usage_id)).first()

    def legs_of(self, usage_id: str) -> list[da.Leg]:
        rows = self.session.scalars(
            sa.select(t.AllowanceLeg).where(t.AllowanceLeg.usage_id == usage_id).order_by(t.AllowanceLeg.id)
        ).all()
        return [da.Leg(r.service_code, da.Pool(r.pool), r.period_start, r.units_q, r.grant_id) for r in rows]

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
