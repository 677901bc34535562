"""The check's hot read: a client's decision inputs in one prepared statement, as a domain ClientState."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from service.domain import allowance as da
from service.domain import model as dm
from service.storage import tables as t

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
    columns = [sa.literal(part, sa.String()), *map(_text_col, texts), *map(_time_col, times)]
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


OWNER_QUERY = sa.select(_idf.client_id).where(
    _idf.kind == sa.bindparam("kind"), _idf.system == sa.bindparam("system"), _idf.value == sa.bindparam("value"),
    _idf.removed_at.is_(None),
)


class _Prepared:
    """A statement compiled once per dialect and run on the DBAPI cursor: the cold check's
    read-through, where SQLAlchemy's per-execution work costs several times SQLite's own."""

    def __init__(self, statement: sa.Select[Any] | sa.CompoundSelect[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def compiled_for(self, dialect_name: str) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        compiled = self._compiled.get(dialect_name)
        if compiled is None:
            from sqlalchemy.dialects import postgresql, sqlite  # the PostgreSQL dialect only where it is used

            dialect = sqlite.dialect() if dialect_name == "sqlite" else postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
            done = self.statement.compile(dialect=dialect)
            positions = tuple(done.positiontup or ()) if done.positional else None
            compiled = self._compiled[dialect_name] = (done.string, positions, dict(done.params))
        return compiled

    def rows(self, connection: sa.Connection, params: dict[str, Any]) -> list[Any]:
        sql, positions, defaults = self.compiled_for(connection.dialect.name)
        values = {**defaults, **params}
        args: Any = tuple(values[name] for name in positions) if positions is not None else values
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


_STATE = _Prepared(_state_query(_cid))
# The state of whoever holds an identifier, in the same single statement (the cold check's one read).
# The owner is looked up once, in a CTE that each part reads (referenced six times, so both databases
# materialise it): as a plain scalar subquery each part probed the identifier index again.
_OWNER = OWNER_QUERY.cte("owner")
_STATE_BY_IDENTIFIER = _Prepared(_state_query(sa.select(_OWNER.c.client_id).scalar_subquery()))


def fetch_state_by_identifier(connection: sa.Connection, kind: str, system: str, value: str) -> dm.ClientState | None:
    """The state of the client holding a live identifier, or None when nobody holds it."""
    return _client_state(_STATE_BY_IDENTIFIER.rows(connection, {"kind": kind, "system": system, "value": value}))


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
