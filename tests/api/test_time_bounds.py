"""Timestamps at the calendar's edge, or out of their meaning, are a 422 through every door, never a 500;
and after any error the same keep-alive connection serves the next request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import SHA, create_client, in_days, iso, now, ok, publish_contract, put_plans
from tests.integrations.server import free_port
from tests.ui.ui_helpers import csrf_of, make_key, sign_in

EDGES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59+00:00",
         "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z"]


def assert_422(response: Any, where: str) -> None:
    assert response.status_code == 422, (where, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), where


@pytest.fixture
def acme(client: TestClient) -> dict[str, Any]:
    put_plans(client)
    publish_contract(client, at=now() - timedelta(days=10))
    return create_client(client, phones=["2125550142"])


@pytest.mark.parametrize("edge", EDGES)
def test_every_timestamp_the_api_takes_is_bounded(client: TestClient, acme: dict[str, Any], edge: str) -> None:
    cid = acme["id"]
    ok(client.post("/v1/contracts", json={"version": "2027.1", "title": "T", "document_url": "https://example.com/c.pdf",
                                          "document_sha256": SHA, "grace_days": 30}), 201)
    requests = {
        "grace until": client.post(f"/v1/clients/{cid}/grace", json={"until": edge}),
        "override expires_at": client.post(f"/v1/clients/{cid}/overrides",
                                           json={"service": "advanced_support", "expires_at": edge, "reason": "r"}),
        "membership current_period_end": client.put(f"/v1/clients/{cid}/membership",
                                                    json={"plan": "gold", "status": "active", "current_period_end": edge}),
        "acceptance signed_at": client.post(f"/v1/clients/{cid}/acceptances",
                                            json={"contract_version": "2026.1", "decision": "signed", "signed_at": edge}),
        "deadline_before": client.get("/v1/reports/unsigned", params={"deadline_before": edge}),
        "deadline_after": client.get("/v1/reports/unsigned", params={"deadline_after": edge}),
        "publish at": client.post("/v1/contracts/2027.1/publish", json={"at": edge}),
        "check at (POST)": client.post("/v1/entitlements/check",
                                       json={"client": {"id": cid}, "service": "triage", "at": edge}),
        "check at (flat POST)": client.post("/v1/entitlements/check", json={"client_id": cid, "service": "triage", "at": edge}),
        "check at (GET)": client.get("/v1/entitlements/check", params={"client_id": cid, "service": "triage", "at": edge}),
        "batch at": client.post("/v1/entitlements/check-batch",
                                json={"items": [{"client": {"id": cid}, "service": "triage", "at": edge}]}),
    }
    for where, response in requests.items():
        if where == "batch at":
            assert response.status_code == 200, response.text
            assert response.json()["results"][0]["status"] == 422
            continue
        assert_422(response, where)
    assert ok(client.get(f"/v1/clients/{cid}"))["membership"]["plan"] is None


def test_a_signature_before_its_contract_existed_is_refused(client: TestClient, acme: dict[str, Any]) -> None:
    before = now() - timedelta(days=11)  # the version was published (backdated) ten days ago, written today
    refused = client.post(f"/v1/clients/{acme['id']}/acceptances",
                          json={"contract_version": "2026.1", "decision": "signed", "signed_at": iso(before)})
    assert_422(refused, "signed_at")
    assert "before" in refused.json()["detail"]
    ok(client.post(f"/v1/clients/{acme['id']}/acceptances",
                   json={"contract_version": "2026.1", "decision": "signed", "signed_at": iso(now() - timedelta(days=9))}), 201)


def test_a_publication_more_than_five_years_ahead_is_refused(client: TestClient) -> None:
    ok(client.post("/v1/contracts", json={"version": "2031.1", "title": "T", "document_url": "https://example.com/c.pdf",
                                          "document_sha256": SHA, "grace_days": 30}), 201)
    assert_422(client.post("/v1/contracts/2031.1/publish", json={"at": iso(in_days(6 * 365))}), "publish at")
    published = ok(client.post("/v1/contracts/2031.1/publish", json={"at": iso(in_days(4 * 365))}))
    assert published["status"] == "scheduled"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2200-01-01"])
def test_the_web_page_grace_and_signature_forms_refuse_dates_at_the_edge(
    client: TestClient, acme: dict[str, Any], settings: Any, day: str
) -> None:
    browser = TestClient(client.app)
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read", "clients:write"))
    token = csrf_of(browser.get(f"/ui/clients/{acme['id']}").text)
    grace = browser.post(f"/ui/clients/{acme['id']}/grace", data={"csrf_token": token, "until": day})
    assert grace.status_code == 422 and "Not saved" in grace.text
    signature = browser.post(f"/ui/clients/{acme['id']}/signature", data={
        "csrf_token": token, "contract_version": "2026.1", "signer_name": "Ada", "signed_on": day})
    assert signature.status_code == 422 and "Not saved" in signature.text
    assert ok(client.get(f"/v1/clients/{acme['id']}"))["contract"]["status"] == "pending"


@pytest.fixture
def live(db_url: str) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(make_settings(db_url)), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_connection_serves_the_next_request_after_each_error(live: str) -> None:
    sockets: list[Any] = []

    def note(response: httpx.Response) -> None:
        sockets.append(response.extensions["network_stream"].get_extra_info("client_addr"))

    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=live, headers=headers, event_hooks={"response": [note]}) as http:
        made = http.post("/v1/clients", json={"name": "Acme", "phones": ["2125550142"]})
        assert made.status_code == 201
        cid = made.json()["id"]
        failures = [
            http.post(f"/v1/clients/{cid}/grace", json={"until": EDGES[0]}),
            http.post("/v1/clients", json={"name": "Twin", "phones": ["2125550142"]}),  # 409
            http.post("/v1/entitlements/check", json={"client_id": cid, "service": "triage", "at": EDGES[1]}),
            http.get("/v1/entitlements/check", params={"client_id": cid, "service": "triage", "at": EDGES[0]}),
            http.post("/v1/clients", content=b"{not json", headers={"content-type": "application/json"}),
        ]
        answered = [http.get(f"/v1/clients/{cid}") for _ in failures]
    assert [r.status_code for r in failures] == [422, 409, 422, 422, 422]
    assert [r.status_code for r in answered] == [200] * len(failures)
    assert len(set(sockets)) == 1, "every request went over one keep-alive connection"
