"""Simultaneous uses against two live replicas (two servers, one database): never an overdraw, never a double entry."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import simultaneously
from tests.integrations.server import free_port

N = 32
PLAN = {
    "name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 14900, "currency": "USD"},
    "routing": {"priority": "high", "queue": "priority"}, "sla": {"first_response_minutes": 30, "onsite_response_hours": 8},
    "allowances": [{"service": "remote_support", "unit": "incidents", "amount": 7, "period": "month", "overage": "refuse"}],
}


@pytest.fixture
def replicas(db_url: str) -> Iterator[list[str]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    bases = []
    for _ in range(2):
        port = free_port()
        config = uvicorn.Config(create_app(make_settings(db_url)), host="127.0.0.1", port=port, log_level="warning",
                                lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        bases.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 20
    for server, thread in servers:
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "a server did not start"
            time.sleep(0.05)
    yield bases
    for server, _thread in servers:
        server.should_exit = True
    for _server, thread in servers:
        thread.join(timeout=10)



def _member_with_five_left(base: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30)
    assert http.put("/v1/plans/gold", json=PLAN).status_code == 201
    cid = http.post("/v1/clients", json={"name": "Acme Dental"}).json()["id"]
    assert http.put(f"/v1/clients/{cid}/membership", json={"plan": "gold", "status": "active"}).status_code == 200
    for key in ("before-1", "before-2"):
        answer = http.post(f"/v1/clients/{cid}/usage", json={"service": "remote_support", "units": 1, "idempotency_key": key})
        assert answer.status_code == 201, answer.text
    return http, cid


def test_thirty_two_simultaneous_uses_with_five_left_make_exactly_five(replicas: list[str]) -> None:
    http, cid = _member_with_five_left(replicas[0])
    clients = [httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60) for base in replicas]

    def use(i: int) -> httpx.Response:
        return clients[i % 2].post(f"/v1/clients/{cid}/usage",
                                   json={"service": "remote_support", "units": 1, "idempotency_key": f"call-{i}"})

    responses = simultaneously([lambda i=i: use(i) for i in range(N)])
    assert Counter(r.status_code for r in responses) == {201: 5, 409: N - 5}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"ALLOWANCE_EXHAUSTED"}
    ledger = http.get(f"/v1/clients/{cid}/usage?limit=500").json()["items"]
    assert len(ledger) == 7
    for client in clients:  # every replica's cached state saw the uses: both refuse now
        check = client.post("/v1/entitlements/check", json={"client": {"id": cid}, "service": "remote_support"})
        assert check.json()["reasons"][0]["code"] == "ALLOWANCE_EXHAUSTED" or _eventually_exhausted(client, cid)


def _eventually_exhausted(client: httpx.Client, cid: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        check = client.post("/v1/entitlements/check", json={"client": {"id": cid}, "service": "remote_support"}).json()
        if check["reasons"][0]["code"] == "ALLOWANCE_EXHAUSTED":
            return True
        time.sleep(0.1)
    return False


def test_the_same_key_ten_times_at_once_records_one_entry(replicas: list[str]) -> None:
    http, cid = _member_with_five_left(replicas[0])
    clients = [httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60) for base in replicas]
    body = {"service": "remote_support", "units": 1, "idempotency_key": "ticket-77", "ticket_ref": "77"}
    responses = simultaneously([lambda i=i: clients[i % 2].post(f"/v1/clients/{cid}/usage", json=body) for i in range(10)])
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 9}
    assert len({r.text for r in responses}) == 1  # the same answer, byte for byte
    ledger = http.get(f"/v1/clients/{cid}/usage?limit=500").json()["items"]
    assert [e["idempotency_key"] for e in ledger].count("ticket-77") == 1 and len(ledger) == 3
