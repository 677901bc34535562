"""The hot read on PostgreSQL's asyncio driver: a small first-come-first-served connection pool."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import sqlalchemy as sa

from service.domain import model as dm
from service.storage.state_read import _STATE, _STATE_BY_IDENTIFIER, _client_state, _Prepared


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
        import psycopg  # PostgreSQL deployments only: a SQLite one never opens this pool

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

    async def _rows(self, prepared: _Prepared, params: dict[str, Any]) -> list[Any]:
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
