"""Adobe Acrobat Sign: client-id echo on GET and POST, state confirmed with the Sign API (a stub)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import ok
from tests.webhooks import providers as p
from tests.webhooks.conftest import StubApi, contract_status, counts, inbox, outcome, settle

URL = "/v1/webhooks/adobe-sign"


def headers(client_id: str = p.ADOBE_CLIENT_IDS[0]) -> dict[str, str]:
    return {"X-ADOBESIGN-CLIENTID": client_id, "Content-Type": "application/json"}


def register(wh: TestClient, acme: dict[str, Any], agreement_id: str) -> None:
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "adobe_sign", "external_id": agreement_id, "contract_version": "2026.1"}), 201)


def test_the_registration_check_echoes_known_client_ids_only(wh: TestClient) -> None:
    for client_id in p.ADOBE_CLIENT_IDS:
        response = wh.get(URL, headers=headers(client_id))
        assert response.status_code == 200
        assert response.headers["X-AdobeSign-ClientId"] == client_id
        assert response.json() == {"xAdobeSignClientId": client_id}
    assert wh.get(URL, headers=headers("SOMEONE-ELSE")).status_code == 401
    assert wh.get(URL).status_code == 401


def test_workflow_completed_confirmed_by_the_api_signs_and_echoes(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    register(wh, acme, "agr-1")
    stub_api.answer("/api/rest/v6/agreements/agr-1", (200, {"id": "agr-1", "status": "SIGNED"}))
    response = wh.post(URL, content=p.adobe_body("AGREEMENT_WORKFLOW_COMPLETED", "agr-1"), headers=headers())
    assert response.status_code == 200 and response.headers["X-AdobeSign-ClientId"] == p.ADOBE_CLIENT_IDS[0]
    assert response.json()["xAdobeSignClientId"] == p.ADOBE_CLIENT_IDS[0]
    assert contract_status(wh, acme["id"]) == "signed"
    assert stub_api.requests[0]["headers"]["Authorization"] == f"Bearer {p.ADOBE_TOKEN}"


def test_an_agreement_the_api_says_is_not_signed_is_not_applied(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    register(wh, acme, "agr-2")
    stub_api.answer("/api/rest/v6/agreements/agr-2", (200, {"id": "agr-2", "status": "OUT_FOR_SIGNATURE"}))
    assert wh.post(URL, content=p.adobe_body("AGREEMENT_WORKFLOW_COMPLETED", "agr-2"), headers=headers()).status_code == 200
    assert contract_status(wh, acme["id"]) == "pending"
    [event] = inbox(wh, "unconfirmed")
    assert "OUT_FOR_SIGNATURE" in event["detail"]


def test_unknown_or_missing_client_id_is_401_and_stores_nothing(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    body = p.adobe_body("AGREEMENT_WORKFLOW_COMPLETED", "agr-3")
    assert wh.post(URL, content=body, headers=headers("SOMEONE-ELSE")).status_code == 401
    assert wh.post(URL, content=body, headers={"Content-Type": "application/json"}).status_code == 401
    assert counts(wh)[0] == 0 and stub_api.requests == []


def test_duplicate_notification_and_unmatched_then_replay(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    stub_api.answer("/api/rest/v6/agreements/agr-4", (200, {"id": "agr-4", "status": "SIGNED"}))
    body = p.adobe_body("AGREEMENT_WORKFLOW_COMPLETED", "agr-4", notification_id="n-1")
    assert outcome(wh, wh.post(URL, content=body, headers=headers())) == "unmatched"
    assert wh.post(URL, content=body, headers=headers()).json()["status"] == "duplicate"
    [event] = inbox(wh, "unmatched")
    register(wh, acme, "agr-4")
    assert ok(wh.post(f"/v1/webhooks/events/{event['id']}/replay"))["status"] == "processed"
    assert contract_status(wh, acme["id"]) == "signed" and counts(wh)[1] == 1


def test_rejected_confirmed_by_the_api_refuses_with_contract_declined(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    from tests.helpers import check, codes

    register(wh, acme, "agr-5")
    stub_api.answer("/api/rest/v6/agreements/agr-5", (200, {"id": "agr-5", "status": "CANCELLED"}))
    assert wh.post(URL, content=p.adobe_body("AGREEMENT_REJECTED", "agr-5"), headers=headers()).status_code == 200
    settle(wh)
    assert "CONTRACT_DECLINED" in codes(check(wh, id=acme["id"]))


def test_a_late_email_viewed_after_completion_does_not_regress(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    register(wh, acme, "agr-6")
    stub_api.answer("/api/rest/v6/agreements/agr-6", (200, {"id": "agr-6", "status": "SIGNED"}))
    wh.post(URL, content=p.adobe_body("AGREEMENT_WORKFLOW_COMPLETED", "agr-6"), headers=headers())
    wh.post(URL, content=p.adobe_body("AGREEMENT_EMAIL_VIEWED", "agr-6"), headers=headers())
    settle(wh)
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "signed" and contract_status(wh, acme["id"]) == "signed"
    assert len(stub_api.requests) == 1  # viewing needs no confirmation
