"""The only module that writes queries. Returns rows or domain objects; flushes, never commits."""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain import allowance as da
from service.domain import model as dm
from service.storage import rules_sql
from service.storage import tables as t
from service.storage.calendars import current_versions, to_calendar


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _beyond(columns: Sequence[Any], key: Sequence[Any], *, descending: bool = False) -> sa.ColumnElement[bool]:
    """The rows after `key` in the order of `columns` (all ascending, or all descending): a page's keyset condition."""
    bound = sa.tuple_(*(sa.literal(value, column.type) for column, value in zip(columns, key, strict=True)))
    return sa.tuple_(*columns) < bound if descending else sa.tuple_(*columns) > bound


def keyset_page(
    query: sa.Select[Any], columns: Sequence[Any], *, limit: int, after: Sequence[Any] | None, descending: bool = False
) -> sa.Select[Any]:
    """`query` cut to the page after the key `after` (None: the first page), ordered by `columns`."""
    if after is not None:
        query = query.where(_beyond(columns, after, descending=descending))
    return query.order_by(*(c.desc() if descending else c for c in columns)).limit(limit)


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


# The read-through queries of the check, built once: building a statement costs more than running it.
_cid: sa.BindParameter[str] = sa.bindparam("cid")
_clients = t.Client.__table__.c
_acc = t.Acceptance.__table__.c
_mem = t.Membership.__table__.c
_ovr = t.Override.__table__.c
_ext = t.GraceExtension.__table__.c
_idf = t.ClientIdentifier.__table__.c
_grn = t.AllowanceGrant.__table__.c
_leg = t.AllowanceLeg.__table__.c
_con = t.ClientContact.__table__.c


def _text_col(value: Any) -> sa.ColumnElement[Any]:
    return sa.cast(value, sa.String()) if value is not None else sa.cast(sa.null(), sa.String())


def _time_col(value: Any) -> sa.ColumnElement[Any]:
    return value if value is not None else sa.cast(sa.null(), t.UTCDateTime())


def _state_part(part: str, table: Any, texts: tuple[Any, ...], times: tuple[Any, ...], *where: Any) -> sa.Select[Any]:
    texts = texts + (None,) * (4 - len(texts))
    times = times + (None,) * (3 - len(times))
    # The part's letter inline, not a bound parameter: psycopg caches the conversion of a statement's
    # text only up to 4 KiB, and ten `%(param_n)s::VARCHAR` put this one over it.
    assert part.isalpha() and len(part) == 1
    columns = [sa.literal_column(f"'{part}'", sa.String()), *map(_text_col, texts), *map(_time_col, times)]
    return sa.select(*columns).select_from(table).where(*where)


def _state_query(cid: Any) -> sa.CompoundSelect[Any]:
    """One row per fact of a client: (part, text a, b, c, d, time 1, 2, 3); the first part's column
    types type them all. One statement, so one consistent read without a transaction."""
    return sa.union_all(
        _state_part("c", t.Client.__table__, (_clients.id, _clients.name, _clients.status, _clients.restrict_to_contacts),
                    (_clients.created_at,), _clients.id == cid),
        _state_part("a", t.Acceptance.__table__, (_acc.contract_version, _acc.decision), (_acc.signed_at,),
                    _acc.client_id == cid),
        _state_part("m", t.Membership.__table__, (_mem.plan_code, _mem.status), (_mem.current_period_end, _mem.created_at),
                    _mem.client_id == cid, _mem.superseded_at.is_(None)),
        _state_part("o", t.Override.__table__, (_ovr.service_code,), (_ovr.created_at, _ovr.expires_at, _ovr.revoked_at),
                    _ovr.client_id == cid),
        _state_part("g", t.GraceExtension.__table__, (_ext.contract_version,), (_ext.until,), _ext.client_id == cid),
        # Removed identifiers are dropped in Python: with `removed_at IS NULL` here PostgreSQL's planner
        # likes to scan the whole partial unique index (every live identifier) next to the client's.
        _state_part("i", t.ClientIdentifier.__table__, (_idf.kind, _idf.system, _idf.value, _idf.contact_id),
                    (_idf.removed_at,), _idf.client_id == cid),
        _state_part("k", t.ClientContact.__table__, (_con.id, _con.name, _con.roles), (_con.removed_at,),
                    _con.client_id == cid),
        # Allowances: the blocks, and the ledger summed per (service, pool, block, period) — a few rows
        # per period however many uses it holds.
        _state_part("b", t.AllowanceGrant.__table__,
                    (_grn.id, _grn.service_code, _grn.unit + "|" + sa.cast(_grn.amount_q, sa.String())),
                    (_grn.expires_at, _grn.created_at), _grn.client_id == cid),
        _state_part("u", t.AllowanceLeg.__table__,
                    (_leg.service_code, _leg.pool + "|" + sa.func.coalesce(_leg.grant_id, ""),
                     sa.cast(sa.func.sum(_leg.units_q), sa.String())),
                    (_leg.period_start,), _leg.client_id == cid)
        .group_by(_leg.service_code, _leg.pool, _leg.grant_id, _leg.period_start),
    )


