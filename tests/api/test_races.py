"""Thirty-two simultaneous writes: "at most one live X" holds, and a unique value raced for is a 409, never a 500."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.storage import tables as t
from tests.helpers import SHA, app_state, create_client, in_days, iso, ok, publish_contract, put_plans, simultaneously

N = 32



def statuses(responses: list[Any]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def live_memberships(client: TestClient, client_id: str) -> list[tuple[str, str]]:
    state = app_state(client)
    with state.db.reader() as session:
        rows = session.execute(
            sa.select(t.Membership.plan_code, t.Membership.status).where(
                t.Membership.client_id == client_id, t.Membership.superseded_at.is_(None)
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_simultaneous_membership_puts_leave_one_live_membership(client: TestClient) -> None:
    put_plans(client)
    acme = create_client(client, phones=["2125550142"])
    body = {"plan": "silver", "status": "active", "current_period_end": iso(in_days(30))}
    responses = simultaneously([lambda: client.put(f"/v1/clients/{acme['id']}/membership", json=body)] * N)
    assert statuses(responses) == {200: N}, [r.text for r in responses if r.status_code != 200][:3]
    assert live_memberships(client, acme["id"]) == [("silver", "active")]
    coverage = ok(client.get("/v1/reports/coverage"))
    assert coverage["members"]["silver"] == 1 and sum(coverage["members"].values()) == 1
    assert coverage["rmr"]["amount_minor"] == 4900

    responses = simultaneously([lambda: client.delete(f"/v1/clients/{acme['id']}/membership")] * N)
    assert statuses(responses) == {200: N}
    assert live_memberships(client, acme["id"]) == [("silver", "canceled")]
    coverage = ok(client.get("/v1/reports/coverage"))
    assert sum(coverage["members"].values()) == 0 and coverage["rmr"]["amount_minor"] == 0


def test_simultaneous_puts_of_different_plans_leave_the_last_one_live(client: TestClient) -> None:
    put_plans(client)
    acme = create_client(client)
    calls = [
        (lambda plan=plan: client.put(f"/v1/clients/{acme['id']}/membership", json={"plan": plan, "status": "active"}))
        for plan in ["silver", "gold"] * (N // 2)
    ]
    assert statuses(simultaneously(calls)) == {200: N}
    [(plan, _status)] = live_memberships(client, acme["id"])
    history = ok(client.get(f"/v1/clients/{acme['id']}/events"))["items"]
    assert history[0]["kind"] == "membership.put" and history[0]["subject"] == plan


def test_simultaneous_publications_leave_one_current_version(client: TestClient) -> None:
    for number in range(N):
        ok(client.post("/v1/contracts", json={
            "version": f"v{number}", "title": "T", "document_url": "https://example.com/c.pdf", "document_sha256": SHA,
            "grace_days": 30,
        }), 201)
    at = iso(in_days(-1))
    responses = simultaneously([
        (lambda number=number: client.post(f"/v1/contracts/v{number}/publish", json={"at": at})) for number in range(N)
    ])
    assert statuses(responses) == {200: 1, 409: N - 1}
    published = [v for v in ok(client.get("/v1/contracts?limit=100"))["items"] if v["published_at"] is not None]
    assert len(published) == 1 and published[0]["status"] == "current"


def test_simultaneous_creations_with_one_phone_make_one_client(client: TestClient) -> None:
    responses = simultaneously([
        (lambda number=number: client.post("/v1/clients", json={"name": f"Racer {number}", "phones": ["(212) 555-0199"]}))
        for number in range(N)
    ])
    assert statuses(responses) == {201: 1, 409: N - 1}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    refused = [r.json() for r in responses if r.status_code == 409]
    assert all(p["type"] == "urn:supportgate:problem:conflict" for p in refused)
    assert all("phone" in p["detail"] or "identifier" in p["detail"] for p in refused)
    found = ok(client.get("/v1/clients", params={"q": "212 555 0199"}))["items"]
    assert len(found) == 1


def test_simultaneous_patches_to_one_phone_give_it_to_one_client(client: TestClient) -> None:
    made = [create_client(client, name=f"Patcher {n}") for n in range(N)]
    responses = simultaneously([
        (lambda cid=c["id"]: client.patch(f"/v1/clients/{cid}", json={"phones": ["(212) 555-0177"]})) for c in made
    ])
    assert statuses(responses) == {200: 1, 409: N - 1}
    assert len(ok(client.get("/v1/clients", params={"q": "2125550177"}))["items"]) == 1


def test_simultaneous_signature_request_registrations_keep_one(client: TestClient) -> None:
    publish_contract(client)
    acme = create_client(client)
    body = {"provider": "docusign", "external_id": "env-race", "contract_version": "2026.1"}
    responses = simultaneously([lambda: client.post(f"/v1/clients/{acme['id']}/signature-requests", json=body)] * N)
    assert statuses(responses) == {201: 1, 409: N - 1}
    assert len(ok(client.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]) == 1


def test_simultaneous_contract_drafts_of_one_version_keep_one(client: TestClient) -> None:
    body = {"version": "2027.1", "title": "T", "document_url": "https://example.com/c.pdf", "document_sha256": SHA,
            "grace_days": 30}
    responses = simultaneously([lambda: client.post("/v1/contracts", json=body)] * N)
    assert statuses(responses) == {201: 1, 409: N - 1}


@pytest.mark.parametrize("resource", ["services", "plans"])
def test_simultaneous_creations_of_one_catalog_code_never_fail(client: TestClient, resource: str) -> None:
    if resource == "services":
        body: dict[str, Any] = {"name": "Racing", "requires_contract": False, "min_rank": 0}
    else:
        body = {"name": "Racing", "rank": 3, "monthly_price": {"amount_minor": 100, "currency": "USD"},
                "routing": {"priority": "high", "queue": "q"}, "sla": {"first_response_minutes": 1, "onsite_response_hours": 1}}
    responses = simultaneously([lambda: client.put(f"/v1/{resource}/racing", json=body)] * N)
    found = statuses(responses)
    assert found[500] == 0 and found[201] == 1 and found[200] + found[409] == N - 1, found


def test_simultaneous_imports_of_one_phone_make_one_client(client: TestClient) -> None:
    responses = simultaneously([
        (lambda number=number: client.post("/v1/clients/import", json=[{"name": f"Importer {number}", "phones": ["2125550155"]}]))
        for number in range(N)
    ])
    found = statuses(responses)
    assert found[500] == 0 and found[200] + found[409] == N, found
    assert sum(r.json()["created"] for r in responses if r.status_code == 200) == 1
    assert len(ok(client.get("/v1/clients", params={"q": "2125550155"}))["items"]) == 1
