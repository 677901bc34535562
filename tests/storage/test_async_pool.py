"""The cold check's asyncio connection pool (PostgreSQL) serves waiters first come, first served."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from service.storage.async_reads import AsyncReads


class FakeConnection:
    closed = False

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> AsyncReads:
    async def connect(*args: Any, **kwargs: Any) -> FakeConnection:
        return FakeConnection()

    monkeypatch.setattr(psycopg.AsyncConnection, "connect", connect)
    return AsyncReads("postgresql://nobody@127.0.0.1:1/none", size=1)


def test_a_released_connection_goes_to_the_oldest_waiter_not_a_newcomer(pool: AsyncReads) -> None:
    async def scenario() -> list[str]:
        served: list[str] = []
        first = await pool._acquire()

        async def use(name: str) -> None:
            connection = await pool._acquire()
            served.append(name)
            await asyncio.sleep(0)
            pool._release(connection, False)

        waiting = [asyncio.create_task(use(n)) for n in ("b", "c")]
        await asyncio.sleep(0)  # b and c queue
        pool._release(first, False)
        late = await pool._acquire()  # a newcomer asking right after the release, before b has run
        served.append("d")
        pool._release(late, False)
        await asyncio.gather(*waiting)
        return served

    assert asyncio.run(scenario()) == ["b", "c", "d"]


def test_a_broken_connection_frees_its_slot_for_a_waiter(pool: AsyncReads) -> None:
    async def scenario() -> bool:
        first = await pool._acquire()
        waiter = asyncio.create_task(pool._acquire())
        await asyncio.sleep(0)
        pool._release(first, True)  # broken: the waiter opens a new connection
        second = await asyncio.wait_for(waiter, 1)
        return second is not first and pool._opened == 1

    assert asyncio.run(scenario())


def test_a_waiter_that_gives_up_passes_its_connection_on(pool: AsyncReads) -> None:
    async def scenario() -> bool:
        first = await pool._acquire()
        quitter = asyncio.create_task(pool._acquire())
        patient = asyncio.create_task(pool._acquire())
        await asyncio.sleep(0)
        pool._release(first, False)  # handed to the quitter, who is cancelled before it runs
        quitter.cancel()
        got = await asyncio.wait_for(patient, 1)
        return got is first

    assert asyncio.run(scenario())
