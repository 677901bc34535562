"""Signed deliveries dated at the calendar's edge: kept and refused (200, so the provider stops), never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integrations.test_zendesk import zendesk_app
from tests.integrations.zendesk_helpers import PATH, SECRET, ticket_body
from tests.integrations.zendesk_stub import ZendeskStub
from tests.webhooks import providers as p
from tests.webhooks.conftest import StubApi, contract_status, counts, inbox, outcome

EDGES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2200-01-01T00:00:01Z", "1969-12-31T23:59:59Z"]


def refused(wh: TestClient, acme: dict[str, Any], field: str) -> None:
    [event] = inbox(wh, "refused")
    assert field in event["detail"] and "outside 1970-01-01..2200-01-01" in event["detail"]
    assert counts(wh)[1:] == (0, 0) and contract_status(wh, acme["id"]) == "pending"


@pytest.mark.parametrize("edge", EDGES)
def test_docusign(wh: TestClient, acme: dict[str, Any], edge: str) -> None:
    raw = p.docusign_body("envelope-completed", str(uuid.uuid4()), client_id=acme["id"], generated=edge)
    response = wh.post("/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw))
    assert outcome(wh, response) == "rejected", response.text
    refused(wh, acme, "generatedDateTime")


@pytest.mark.parametrize("edge", EDGES)
def test_pandadoc(wh: TestClient, acme: dict[str, Any], edge: str) -> None:
    event = p.pandadoc_event("document_state_changed", "doc-edge", "document.completed", client_id=acme["id"])
    event["data"]["date_modified"] = edge
    raw = json.dumps([event]).encode()
    response = wh.post("/v1/webhooks/pandadoc", content=raw, params={"signature": p.pandadoc_signature(raw)})
    assert outcome(wh, response) == "rejected", response.text
    refused(wh, acme, "data.date_modified")


@pytest.mark.parametrize("edge", EDGES)
def test_standard_webhooks(wh: TestClient, acme: dict[str, Any], edge: str) -> None:
    raw = p.standard_body(client_id=acme["id"], contract_version="2026.1", signed_at=edge)
    response = wh.post("/v1/webhooks/standard", content=raw, headers=p.standard_headers(raw))
    assert outcome(wh, response) == "rejected", response.text
    refused(wh, acme, "data.signed_at")


@pytest.mark.parametrize("event_time", ["253402300799", "99999999999999999999", "7258118401"])
def test_dropbox_sign_event_time(wh: TestClient, acme: dict[str, Any], stub_api: StubApi, event_time: str) -> None:
    document = p.dropbox_event("signature_request_all_signed", "sr-edge", client_id=acme["id"], event_time=event_time)
    response = wh.post("/v1/webhooks/dropbox-sign", files=p.dropbox_files(document))
    assert response.status_code == 200 and response.text == "Hello API Event Received"
    refused(wh, acme, "event.event_time")
    assert stub_api.requests == []  # refused before the API is asked


@pytest.mark.parametrize("edge", EDGES[:2])
def test_adobe_sign_event_date(wh: TestClient, acme: dict[str, Any], stub_api: StubApi, edge: str) -> None:
    body = json.loads(p.adobe_body("AGREEMENT_WORKFLOW_COMPLETED", "agr-edge"))
    body["eventDate"] = edge
    headers = {"X-ADOBESIGN-CLIENTID": p.ADOBE_CLIENT_IDS[0], "Content-Type": "application/json"}
    response = wh.post("/v1/webhooks/adobe-sign", content=json.dumps(body), headers=headers)
    assert outcome(wh, response) == "rejected", response.text
    refused(wh, acme, "eventDate")


@pytest.mark.parametrize("edge", EDGES[:2])
def test_zendesk_signature_timestamp_is_a_401(db_url: str, edge: str) -> None:
    stub = ZendeskStub().start()
    try:
        with zendesk_app(db_url, stub.url) as client:
            body = ticket_body("7002", email="office@acmedental.com")
            signature = base64.b64encode(hmac.new(SECRET.encode(), edge.encode() + body, hashlib.sha256).digest()).decode()
            response = client.post(PATH, content=body, headers={
                "Content-Type": "application/json", "X-Zendesk-Webhook-Signature": signature,
                "X-Zendesk-Webhook-Signature-Timestamp": edge})
            assert response.status_code == 401, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
    finally:
        stub.stop()
