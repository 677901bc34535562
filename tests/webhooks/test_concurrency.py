"""Thirty simultaneous deliveries make exactly one acceptance, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ok, simultaneously
from tests.webhooks import providers as p
from tests.webhooks.conftest import StubApi, contract_status, counts, outcome

N = 30



def test_thirty_copies_of_one_event_make_one_acceptance(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.docusign_body("envelope-completed", str(uuid.uuid4()), client_id=acme["id"])
    headers = p.docusign_headers(raw)
    responses = simultaneously([lambda: wh.post("/v1/webhooks/docusign", content=raw, headers=headers)] * N)
    assert [r.status_code for r in responses] == [200] * N
    assert Counter(r.json()["status"] for r in responses) == {"received": 1, "duplicate": N - 1}
    [stored] = [r for r in responses if r.json()["status"] == "received"]
    assert outcome(wh, stored) == "applied"
    assert counts(wh) == (1, 1, 1)
    assert contract_status(wh, acme["id"]) == "signed"


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "by-metadata"])
def test_thirty_different_completions_of_one_envelope_make_one_acceptance(wh: TestClient, acme: dict[str, Any], registered: bool) -> None:
    """Distinct event keys (say, a resent envelope): the envelope's status row serialises them."""
    env = str(uuid.uuid4())
    start = datetime.now(UTC) - timedelta(minutes=2)
    if registered:
        ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
                   json={"provider": "docusign", "external_id": env, "contract_version": "2026.1"}), 201)
    bodies = [p.docusign_body("envelope-completed", env, client_id=acme["id"], generated=p.stamp(start + timedelta(seconds=i)))
              for i in range(N)]
    responses = simultaneously([
        (lambda body=body: wh.post("/v1/webhooks/docusign", content=body, headers=p.docusign_headers(body)))
        for body in bodies
    ])
    assert [r.status_code for r in responses] == [200] * N
    assert counts(wh) == (N, 1, 1)
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "signed"


def test_thirty_copies_of_a_confirmed_provider_event_ask_and_apply_once(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    metadata = {"client_id": acme["id"], "contract_version": "2026.1"}
    stub_api.answer("/v3/signature_request/sr-c", (200, {"signature_request": p.dropbox_request("sr-c", metadata)}))
    document = p.dropbox_event("signature_request_all_signed", "sr-c", client_id=acme["id"])
    responses = simultaneously([lambda: wh.post("/v1/webhooks/dropbox-sign", files=p.dropbox_files(document))] * N)
    assert [r.text for r in responses] == ["Hello API Event Received"] * N
    assert counts(wh) == (1, 1, 1) and len(stub_api.requests) == 1
