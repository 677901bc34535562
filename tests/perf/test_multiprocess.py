"""Cache invalidation across processes: a change made through one process is answered by the others
within 1 s (two `supportgate serve` on one PostgreSQL; `serve --workers 2` on one SQLite file)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from tests.conftest import ADMIN_KEY, Backends

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
PHONE = "(212) 555-0142"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(db_url: str, *, workers: int = 1) -> Iterator[str]:
    """`supportgate serve` as an operator runs it (default staleness), until the test ends."""
    port = _port()
    env = {**os.environ, "SUPPORTGATE_DATABASE_URL": db_url, "SUPPORTGATE_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
           "SUPPORTGATE_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(workers), "--no-migrate"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def check(url: str) -> dict[str, Any]:
    # A new connection each time, so that with --workers the kernel may hand it to either worker.
    return cast(dict[str, Any], ok(httpx.post(f"{url}/v1/entitlements/check", headers=AUTH, timeout=5,
                                              json={"client": {"phone": PHONE}, "service": "priority_support"})))


def set_up_client(url: str) -> str:
    plan = {"name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 14900, "currency": "USD"},
            "routing": {"priority": "high", "queue": "priority"},
            "sla": {"first_response_minutes": 30, "onsite_response_hours": 8}, "active": True}
    ok(httpx.put(f"{url}/v1/plans/gold", headers=AUTH, json=plan), 201)
    client = ok(httpx.post(f"{url}/v1/clients", headers=AUTH, json={"name": "Acme Dental", "phones": [PHONE]}), 201)
    return str(client["id"])


def become_member(url: str, client_id: str) -> None:
    end = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    ok(httpx.put(f"{url}/v1/clients/{client_id}/membership", headers=AUTH,
                 json={"plan": "gold", "status": "active", "current_period_end": end}))


def seconds_until_allowed(url: str, since: float, *, in_a_row: int) -> float:
    """Seconds from `since` to the first of `in_a_row` consecutive checks saying allowed (after
    which no process answered from a stale copy)."""
    streak_began = 0.0
    streak = 0
    while streak < in_a_row:
        asked = time.monotonic()
        if check(url)["allowed"]:
            streak_began = asked if streak == 0 else streak_began
            streak += 1
        else:
            streak = 0
        assert asked - since < 5, "the change was not seen within 5 s"
    return streak_began - since


def test_two_processes_on_one_postgresql(backends: Backends) -> None:
    db_url = backends.fresh("postgresql")
    with serve(db_url) as first, serve(db_url) as second:
        client_id = set_up_client(first)
        # The second process caches the client's state (no membership: refused)...
        for _ in range(3):
            refused = check(second)
            assert refused["allowed"] is False and [r["code"] for r in refused["reasons"]] == ["TIER_REQUIRED"]
        # ...then the client changes through the first one.
        become_member(first, client_id)
        changed_at = time.monotonic()  # committed: the answer has come back
        assert seconds_until_allowed(second, changed_at, in_a_row=5) <= 1.0
        assert check(second)["membership"]["plan"] == "gold"


def test_two_workers_on_one_sqlite_file(backends: Backends) -> None:
    db_url = backends.fresh("sqlite")
    with serve(db_url, workers=2) as url:
        client_id = set_up_client(url)
        for _ in range(20):  # new connections: both workers cache the refusal
            assert check(url)["allowed"] is False
        become_member(url, client_id)  # handled by one of the workers
        changed_at = time.monotonic()
        # Twenty allowed answers in a row on new connections: the other worker has dropped its copy.
        assert seconds_until_allowed(url, changed_at, in_a_row=20) <= 1.0
