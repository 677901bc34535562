"""What contract fuzzing found, pinned: each of these once gave a 500 or a wrong answer."""

from fastapi.testclient import TestClient

from tests.api.test_errors import assert_problem
from tests.helpers import app_state, create_client, ok, put_plans


def test_nul_bytes_and_surrogates_are_bad_input_and_change_nothing(client: TestClient) -> None:
    before = ok(client.get("/v1/clients"))["items"]
    assert_problem(client.post("/v1/clients", json={"name": "Acme\x00Dental"}), 422)
    body = '[{"name": "x", "external_refs": [{"system": "s\\u0000", "id": "1"}]}]'
    assert_problem(client.post("/v1/clients/import", content=body, headers={"content-type": "application/json"}), 422)
    assert ok(client.get("/v1/clients"))["items"] == before


def test_a_bare_carriage_return_in_a_csv_is_read_not_a_crash(client: TestClient) -> None:
    answer = client.post("/v1/clients/import", content=b"name\rAcme\n", headers={"content-type": "text/csv"})
    assert ok(answer)["created"] == 1


def test_types_are_not_coerced(client: TestClient) -> None:
    put_plans(client)
    acme = create_client(client)
    plan = {"name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 1, "currency": "USD"},
            "routing": {"priority": "high", "queue": "q"}, "sla": {"first_response_minutes": 1, "onsite_response_hours": 1}}
    assert_problem(client.put("/v1/plans/gold", json={**plan, "active": 0}), 422)
    assert_problem(client.put("/v1/plans/gold", json={**plan, "rank": False}), 422)
    # timestamps: RFC 3339 strings only, never Unix numbers
    assert_problem(client.post(f"/v1/clients/{acme['id']}/acceptances", json={
        "contract_version": "x", "decision": "signed", "signed_at": 0}), 422)
    assert_problem(client.get("/v1/reports/unsigned", params={"deadline_before": "0.5"}), 422)
    ok(client.get("/v1/reports/unsigned", params={"deadline_before": "2030-01-01T00:00:00Z"}))
    # the structured check refuses fields it does not know
    assert_problem(client.post("/v1/entitlements/check", json={
        "client": {"phone": "2125550142"}, "service": "triage", "surprise": 1}), 422)


def test_undecodable_bodies_are_422(client: TestClient) -> None:
    assert_problem(client.post("/v1/clients", content=b'{"name": "\xff\xfe"}', headers={"content-type": "application/json"}), 422)


def test_405_names_every_method_of_the_path(client: TestClient) -> None:
    answer = client.request("OPTIONS", "/v1/clients")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST"
    assert client.request("OPTIONS", "/v1/clients/import").headers["allow"] == "POST"


def test_a_nul_in_a_check_is_bad_input_and_does_not_degrade_the_service(client: TestClient) -> None:
    for params in ({"client_id": "cl_\x00"}, {"external_system": "halo", "external_id": "1\x00"}, {"email": "a\x00@b.com"}):
        assert_problem(client.get("/v1/entitlements/check", params={"service": "triage", **params}), 422)
    state = app_state(client)
    assert state.cache.db_available is True
    assert ok(client.get("/v1/entitlements/check", params={"service": "triage", "phone": "2125550142"}))["degraded"] is False