_Q_OWNER = sa.select(_idf.client_id).where(
    _idf.kind == sa.bindparam("kind"), _idf.system == sa.bindparam("system"), _idf.value == sa.bindparam("value"),
    _idf.removed_at.is_(None),
)


class Prepared:
    """A statement compiled once per dialect and run on the DBAPI cursor: the cold check's
    read-through, where SQLAlchemy's per-execution work costs several times SQLite's own."""

    def __init__(self, statement: sa.Select[Any] | sa.CompoundSelect[Any] | sa.Insert) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def compiled_for(self, dialect_name: str) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        compiled = self._compiled.get(dialect_name)
        if compiled is None:
            from sqlalchemy.dialects import postgresql, sqlite

            dialect = sqlite.dialect() if dialect_name == "sqlite" else postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
            done = self.statement.compile(dialect=dialect)
            positions = tuple(done.positiontup or ()) if done.positional else None
            compiled = self._compiled[dialect_name] = (done.string, positions, dict(done.params))
        return compiled

    def bound(self, dialect_name: str, params: dict[str, Any]) -> tuple[str, Any]:
        """(SQL, driver arguments) of this statement with `params`, for the DBAPI cursor."""
        sql, positions, defaults = self.compiled_for(dialect_name)
        values = {**defaults, **params}
        return sql, tuple(values[name] for name in positions) if positions is not None else values

    def rows(self, connection: sa.Connection, params: dict[str, Any]) -> list[Any]:
        sql, args = self.bound(connection.dialect.name, params)
        raw = connection.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(sql, args)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def _utc(value: Any) -> datetime | None:
    """A timestamp as the driver returns it (SQLite: text; PostgreSQL: naive datetime), aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC)


_STATE = Prepared(_state_query(_cid))
# The state of whoever holds an identifier, in the same single statement (the cold check's one read).
# The owner is looked up once, in a CTE that each part reads (referenced six times, so both databases
# materialise it): as a plain scalar subquery each part probed the identifier index again.
_OWNER = _Q_OWNER.cte("owner")
_STATE_BY_IDENTIFIER = Prepared(_state_query(sa.select(_OWNER.c.client_id).scalar_subquery()))


def fetch_state_by_identifier(connection: sa.Connection, kind: str, system: str, value: str) -> dm.ClientState | None:
    """The state of the client holding a live identifier, or None when nobody holds it."""
    return _client_state(_STATE_BY_IDENTIFIER.rows(connection, {"kind": kind, "system": system, "value": value}))


CLIENT_STATE = _STATE  # for a caller that sends it with other statements (the ledger's pipeline)


def client_state_from_rows(rows: list[Any]) -> dm.ClientState | None:
    """The state from the rows of CLIENT_STATE as the driver returned them."""
    return _client_state(rows)


def fetch_client_state(connection: sa.Connection, client_id: str) -> dm.ClientState | None:
    """The client's decision inputs in one prepared query (the cache's read-through, so the cold
    check's cost: ORM entities and six round trips cost ten times the SQL itself)."""
    return _client_state(_STATE.rows(connection, {"cid": client_id}))


