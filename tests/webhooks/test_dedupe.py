"""Dedupe keys come from signed content: new values in unsigned headers make no new event and no new write-back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integrations.fixtures import gold_member
from tests.integrations.test_zendesk import outbox, zendesk_app
from tests.integrations.zendesk_helpers import PATH, signed, ticket_body
from tests.integrations.zendesk_stub import ZendeskStub, wait_for
from tests.webhooks import providers as p
from tests.webhooks.conftest import contract_status, counts, outcome


def test_one_signed_pandadoc_body_with_new_event_id_headers_is_one_event(wh: TestClient, acme: dict[str, Any]) -> None:
    doc = f"doc-{uuid.uuid4().hex[:8]}"
    raw = json.dumps([p.pandadoc_event("document_state_changed", doc, "document.sent", client_id=acme["id"]),
                      p.pandadoc_event("document_state_changed", doc, "document.completed", client_id=acme["id"])]).encode()
    answers = [
        outcome(wh, wh.post("/v1/webhooks/pandadoc", content=raw, params={"signature": p.pandadoc_signature(raw)},
                            headers={"Content-Type": "application/json", "X-PandaDoc-Webhook-Event-Id": f"replay-{n}"}))
        for n in range(4)
    ]
    assert answers == ["applied", "duplicate", "duplicate", "duplicate"]
    assert counts(wh) == (2, 1, 1) and contract_status(wh, acme["id"]) == "signed"
    # The same signed event inside another (signed) batch is still the same event.
    again = json.dumps(json.loads(raw)[1:]).encode()
    assert wh.post("/v1/webhooks/pandadoc", content=again,
                   params={"signature": p.pandadoc_signature(again)}).json()["status"] == "duplicate"
    assert counts(wh) == (2, 1, 1)


@pytest.fixture
def zendesk_stub() -> Iterator[ZendeskStub]:
    server = ZendeskStub().start()
    yield server
    server.stop()


def test_one_signed_zendesk_body_with_new_invocation_ids_updates_the_ticket_once(db_url: str,
                                                                               zendesk_stub: ZendeskStub) -> None:
    with zendesk_app(db_url, zendesk_stub.url) as client:
        gold_member(client)
        body = ticket_body("7001", email="office@acmedental.com")
        captured = signed(body, invocation="inv-genuine")
        answers = []
        for n in range(4):
            # The signature covers the timestamp and the body only: swapping the invocation id keeps it valid.
            replay = {**captured, "X-Zendesk-Webhook-Invocation-Id": f"inv-forged-{n}"}
            response = client.post(PATH, content=body, headers=replay)
            assert response.status_code == 200, response.text
            answers.append(response.json())
        assert [a["duplicate"] for a in answers] == [False, True, True, True]
        assert len({a["outbox_id"] for a in answers}) == 1
        wait_for(lambda: outbox(client, "delivered"), what="delivery")
        assert [r.path for r in zendesk_stub.received] == ["/api/v2/tickets/7001.json"]
        assert len(outbox(client)) == 1
