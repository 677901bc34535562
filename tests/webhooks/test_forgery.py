"""Nothing the signature does not cover (or the provider's API did not confirm) registers, matches or moves."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from fastapi.testclient import TestClient

from tests.helpers import create_client, ok
from tests.webhooks import providers as p
from tests.webhooks.conftest import StubApi, contract_status, counts, inbox, outcome, settle

DROPBOX = "/v1/webhooks/dropbox-sign"
ADOBE = "/v1/webhooks/adobe-sign"


def dropbox(wh: TestClient, document: str) -> httpx.Response:
    response = wh.post(DROPBOX, files=p.dropbox_files(document))
    assert response.status_code == 200 and response.text == "Hello API Event Received", response.text
    return response


def requests_of(wh: TestClient, client_id: str) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], ok(wh.get(f"/v1/clients/{client_id}/signature-requests"))["items"])


def acceptances_of(wh: TestClient, client_id: str) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], ok(wh.get(f"/v1/clients/{client_id}/acceptances"))["items"])


def test_a_replayed_viewed_hash_with_the_attackers_metadata_cannot_steal_the_victims_signature(
    wh: TestClient, acme: dict[str, Any], stub_api: StubApi,
) -> None:
    """The review's attack: a captured `viewed` event_hash, re-sent naming the victim's request and the attacker."""
    mallory = create_client(wh, "Mallory Ltd", emails=["boss@mallory.example"])
    captured_time = str(int(time.time()) - 2 * 24 * 3600)  # two days old: Dropbox retries keep event_time
    forged = json.loads(p.dropbox_event("signature_request_viewed", "sr-victim", client_id=mallory["id"],
                                        event_time=captured_time))
    dropbox(wh, json.dumps(forged))
    # Stored as received, but it registered nothing and asked nothing.
    assert counts(wh) == (1, 0, 0) and stub_api.requests == []
    [kept] = inbox(wh)
    assert kept["detail"].startswith("recorded, not applied")
    # The victim's genuine completion, confirmed by the API, whose metadata names the victim.
    stub_api.answer("/v3/signature_request/sr-victim", (200, {"signature_request": p.dropbox_request(
        "sr-victim", {"client_id": acme["id"], "contract_version": "2026.1"})}))
    dropbox(wh, p.dropbox_event("signature_request_all_signed", "sr-victim", client_id=mallory["id"]))
    assert contract_status(wh, acme["id"]) == "signed"
    assert contract_status(wh, mallory["id"]) == "pending"
    assert [a["envelope_id"] for a in acceptances_of(wh, acme["id"])] == ["sr-victim"]
    assert acceptances_of(wh, mallory["id"]) == [] and requests_of(wh, mallory["id"]) == []


def test_the_api_naming_another_client_than_the_registered_envelope_is_refused_and_kept(
    wh: TestClient, acme: dict[str, Any], stub_api: StubApi,
) -> None:
    mallory = create_client(wh, "Mallory Ltd", emails=["boss@mallory.example"])
    ok(wh.post(f"/v1/clients/{mallory['id']}/signature-requests",
               json={"provider": "dropbox_sign", "external_id": "sr-x", "contract_version": "2026.1"}), 201)
    stub_api.answer("/v3/signature_request/sr-x", (200, {"signature_request": p.dropbox_request(
        "sr-x", {"client_id": acme["id"], "contract_version": "2026.1"})}))
    dropbox(wh, p.dropbox_event("signature_request_all_signed", "sr-x"))
    assert contract_status(wh, mallory["id"]) == "pending" and contract_status(wh, acme["id"]) == "pending"
    assert counts(wh)[1] == 0
    [refused] = inbox(wh, "refused")
    assert refused["detail"].startswith("refused, not applied") and acme["id"] in refused["detail"]
    [request] = requests_of(wh, mallory["id"])
    assert request["status"] == "sent"


def test_the_api_naming_another_existing_version_than_the_registered_envelope_is_refused(
    wh: TestClient, acme: dict[str, Any], stub_api: StubApi,
) -> None:
    ok(wh.post("/v1/contracts", json={"version": "2027.1", "title": "Next", "document_url": "https://example.com/n.pdf",
                                      "document_sha256": "a" * 64, "grace_days": 0}), 201)
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "dropbox_sign", "external_id": "sr-v", "contract_version": "2026.1"}), 201)
    stub_api.answer("/v3/signature_request/sr-v", (200, {"signature_request": p.dropbox_request(
        "sr-v", {"client_id": acme["id"], "contract_version": "2027.1"})}))
    dropbox(wh, p.dropbox_event("signature_request_all_signed", "sr-v"))
    assert contract_status(wh, acme["id"]) == "pending"
    [refused] = inbox(wh, "refused")
    assert "2027.1" in refused["detail"]


def test_unconfirmed_dropbox_events_of_any_non_final_kind_change_nothing(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    for kind in ("signature_request_sent", "signature_request_viewed", "signature_request_signed",
                 "signature_request_canceled", "signature_request_expired"):
        dropbox(wh, p.dropbox_event(kind, "sr-n", client_id=acme["id"]))
    assert counts(wh) == (5, 0, 0) and stub_api.requests == []
    assert all(e["detail"].startswith("recorded, not applied") for e in inbox(wh, "processed"))


def test_an_unsigned_adobe_event_does_not_move_a_registered_agreement(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "adobe_sign", "external_id": "agr-f", "contract_version": "2026.1"}), 201)
    headers = {"X-ADOBESIGN-CLIENTID": p.ADOBE_CLIENT_IDS[0], "Content-Type": "application/json"}
    for event in ("AGREEMENT_EMAIL_VIEWED", "AGREEMENT_RECALLED", "AGREEMENT_EXPIRED", "AGREEMENT_ACTION_COMPLETED"):
        assert wh.post(ADOBE, content=p.adobe_body(event, "agr-f"), headers=headers).status_code == 200
    settle(wh)
    [request] = requests_of(wh, acme["id"])
    assert request["status"] == "sent" and stub_api.requests == []


def test_an_adobe_completion_for_an_unregistered_agreement_never_takes_a_client_from_the_body(
    wh: TestClient, acme: dict[str, Any], stub_api: StubApi,
) -> None:
    body = json.loads(p.adobe_body("AGREEMENT_WORKFLOW_COMPLETED", "agr-u"))
    body["agreement"]["metadata"] = {"client_id": acme["id"], "contract_version": "2026.1"}
    body["client_id"], body["contract_version"] = acme["id"], "2026.1"
    stub_api.answer("/api/rest/v6/agreements/agr-u", (200, {"id": "agr-u", "status": "SIGNED"}))
    headers = {"X-ADOBESIGN-CLIENTID": p.ADOBE_CLIENT_IDS[0], "Content-Type": "application/json"}
    assert outcome(wh, wh.post(ADOBE, content=json.dumps(body), headers=headers)) == "unmatched"
    assert contract_status(wh, acme["id"]) == "pending" and counts(wh)[1:] == (0, 0)


def test_signed_docusign_metadata_naming_another_client_than_the_registered_envelope_is_refused(
    wh: TestClient, acme: dict[str, Any],
) -> None:
    mallory = create_client(wh, "Mallory Ltd", emails=["boss@mallory.example"])
    env = str(uuid.uuid4())
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "docusign", "external_id": env, "contract_version": "2026.1"}), 201)
    raw = p.docusign_body("envelope-completed", env, client_id=mallory["id"])
    assert outcome(wh, wh.post("/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw))) == "rejected"
    assert contract_status(wh, acme["id"]) == "pending" and contract_status(wh, mallory["id"]) == "pending"
    [refused] = inbox(wh, "refused")
    assert mallory["id"] in refused["detail"]


def test_signed_pandadoc_and_standard_metadata_contradicting_the_registration_are_refused(wh: TestClient, acme: dict[str, Any]) -> None:
    mallory = create_client(wh, "Mallory Ltd", emails=["boss@mallory.example"], external_refs=[{"system": "crm", "id": "MAL-1"}])
    for provider in ("pandadoc", "standard"):
        ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
                   json={"provider": provider, "external_id": f"doc-{provider}", "contract_version": "2026.1"}), 201)
    raw = json.dumps([p.pandadoc_event("document_state_changed", "doc-pandadoc", "document.completed",
                                       client_id=mallory["id"])]).encode()
    response = wh.post("/v1/webhooks/pandadoc", params={"signature": p.pandadoc_signature(raw)}, content=raw)
    assert outcome(wh, response) == "rejected"
    raw = p.standard_body(external_ref={"system": "crm", "id": "MAL-1"}, contract_version="2026.1", envelope_id="doc-standard")
    assert outcome(wh, wh.post("/v1/webhooks/standard", content=raw, headers=p.standard_headers(raw))) == "rejected"
    assert len(inbox(wh, "refused")) == 2 and counts(wh)[1] == 0
    assert contract_status(wh, acme["id"]) == "pending" and contract_status(wh, mallory["id"]) == "pending"


def test_a_signature_dated_before_its_version_existed_or_in_the_future_is_refused(wh: TestClient, acme: dict[str, Any]) -> None:
    early = p.docusign_body("envelope-completed", str(uuid.uuid4()), client_id=acme["id"], generated="2020-01-01T00:00:00Z")
    assert outcome(wh, wh.post("/v1/webhooks/docusign", content=early, headers=p.docusign_headers(early))) == "rejected"
    ahead = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    late = p.standard_body(client_id=acme["id"], contract_version="2026.1", signed_at=ahead)
    assert outcome(wh, wh.post("/v1/webhooks/standard", content=late, headers=p.standard_headers(late))) == "rejected"
    details = [e["detail"] for e in inbox(wh, "refused")]
    assert any("before contract 2026.1 existed" in d for d in details) and any("in the future" in d for d in details)
    assert contract_status(wh, acme["id"]) == "pending" and counts(wh)[1] == 0