def _client_state(raw_rows: list[Any]) -> dm.ClientState | None:
    rows: list[Any] = [(part, a, b, c, d, _utc(t1), _utc(t2), _utc(t3)) for part, a, b, c, d, t1, t2, t3 in raw_rows]
    client = next((r for r in rows if r[0] == "c"), None)
    if client is None:
        return None
    acceptances: list[dm.Acceptance] = []
    memberships: list[tuple[datetime, dm.Membership]] = []
    overrides: list[dm.Override] = []
    extensions: list[dm.GraceExtension] = []
    identifiers: set[tuple[str, str, str]] = set()
    grants: list[da.BlockGrant] = []
    legs: list[da.Leg] = []
    contacts: dict[str, tuple[str, str]] = {}
    contact_ids: dict[tuple[str, str], str] = {}
    for part, a, b, c, d, t1, t2, t3 in rows:
        if part == "a":
            acceptances.append(dm.Acceptance(a, dm.AcceptanceDecision(b), t1))
        elif part == "m":
            memberships.append((t2, dm.Membership(a, dm.MembershipStatus(b), t1)))
        elif part == "o":
            overrides.append(dm.Override(a, t1, t2, t3))
        elif part == "g":
            extensions.append(dm.GraceExtension(a, t1))
        elif part == "i" and t1 is None:
            identifiers.add((a, b, c))
            if d is not None:  # a contact's e-mail or phone
                contact_ids[(d, a)] = c
        elif part == "k" and t1 is None:
            contacts[a] = (b, c)
        elif part == "b":
            unit, _, amount = c.partition("|")
            grants.append(da.BlockGrant(a, b, da.Unit(unit), int(amount), t1, t2))
        elif part == "u":
            pool, _, grant_id = b.partition("|")
            legs.append(da.Leg(a, da.Pool(pool), t1, int(c), grant_id or None))
    # The live membership is the newest one not superseded (normally the only one).
    membership = max(memberships, key=lambda m: m[0])[1] if memberships else None
    return dm.ClientState(
        identifiers=frozenset(identifiers),
        id=client[1],
        name=client[2],
        status=dm.ClientStatus(client[3]),
        created_at=client[5],
        acceptances=tuple(acceptances),
        membership=membership,
        overrides=tuple(overrides),
        grace_extensions=tuple(extensions),
        allowance_grants=tuple(grants),
        allowance_legs=tuple(legs),
        contacts=tuple(
            dm.Contact(cid, name, frozenset(r for r in roles.split(",") if r), contact_ids.get((cid, "email")),
                       contact_ids.get((cid, "phone")))
            for cid, (name, roles) in sorted(contacts.items(), key=lambda item: (item[1][0].casefold(), item[0]))
        ),
        # The flag as text: SQLite gives "1"/"0", PostgreSQL "true"/"false".
        restrict_to_contacts=str(client[4]).lower() in ("1", "true", "t"),
    )


def bulk_insert(session: Session, model: type[t.Base], rows: Sequence[dict[str, Any]]) -> None:
    """Many new rows in the session's transaction: COPY on PostgreSQL (psycopg would otherwise send
    one INSERT per row), one executemany on SQLite. Rows carry Python values as for an INSERT."""
    if not rows:
        return
    table = t.Base.metadata.tables[model.__tablename__]
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _sqlite_executemany(connection, table, rows)
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), list(rows))
        return
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c], c in json_columns) for c in columns])


def _sqlite_executemany(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """sqlite3's executemany with values converted as SQLAlchemy stores them (DATETIME text, JSON text):
    SQLAlchemy's per-row bind processing cost more than SQLite's own work on a big import."""
    columns = [table.c[name].name for name in rows[0]]  # names of the table's own columns only (KeyError otherwise)
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
    stamps: dict[datetime, str] = {}  # an import's rows share one timestamp: format it once

    def value_of(value: Any, is_json: bool) -> Any:
        if value is None:
            return None
        if is_json:
            return orjson.dumps(value).decode()
        if isinstance(value, datetime):
            text = stamps.get(value)
            if text is None:
                # SQLAlchemy's SQLite DATETIME storage format, in naive UTC as UTCDateTime stores it.
                text = stamps[value] = value.astimezone(UTC).strftime(SQLITE_DATETIME)
            return text
        return value

    flags = [(c, c in json_columns) for c in columns]
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, ([value_of(row[c], is_json) for c, is_json in flags] for row in rows))
    finally:
        cursor.close()


