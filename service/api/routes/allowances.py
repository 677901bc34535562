"""Allowances: a client's block grants, recording and reversing uses, the usage ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session
from starlette import status

from service.api.deps import AppState, Caller, NowDep, Reader, ReadSessionDep, StateDep, Writer, require
from service.api.paging import Cursor, Keyset, Limit
from service.api.routes.clients import READ_ERRORS, WRITE_ERRORS
from service.api.schemas.allowances import GrantIn, GrantOut, GrantPage, LedgerPage, ReverseIn, UsageIn, UsageOut
from service.api.schemas.common import Problem
from service.errors import Unavailable
from service.storage.allowances import AllowanceRepository
from service.storage.sql import SqlRepository
from service.usecases import allowances as uc
from service.usecases.clients import get_client_row

router = APIRouter(tags=["allowances"])
T = TypeVar("T")
LEDGER_WRITERS = 4
UsageWriter = Annotated[Caller, require("clients:write", "entitlements:check")]


def ledger_unit_of_work(state: AppState, work: Callable[[Session], T]) -> T:
    """The ledger's unit of work, in one worker-thread call from begin to commit (write_session's rules).

    A dependency's begin, the route and its commit are three hops between the event loop and the
    worker threads; a lock held (the client's row, SQLite's writer) across them is held while the
    loop serves everyone else, which capped uses at about 100/s."""
    if not state.cache.db_available:
        raise Unavailable("the database cannot be reached; writes are refused until it is back")
    with state.db.writer() as session:
        try:
            result = work(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return result


async def in_ledger(state: AppState, work: Callable[[Session], T]) -> T:
    """Runs `work` in a ledger transaction off the event loop.

    SQLite has one writer at a time, and a writer that finds the lock taken sleeps in SQLite's busy
    handler (1, 2, 5 … 100 ms); thirty-two writer threads also fight over the GIL with the event
    loop at every SQLite call. So on SQLite this process's ledger writes go to one thread of their
    own, which takes the next the moment it has committed one, with no hop through the event loop
    in between (other processes still meet SQLite's own lock)."""
    writer = state.extras.get("ledger_writer")
    if not isinstance(writer, ThreadPoolExecutor):
        # PostgreSQL: a few writers (uses of different clients run side by side; more threads than
        # that only take turns at the GIL).
        size = 1 if state.cache.inline_io else LEDGER_WRITERS
        writer = state.extras.setdefault("ledger_writer", ThreadPoolExecutor(size, thread_name_prefix="supportgate-ledger"))
        assert isinstance(writer, ThreadPoolExecutor)
    return await asyncio.get_running_loop().run_in_executor(writer, ledger_unit_of_work, state, work)


USE_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    409: {"model": Problem, "description": "Not enough left: `code` is ALLOWANCE_EXHAUSTED or APPROVAL_REQUIRED "
                                           "(nothing recorded); or the key was used for another use"},
}


@router.post("/v1/clients/{client_id}/allowance-grants", status_code=status.HTTP_201_CREATED, response_model=GrantOut,
             summary="Grant the client a block of prepaid units", responses=WRITE_ERRORS)
async def add_grant(client_id: str, body: GrantIn, state: StateDep, caller: Writer, now: NowDep) -> dict[str, Any]:
    return await in_ledger(state, lambda session: uc.grant_block(
        session, state.cache.catalog(), client_id, service=body.service, unit=body.unit, amount=body.amount,
        expires_at=body.expires_at, reason=body.reason, actor=caller.name, now=now,
    ))


@router.get("/v1/clients/{client_id}/allowance-grants", response_model=GrantPage,
            summary="The client's prepaid blocks, newest first", responses=READ_ERRORS)
def list_grants(
    client_id: str, session: ReadSessionDep, caller: Reader, now: NowDep, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    row = get_client_row(SqlRepository(session), client_id)
    repo = AllowanceRepository(session)
    keyset = Keyset(f"grants:{row.id}", datetime, str)
    rows = repo.grant_page(row.id, limit=limit + 1, before=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.created_at, r.id))
    used = repo.block_used([r.id for r in page])
    return {"items": [uc.grant_dict(r, used.get(r.id, 0), now) for r in page], "next_cursor": next_cursor}


@router.post("/v1/clients/{client_id}/usage", status_code=status.HTTP_201_CREATED, response_model=None,
             summary="Record a use of the client's allowance (idempotent by key)",
             responses={**USE_ERRORS, 201: {"model": UsageOut, "description": "Recorded"},
                        200: {"model": UsageOut, "description": "The key was recorded before: the same answer"}})
async def record_use(client_id: str, body: UsageIn, state: StateDep, caller: UsageWriter, now: NowDep) -> Response:
    answer, created = await in_ledger(state, lambda session: uc.record_use(
        session, state.cache.catalog(), client_id, service=body.service, units=body.units,
        idempotency_key=body.idempotency_key, ticket_ref=body.ticket_ref, at=body.at, actor=caller.name, now=now,
    ))
    # The stored answer as it is (the same bytes for the same key), not re-validated through UsageOut.
    return Response(orjson.dumps(answer), status_code=201 if created else 200, media_type="application/json")


@router.post("/v1/usage/{usage_id}/reverse", status_code=status.HTTP_201_CREATED, response_model=UsageOut,
             summary="Reverse a use (a reversing entry; nothing is deleted)",
             responses={**WRITE_ERRORS, 409: {"model": Problem, "description": "Reversed already, or a reversal"}})
async def reverse_use(usage_id: str, body: ReverseIn, state: StateDep, caller: Writer, now: NowDep) -> dict[str, Any]:
    return await in_ledger(state, lambda session: uc.reverse_use(
        session, state.cache.catalog(), usage_id, reason=body.reason, actor=caller.name, now=now))


@router.get("/v1/clients/{client_id}/usage", response_model=LedgerPage,
            summary="The client's usage ledger, newest first", responses=READ_ERRORS)
def list_usage(
    client_id: str, session: ReadSessionDep, caller: Reader, limit: int = Limit, cursor: str | None = Cursor,
    service: str | None = Query(None, max_length=64),
) -> dict[str, Any]:
    row = get_client_row(SqlRepository(session), client_id)
    keyset = Keyset(f"usage:{row.id}:{service or ''}", datetime, str)
    rows = AllowanceRepository(session).usage_page(row.id, service, limit=limit + 1, before=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.created_at, r.id))
    return {"items": [uc.usage_dict(r) for r in page], "next_cursor": next_cursor}
