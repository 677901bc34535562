"""Seed N benchmark clients fast: multi-row inserts on SQLite, COPY on PostgreSQL (1 M in about a minute).

Every client gets a US phone (stored in the E.164 form the check normalises to), an e-mail, a
creation event, and a mix of states: 80 % signed the current contract, 5 % declined, the rest
unsigned; every third client is a Gold member. A key with the `entitlements:check` scope is
stored so the benchmark goes through the real key lookup.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from service.storage import tables as t
from service.storage.database import create_db_engine, is_sqlite, normalize_url
from service.storage.migrate import upgrade

BENCH_KEY = "bench-check-key-0123456789"
CONTRACT = "bench.1"
CHUNK = 20_000


def phone_of(i: int) -> str:
    """The i-th seeded phone, E.164 (area codes 212, 646, 718, 917, ... with exchanges 200-999)."""
    areas = ("212", "646", "718", "917", "347", "415", "312", "617")
    area = areas[i // 7_000_000]
    return f"+1{area}{2_000_000 + i % 7_000_000:07d}"


def dialled_phone_of(i: int) -> str:
    """How a phone system sends it: national format with punctuation, normalised by the service."""
    e164 = phone_of(i)
    return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"


def _rows(start: int, stop: int, now: datetime) -> dict[str, list[dict[str, Any]]]:
    created = now - timedelta(days=200)
    signed = now - timedelta(days=20)
    out: dict[str, list[dict[str, Any]]] = {
        "clients": [], "client_identifiers": [], "acceptances": [], "memberships": [], "events": []
    }
    for i in range(start, stop):
        cid = f"cli_bench{i:08d}"
        out["clients"].append({"id": cid, "name": f"Bench Client {i}", "status": "active",
                               "created_at": created, "updated_at": created})
        out["client_identifiers"].append({"client_id": cid, "kind": "phone", "system": "", "value": phone_of(i),
                                          "created_at": created, "removed_at": None})
        out["client_identifiers"].append({"client_id": cid, "kind": "email", "system": "",
                                          "value": f"desk{i}@bench{i % 5000}.example", "created_at": created,
                                          "removed_at": None})
        bucket = i % 20
        if bucket < 17:
            decision = "signed" if bucket < 16 else "declined"
            out["acceptances"].append({
                "id": f"acc_bench{i:08d}", "client_id": cid, "contract_version": CONTRACT, "decision": decision,
                "method": "click_through", "signer_name": None, "signer_email": None, "signed_at": signed,
                "provider": None, "envelope_id": None, "event_key": None, "actor": "bench", "created_at": signed,
            })
        if i % 3 == 0:
            out["memberships"].append({
                "id": f"mem_bench{i:08d}", "client_id": cid, "plan_code": "bench_gold", "status": "active",
                "current_period_end": now + timedelta(days=365), "external_ref": None, "created_at": created,
                "superseded_at": None, "actor": "bench",
            })
        out["events"].append({"client_id": cid, "scope": "client", "kind": "client.created", "subject": cid,
                              "actor": "bench", "before": None, "after": None, "created_at": created})
    return out


TABLE_ORDER = ("clients", "client_identifiers", "acceptances", "memberships", "events")


def _fixed_rows(now: datetime) -> dict[str, list[dict[str, Any]]]:
    return {
        "plans": [{"code": "bench_gold", "name": "Bench Gold", "rank": 2, "price_amount_minor": 14900,
                   "price_currency": "USD", "routing_priority": "high", "routing_queue": "priority",
                   "first_response_minutes": 30, "onsite_response_hours": 8, "active": True, "updated_at": now}],
        "contract_versions": [{"version": CONTRACT, "title": "Benchmark contract", "document_url": "https://example.com/c.pdf",
                               "document_sha256": "0" * 64, "grace_days": 30, "term_days": None,
                               "created_at": now - timedelta(days=60), "published_at": now - timedelta(days=50)}],
        "api_keys": [{"id": "key_bench", "name": "bench", "key_hash": hashlib.sha256(BENCH_KEY.encode()).hexdigest(),
                      "prefix": BENCH_KEY[:8], "scopes": ["entitlements:check", "clients:read", "clients:write"],
                      "created_at": now, "expires_at": None, "revoked_at": None}],
    }


def _copy_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _copy(connection: sa.Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c]) for c in columns])


def seed(url: str, clients: int, *, now: datetime | None = None, migrate: bool = True) -> float:
    """Create the schema (if asked) and `clients` benchmark clients. Returns the seconds it took."""
    import time

    now = now or datetime.now(UTC)
    started = time.perf_counter()
    if migrate:
        upgrade(url)
    engine = create_db_engine(url, pool_size=1)
    tables = t.Base.metadata.tables
    pg = not is_sqlite(normalize_url(url))
    try:
        with engine.begin() as connection:
            for name, rows in _fixed_rows(now).items():
                connection.execute(sa.insert(tables[name]), rows)
            for start in range(0, clients, CHUNK):
                batch = _rows(start, min(start + CHUNK, clients), now)
                for name in TABLE_ORDER:
                    if pg:
                        _copy(connection, name, batch[name])
                    else:
                        connection.execute(sa.insert(tables[name]), batch[name])
        if pg:
            # Planner statistics, and the tuples' hint bits and visibility map set, as in a database
            # that has been in use: otherwise the cold run, reading each client for the first time,
            # dirties the page of every row it reads (and autovacuum works through the fresh tables
            # meanwhile), which is an artefact of the bulk load rather than of the service.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                for name in TABLE_ORDER:
                    connection.exec_driver_sql(f"VACUUM (ANALYZE) {name}")
    finally:
        engine.dispose()
    return time.perf_counter() - started


def csv_text(start: int, count: int) -> str:
    """An import file of `count` new clients (phones beyond the seeded range), the importer's columns."""
    out = io.StringIO()
    out.write("name,emails,domains,phones,external_system,external_id\n")
    for i in range(start, start + count):
        out.write(f"Imported {i},imp{i}@import{i % 997}.example,,{dialled_phone_of(i)},crm,crm-{i}\n")
    return out.getvalue()