def _copy_value(value: Any, is_json: bool) -> Any:
    return driver_value(value, is_json, sqlite=False)


# SQLAlchemy's SQLite DATETIME storage format (text that sorts as the time does), in naive UTC.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def driver_value(value: Any, is_json: bool, *, sqlite: bool) -> Any:
    """A Python value as SQLAlchemy's column types would hand it to the driver: JSON as text,
    datetimes in naive UTC as UTCDateTime stores them (text on SQLite), None as SQL NULL."""
    if value is None:
        return None
    if is_json:
        return orjson.dumps(value).decode()
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        return value.strftime(SQLITE_DATETIME) if sqlite else value.replace(tzinfo=None)
    return value


class AsyncReads:
    """The check's two read-through statements on a few psycopg asyncio connections (PostgreSQL):
    a cold check then waits on the database without a worker thread."""

    def __init__(self, url: str, size: int) -> None:
        self.conninfo = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.size = max(1, size)
        self._idle: list[Any] = []
        self._opened = 0
        # First come, first served: a released connection goes straight to the oldest waiter (a
        # waiter that were only woken could lose the connection to a newcomer and queue again at
        # the back, which made the cold check's p99 ten times its median).
        self._waiters: deque[Any] = deque()

    async def _acquire(self) -> Any:
        import asyncio

        import psycopg

        while True:
            if self._idle and not self._waiters:
                return self._idle.pop()
            if self._opened < self.size:
                self._opened += 1
                try:
                    return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True, connect_timeout=5)
                except BaseException:
                    self._opened -= 1
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._release(waiter.result(), False)  # handed over as the caller gave up: pass it on
                raise
            if connection is not None:
                return connection
            # None: a broken connection freed a slot; open a new one (next turn of the loop)

    def _release(self, connection: Any, broken: bool) -> None:
        if broken or connection.closed:
            self._opened -= 1
            handed: Any = None
        else:
            handed = connection
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(handed)
                return
        if handed is not None:
            self._idle.append(handed)

    async def _rows(self, prepared: Prepared, params: dict[str, Any]) -> list[Any]:
        sql, _positions, defaults = prepared.compiled_for("postgresql")
        connection = await self._acquire()
        broken = True
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(sql, {**defaults, **params})
                rows = await cursor.fetchall()
            broken = False
            return list(rows)
        finally:
            if broken:
                await connection.close()
            self._release(connection, broken)

    async def state_by_identifier(self, kind: str, system: str, value: str) -> dm.ClientState | None:
        return _client_state(await self._rows(_STATE_BY_IDENTIFIER, {"kind": kind, "system": system, "value": value}))

    async def client_state(self, client_id: str) -> dm.ClientState | None:
        return _client_state(await self._rows(_STATE, {"cid": client_id}))

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


class SqlRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

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

    def add(self, row: t.Base) -> None:
        self.session.add(row)
        self.session.flush()

    # ---- contract versions ---------------------------------------------------------------------
    def get_version(self, version: str) -> t.ContractVersion | None:
        return self.session.get(t.ContractVersion, version)

    def list_versions(self) -> Sequence[t.ContractVersion]:
        return self.session.scalars(sa.select(t.ContractVersion).order_by(t.ContractVersion.created_at.desc())).all()

    # ---- clients -------------------------------------------------------------------------------
    def get_client(self, client_id: str) -> t.Client | None:
        return self.session.get(t.Client, client_id)

    def live_identifiers(self, client_ids: Sequence[str]) -> Sequence[t.ClientIdentifier]:
        if not client_ids:
            return []
        return self.session.scalars(
            sa.select(t.ClientIdentifier)
            .where(t.ClientIdentifier.client_id.in_(client_ids), t.ClientIdentifier.removed_at.is_(None),
                   t.ClientIdentifier.contact_id.is_(None))  # the client's own; contacts' are listed with them
            .order_by(t.ClientIdentifier.id)
        ).all()

    def identifier_owner(self, kind: str, system: str, value: str) -> str | None:
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.flush()
        owner: str | None = self.session.connection().execute(
            _Q_OWNER, {"kind": kind, "system": system, "value": value}
        ).scalar()
        return owner

    def owners_of(self, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
        """Owners of many (kind, system, value) identifiers at once (bulk import)."""
        found: dict[tuple[str, str, str], str] = {}
        by_kind: dict[tuple[str, str], list[str]] = {}
        for kind, system, value in keys:
            by_kind.setdefault((kind, system), []).append(value)
        for (kind, system), values in by_kind.items():
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                rows = self.session.execute(
                    sa.select(t.ClientIdentifier.value, t.ClientIdentifier.client_id).where(
                        t.ClientIdentifier.kind == kind,
                        t.ClientIdentifier.system == system,
                        t.ClientIdentifier.value.in_(chunk),
                        t.ClientIdentifier.removed_at.is_(None),
                    )
                )
                for value, client_id in rows:
                    found[(kind, system, value)] = client_id
        return found

    def clients_by_ids(self, client_ids: Sequence[str]) -> dict[str, t.Client]:
        result: dict[str, t.Client] = {}
        ids = list(client_ids)
        for start in range(0, len(ids), 500):
            for row in self.session.scalars(sa.select(t.Client).where(t.Client.id.in_(ids[start : start + 500]))):
                result[row.id] = row
        return result

    def remove_identifier(self, row: t.ClientIdentifier, at: datetime) -> None:
        row.removed_at = at
        self.session.flush()

    def load_client_state(self, client_id: str) -> dm.ClientState | None:
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.flush()  # a Core query sees only what the database holds
        return fetch_client_state(self.session.connection(), client_id)

    def contract_status_expr(self, catalog: dm.Catalog, now: datetime) -> sa.ColumnElement[str]:
        """The client's contract status at `now`, per row (rules_sql.contract_status)."""
        return rules_sql.contract_status(t.Client, catalog, now)

    def search_clients(
        self,
        *,
        catalog: dm.Catalog,
        now: datetime,
        q: str | None,
        identifier_matches: Sequence[tuple[str, str, str]],
        contract_statuses: Sequence[str] | None,
        plan: str | None,
        status: str | None,
        limit: int,
        after_id: str | None,
    ) -> list[tuple[t.Client, str]]:
        status_expr = self.contract_status_expr(catalog, now).label("contract_status")
        query = sa.select(t.Client, status_expr)
        if q:
            conditions: list[sa.ColumnElement[bool]] = [sa.func.lower(t.Client.name).contains(q.lower(), autoescape=True)]
            i = sa.orm.aliased(t.ClientIdentifier)
            like = sa.exists().where(
                i.client_id == t.Client.id,
                i.removed_at.is_(None),
                sa.func.lower(i.value).contains(q.lower(), autoescape=True),
            )
            conditions.append(like)
            for kind, system, value in identifier_matches:
                j = sa.orm.aliased(t.ClientIdentifier)
                conditions.append(
                    sa.exists().where(
                        j.client_id == t.Client.id, j.removed_at.is_(None), j.kind == kind, j.system == system, j.value == value
                    )
                )
            query = query.where(sa.or_(*conditions))
        if status:
            query = query.where(t.Client.status == status)
        if plan:
            # A member of `plan` is one whose live membership grants its rank now, as the check says.
            query = query.where(rules_sql.live_membership_granting(t.Client, catalog.policy, now, plan=plan))
        if contract_statuses:
            query = query.where(self.contract_status_expr(catalog, now).in_(list(contract_statuses)))
        if after_id:
            query = query.where(t.Client.id > after_id)
        query = query.order_by(t.Client.id).limit(limit)
        return [(row[0], row[1]) for row in self.session.execute(query)]

    def clients_to_chase(
        self,
        *,
        catalog: dm.Catalog,
        now: datetime,
        contract_statuses: Sequence[str],
        deadline_before: datetime | None,
        deadline_after: datetime | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[tuple[t.Client, str, datetime | None, datetime]]:
        """Active clients in the given contract statuses, soonest grace deadline first.

        Rows are (client, contract status, latest grace extension of the current version or None,
        SQL deadline used for ordering and as the page cursor).
        """
        from service.domain.contract import current_version

        version = current_version(catalog.versions, now)
        if version is None or version.published_at is None or not contract_statuses:
            return []
        status_expr = self.contract_status_expr(catalog, now)
        deadline = rules_sql.grace_deadline(t.Client, version, catalog.policy).label("grace_deadline")
        extension = rules_sql.latest_extension(t.Client, version).label("extension")
        query = sa.select(t.Client, status_expr.label("contract_status"), extension, deadline).where(
            t.Client.status == "active", status_expr.in_(list(contract_statuses))
        )
        if deadline_before is not None:
            query = query.where(deadline < deadline_before)
        if deadline_after is not None:
            query = query.where(deadline >= deadline_after)
        if after is not None:
            query = query.where(sa.or_(deadline > after[0], sa.and_(deadline == after[0], t.Client.id > after[1])))
        query = query.order_by(deadline, t.Client.id).limit(limit)
        return [(r[0], r[1], r[2], r[3]) for r in self.session.execute(query)]

    # ---- memberships ---------------------------------------------------------------------------
    def current_membership(self, client_id: str) -> t.Membership | None:
        return self.session.scalar(
            sa.select(t.Membership)
            .where(t.Membership.client_id == client_id, t.Membership.superseded_at.is_(None))
            .order_by(t.Membership.created_at.desc())
            .limit(1)
        )

    def current_memberships(self, client_ids: Sequence[str]) -> dict[str, t.Membership]:
        if not client_ids:
            return {}
        rows = self.session.scalars(
            sa.select(t.Membership).where(t.Membership.client_id.in_(client_ids), t.Membership.superseded_at.is_(None))
        )
        return {r.client_id: r for r in rows}

    # ---- acceptances, signature requests, overrides, grace -------------------------------------
    def list_acceptances(self, client_id: str) -> Sequence[t.Acceptance]:
        return self.session.scalars(
            sa.select(t.Acceptance).where(t.Acceptance.client_id == client_id).order_by(t.Acceptance.signed_at.desc())
        ).all()

    def acceptance_by_event_key(self, event_key: str) -> t.Acceptance | None:
        return self.session.scalar(sa.select(t.Acceptance).where(t.Acceptance.event_key == event_key))

    def list_signature_requests(self, client_id: str) -> Sequence[t.SignatureRequest]:
        return self.session.scalars(
            sa.select(t.SignatureRequest)
            .where(t.SignatureRequest.client_id == client_id)
            .order_by(t.SignatureRequest.created_at.desc())
        ).all()

    def signature_request(self, provider: str, external_id: str) -> t.SignatureRequest | None:
        return self.session.scalar(
            sa.select(t.SignatureRequest).where(
                t.SignatureRequest.provider == provider, t.SignatureRequest.external_id == external_id
            )
        )

    def list_overrides(self, client_id: str) -> Sequence[t.Override]:
        return self.session.scalars(
            sa.select(t.Override).where(t.Override.client_id == client_id).order_by(t.Override.created_at.desc())
        ).all()

    def get_override(self, override_id: str) -> t.Override | None:
        return self.session.get(t.Override, override_id)

    # ---- pages of the lists: keyset (rows after the last key seen, `limit` rows), never OFFSET ---
    def service_page(self, *, limit: int, after: tuple[int, str] | None) -> Sequence[t.Service]:
        key = (t.Service.min_rank, t.Service.code)
        return self.session.scalars(keyset_page(sa.select(t.Service), key, limit=limit, after=after)).all()

    def plan_page(self, *, limit: int, after: tuple[int, str] | None) -> Sequence[t.Plan]:
        key = (t.Plan.rank, t.Plan.code)
        return self.session.scalars(keyset_page(sa.select(t.Plan), key, limit=limit, after=after)).all()

    def acceptance_page(self, client_id: str, *, limit: int, before: tuple[datetime, str] | None) -> Sequence[t.Acceptance]:
        """Newest signature first."""
        a = t.Acceptance
        query = sa.select(a).where(a.client_id == client_id)
        return self.session.scalars(keyset_page(query, (a.signed_at, a.id), limit=limit, after=before, descending=True)).all()

    def signature_request_page(
        self, client_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> Sequence[t.SignatureRequest]:
        """Newest registration first."""
        r = t.SignatureRequest
        query = sa.select(r).where(r.client_id == client_id)
        return self.session.scalars(keyset_page(query, (r.created_at, r.id), limit=limit, after=before, descending=True)).all()

    def override_page(
        self, client_id: str, *, limit: int, before: tuple[datetime, str] | None, active: bool | None, now: datetime
    ) -> Sequence[t.Override]:
        """Newest grant first; `active` keeps only the overrides in force at `now` (True) or the others (False)."""
        o = t.Override
        query = sa.select(o).where(o.client_id == client_id)
        if active is not None:
            in_force = sa.and_(o.revoked_at.is_(None), o.created_at <= now, o.expires_at > now)
            query = query.where(in_force if active else sa.not_(in_force))
        return self.session.scalars(keyset_page(query, (o.created_at, o.id), limit=limit, after=before, descending=True)).all()

    # ---- api keys ------------------------------------------------------------------------------
    def key_by_hash(self, key_hash: str) -> t.ApiKey | None:
        return self.session.scalar(sa.select(t.ApiKey).where(t.ApiKey.key_hash == key_hash))

    def key_by_name(self, name: str) -> t.ApiKey | None:
        return self.session.scalar(sa.select(t.ApiKey).where(t.ApiKey.name == name))

    def list_keys(self) -> Sequence[t.ApiKey]:
        return self.session.scalars(sa.select(t.ApiKey).order_by(t.ApiKey.created_at)).all()

    # ---- events (audit trail and change log) ---------------------------------------------------
    def client_events(self, client_id: str, *, limit: int, before_seq: int | None) -> Sequence[t.Event]:
        query = sa.select(t.Event).where(t.Event.client_id == client_id)
        if before_seq is not None:
            query = query.where(t.Event.seq < before_seq)
        return self.session.scalars(query.order_by(t.Event.seq.desc()).limit(limit)).all()

    def events_of_kind(self, kinds: Sequence[str]) -> Sequence[t.Event]:
        return self.session.scalars(sa.select(t.Event).where(t.Event.kind.in_(kinds)).order_by(t.Event.seq)).all()

    def event_facts(self, kinds: Sequence[str]) -> Sequence[sa.Row[Any]]:
        """What a replay needs of events of these kinds, oldest first (plain rows: much cheaper than ORM objects)."""
        e = t.Event
        query = sa.select(e.kind, e.client_id, e.subject, e.after, e.created_at).where(e.kind.in_(kinds)).order_by(e.seq)
        return self.session.execute(query).all()

    def max_event_seq(self) -> int:
        return int(self.session.scalar(sa.select(sa.func.coalesce(sa.func.max(t.Event.seq), 0))) or 0)

    def changes_since(self, seq: int, limit: int = 5000) -> list[tuple[int, str, str | None]]:
        rows = self.session.execute(
            sa.select(t.Event.seq, t.Event.scope, t.Event.client_id)
            .where(t.Event.seq > seq, t.Event.scope != "none")
            .order_by(t.Event.seq)
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    # ---- reports -------------------------------------------------------------------------------
    def coverage(self, catalog: dm.Catalog, now: datetime) -> dict[str, Any]:
        active = t.Client.status == "active"
        counts = {str(row[0]): int(row[1]) for row in self.session.execute(rules_sql.contract_status_counts(catalog, now, active))}
        m = t.Membership
        member_rows = self.session.execute(
            sa.select(m.plan_code, sa.func.count(), t.Plan.price_amount_minor, t.Plan.price_currency)
            .join(t.Client, t.Client.id == m.client_id)
            .join(t.Plan, t.Plan.code == m.plan_code)
            .where(m.superseded_at.is_(None), active, rules_sql.membership_grants(m, catalog.policy, now))
            .group_by(m.plan_code, t.Plan.price_amount_minor, t.Plan.price_currency)
        ).all()
        return {"contract": counts, "members": [(r[0], int(r[1]), int(r[2]), r[3]) for r in member_rows]}
