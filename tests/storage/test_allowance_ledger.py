"""The ledger's own statements (service.storage.allowances): a use's reads after the client's lock, its writes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from service.domain import allowance as da
from service.storage.allowances import AllowanceRepository
from service.storage.database import Database
from service.storage.state_read import CLIENT_STATE
from service.usecases import audit, clients

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
MONTH = datetime(2026, 12, 1, tzinfo=UTC)


def _entry(cid: str, key: str) -> tuple[dict[str, Any], list[da.Leg], dict[str, Any]]:
    usage_id = f"use_{key}"
    row = {"id": usage_id, "client_id": cid, "service_code": "remote_support", "kind": "use", "units_q": 4, "overage_q": 0,
           "idempotency_key": key, "ticket_ref": None, "at": NOW, "reverses_id": None, "reason": None, "actor": "t",
           "created_at": NOW, "answer": {"usage_id": usage_id, "units": 1, "allowance": {"used": 1.5, "sentence": "é"}}}
    event = audit.event_row(kind="allowance.use", actor="t", at=NOW, scope="client", client_id=cid, subject="remote_support",
                            after={"usage_id": usage_id})
    return row, [da.Leg("remote_support", da.Pool.INCLUDED, MONTH, 4)], event


def test_a_use_waiting_for_the_client_reads_what_the_one_before_it_committed(db_url: str) -> None:
    """The second use of a client waits for the first to commit, then sees its entry and its legs
    (PostgreSQL: the reads are statements after the row lock, in one pipeline; SQLite: BEGIN IMMEDIATE)."""
    db = Database.connect(db_url, pool_size=2)
    try:
        with db.writer() as session:
            cid = clients.create_client(session, name="Acme", identifiers=clients.IdentifierSet(), actor="t", now=NOW).id
            session.commit()
        first = db.writer()
        state, existing = AllowanceRepository(first).lock_for_use(cid, "k-1")
        assert state is not None and state.allowance_legs == () and existing is None
        read: dict[str, Any] = {}
        committed = threading.Event()

        def second() -> None:
            with db.writer() as session:
                read["result"] = AllowanceRepository(session).lock_for_use(cid, "k-1")
                read["after_commit"] = committed.is_set()
                session.rollback()

        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive(), "the second use did not wait for the client held by the first"
        AllowanceRepository(first).add_entry(*_entry(cid, "k-1"))
        committed.set()
        first.commit()
        first.close()
        waiter.join(timeout=30)
        assert not waiter.is_alive() and read["after_commit"]
        state, existing = read["result"]
        assert state is not None and [(leg.pool, leg.units_q) for leg in state.allowance_legs] == [(da.Pool.INCLUDED, 4)]
        assert existing == ("remote_support", "use", _entry(cid, "k-1")[0]["answer"])  # the answer as stored
        with db.reader() as session:
            assert AllowanceRepository(session).lock_for_use("nobody", "k-1") == (None, None)
    finally:
        db.dispose()


def test_the_client_state_statement_is_short_enough_for_psycopg_to_keep_its_conversion() -> None:
    """psycopg converts a statement's `%(name)s` placeholders on every execution unless its text is
    at most MAX_CACHED_STATEMENT_LENGTH: a use and a cold check each read this statement once."""
    from psycopg import _queries

    sql, _args = CLIENT_STATE.bound("postgresql", {"cid": "cli_x"})
    assert len(sql.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
