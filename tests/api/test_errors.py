"""Bad input gets a clear 4xx problem+json answer, never a 500 and never a stack trace."""

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.helpers import create_client

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/entitlements/check", b"{not json"),
        ("/v1/clients", b"{not json"),
        ("/v1/entitlements/check", b"[1, 2]"),
    ],
)
def test_malformed_json(client: TestClient, path: str, body: bytes) -> None:
    assert_problem(client.post(path, content=body, headers={"content-type": "application/json"}), 422)


def test_wrong_types_and_missing_fields(client: TestClient) -> None:
    body = assert_problem(client.post("/v1/clients", json={"name": 42}), 422)
    assert body["errors"][0]["loc"] == ["body", "name"]
    assert_problem(client.post("/v1/entitlements/check", json={"client": {"phone": 2125550142}, "service": "triage"}), 422)
    assert_problem(client.post("/v1/entitlements/check", json={"client": {}, "service": "triage"}), 422)
    assert_problem(client.post("/v1/entitlements/check", json={"client": {"phone": "1", "email": "a@b.com"},
                                                               "service": "triage"}), 422)
    assert_problem(client.post("/v1/entitlements/check", json={"client": {"phone": "2125550142"}}), 422)
    assert_problem(client.put("/v1/plans/gold", json={"name": "Gold", "rank": "high"}), 422)


def test_unknown_codes_are_422(client: TestClient) -> None:
    body = assert_problem(client.post("/v1/entitlements/check", json={"client": {"phone": "2125550142"},
                                                                      "service": "time_travel"}), 422)
    assert "time_travel" in body["detail"]
    acme = create_client(client, phones=["2125550142"])
    assert_problem(client.put(f"/v1/clients/{acme['id']}/membership", json={"plan": "diamond", "status": "active"}), 422)
    assert_problem(client.post(f"/v1/clients/{acme['id']}/overrides", json={
        "service": "nope", "expires_at": "2099-01-01T00:00:00+00:00", "reason": "x"}), 422)
    assert_problem(client.post(f"/v1/clients/{acme['id']}/acceptances", json={
        "contract_version": "0.0", "decision": "signed", "signed_at": "2026-01-01T00:00:00+00:00"}), 422)


def test_bad_identifiers_are_bad_input_not_refusals(client: TestClient) -> None:
    assert_problem(client.post("/v1/entitlements/check", json={"client": {"phone": "call me"}, "service": "triage"}), 422)
    assert_problem(client.post("/v1/entitlements/check", json={"client": {"email": "not-an-email"}, "service": "triage"}), 422)
    assert_problem(client.get("/v1/entitlements/check", params={"service": "triage", "phone": "abc"}), 422)


def test_timestamps_need_an_offset(client: TestClient) -> None:
    assert_problem(client.post("/v1/entitlements/check", json={"client": {"phone": "2125550142"}, "service": "triage",
                                                               "at": "2026-11-24T10:00:00"}), 422)
    assert_problem(client.get("/v1/entitlements/check", params={"service": "triage", "phone": "2125550142",
                                                                "at": "2026-11-24T10:00:00"}), 422)
    acme = create_client(client)
    assert_problem(client.post(f"/v1/clients/{acme['id']}/overrides", json={
        "service": "triage", "expires_at": "2099-01-01T00:00:00", "reason": "x"}), 422)


def test_oversize_bodies_are_413(client: TestClient) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert_problem(client.post("/v1/clients", content=big, headers={"content-type": "application/json"}), 413)
    assert_problem(client.post("/v1/entitlements/check", content=big, headers={"content-type": "application/json"}), 413)


def test_unknown_routes_methods_and_ids(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)
    assert_problem(client.get("/v1/clients/cl_missing"), 404)
    assert_problem(client.delete("/v1/clients/cl_missing"), 405)
    assert_problem(client.delete("/v1/overrides/ovr_missing"), 404)
    assert_problem(client.get("/v1/contracts/current"), 404)
    assert_problem(client.get("/v1/clients", params={"limit": "many"}), 422)
