"""PandaDoc: ?signature= hex HMAC over the raw body, arrays of events, X-PandaDoc-Webhook-Event-Id."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.helpers import check, codes, ok
from tests.webhooks import providers as p
from tests.webhooks.conftest import contract_status, counts, inbox, outcome, settle

URL = "/v1/webhooks/pandadoc"


def deliver(
    wh: TestClient, events: list[dict[str, Any]], *, delivery_id: str | None = None, signature: str | None = None,
) -> httpx.Response:
    raw = json.dumps(events).encode()
    headers = {"Content-Type": "application/json", "X-PandaDoc-Webhook-Event-Id": delivery_id or uuid.uuid4().hex}
    return wh.post(URL, content=raw, params={"signature": signature or p.pandadoc_signature(raw)}, headers=headers)


def test_an_array_with_sent_and_completed_signs_the_contract(wh: TestClient, acme: dict[str, Any]) -> None:
    doc = f"doc-{uuid.uuid4().hex[:8]}"
    response = deliver(wh, [
        p.pandadoc_event("document_state_changed", doc, "document.sent", client_id=acme["id"]),
        p.pandadoc_event("document_state_changed", doc, "document.completed", client_id=acme["id"]),
    ])
    assert response.status_code == 200 and len(response.json()["events"]) == 2
    assert contract_status(wh, acme["id"]) == "signed"
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "signed"
    [acceptance] = ok(wh.get(f"/v1/clients/{acme['id']}/acceptances"))["items"]
    assert acceptance["provider"] == "pandadoc" and acceptance["signer_email"] == "ada@acme.example"


def test_wrong_key_tampered_body_or_missing_signature_is_401(wh: TestClient, acme: dict[str, Any]) -> None:
    events = [p.pandadoc_event("document_state_changed", "doc-1", "document.completed", client_id=acme["id"])]
    raw = json.dumps(events).encode()
    assert deliver(wh, events, signature=p.pandadoc_signature(raw, "other-key")).status_code == 401
    tampered = raw.replace(b"document.completed", b"document.declined")
    assert wh.post(URL, content=tampered, params={"signature": p.pandadoc_signature(raw)}).status_code == 401
    assert wh.post(URL, content=raw).status_code == 401
    assert wh.post(URL, content=raw, params={"signature": ""}).status_code == 401
    assert counts(wh) == (0, 0, 0)


def test_a_retried_delivery_is_a_duplicate(wh: TestClient, acme: dict[str, Any]) -> None:
    events = [p.pandadoc_event("document_state_changed", "doc-2", "document.completed", client_id=acme["id"])]
    assert outcome(wh, deliver(wh, events, delivery_id="evt-1")) == "applied"
    assert deliver(wh, events, delivery_id="evt-1").json()["status"] == "duplicate"
    assert counts(wh) == (1, 1, 1)


def test_declined_refuses_and_a_late_viewed_does_not_undo_it(wh: TestClient, acme: dict[str, Any]) -> None:
    deliver(wh, [p.pandadoc_event("document_state_changed", "doc-3", "document.declined", client_id=acme["id"])])
    deliver(wh, [p.pandadoc_event("document_state_changed", "doc-3", "document.viewed", client_id=acme["id"])])
    settle(wh)
    assert "CONTRACT_DECLINED" in codes(check(wh, id=acme["id"]))
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "declined"


def test_pandadoc_voided_is_expired_and_signs_nothing(wh: TestClient, acme: dict[str, Any]) -> None:
    deliver(wh, [p.pandadoc_event("document_state_changed", "doc-4", "document.voided", client_id=acme["id"])])
    settle(wh)
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "expired" and counts(wh)[1] == 0


def test_unmatched_then_registered_and_replayed(wh: TestClient, acme: dict[str, Any]) -> None:
    deliver(wh, [p.pandadoc_event("document_state_changed", "doc-5", "document.completed", version=None)])
    [event] = inbox(wh, "unmatched")
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "pandadoc", "external_id": "doc-5", "contract_version": "2026.1"}), 201)
    assert ok(wh.post(f"/v1/webhooks/events/{event['id']}/replay"))["status"] == "processed"
    assert contract_status(wh, acme["id"]) == "signed"
