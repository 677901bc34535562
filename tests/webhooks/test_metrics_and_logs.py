"""Deliveries are counted by provider and answer, processed events by outcome; rejected deliveries are
logged without secrets or bodies."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.webhooks import providers as p
from tests.webhooks.conftest import StubApi, metric

MARKER = "PRIVATE-CONTRACT-TEXT-4711"


def test_every_outcome_is_counted(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    raw = p.docusign_body("envelope-completed", str(uuid.uuid4()), client_id=acme["id"])
    wh.post("/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw))
    wh.post("/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw))
    orphan = p.docusign_body("envelope-completed", str(uuid.uuid4()), client_id=None, version=None)
    wh.post("/v1/webhooks/docusign", content=orphan, headers=p.docusign_headers(orphan))
    wh.post("/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw, "wrong"))
    stub_api.answer("/v3/signature_request/sr-m", (500, {}))
    wh.post("/v1/webhooks/dropbox-sign", files=p.dropbox_files(p.dropbox_event("signature_request_all_signed", "sr-m")))
    # As answered: stored, known already, or refused (bad signature, nothing stored).
    assert [metric(wh, "docusign", o) for o in ("received", "duplicate", "rejected")] == [2, 1, 1]
    # As processed by the job: the stored events' outcomes.
    assert [metric(wh, "docusign", o, name="processed") for o in ("applied", "unmatched", "rejected")] == [1, 1, 0]
    assert metric(wh, "dropbox_sign", "received") == 1 and metric(wh, "dropbox_sign", "failed", name="processed") == 1


def test_rejected_deliveries_are_logged_without_the_secret_or_the_body(
    wh: TestClient, acme: dict[str, Any], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="supportgate")
    raw = json.dumps({"event": "envelope-completed", "data": {"envelopeId": "e-1", "note": MARKER}}).encode()
    bad_signature = p.docusign_signature(raw, "attacker-key")
    wh.post("/v1/webhooks/docusign", content=raw, headers={"X-DocuSign-Signature-1": bad_signature})
    events = [{"event": "document_state_changed", "data": {"id": "d", "status": "document.completed", "note": MARKER}}]
    pandadoc_raw = json.dumps(events).encode()
    wh.post("/v1/webhooks/pandadoc", content=pandadoc_raw, params={"signature": p.pandadoc_signature(pandadoc_raw, "x")})
    standard_raw = json.dumps({"type": "contract.signed", "data": {"note": MARKER}}).encode()
    wh.post("/v1/webhooks/standard", content=standard_raw, headers=p.standard_headers(standard_raw, secret="whsec_" + "QUJD"))
    rejected = [r for r in caplog.records if r.getMessage() == "webhook rejected"]
    assert {getattr(r, "provider", None) for r in rejected} == {"docusign", "pandadoc", "standard"}
    logged = " ".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    forbidden = [MARKER, bad_signature, *p.DOCUSIGN_KEYS, p.PANDADOC_KEY, p.STANDARD_SECRET, p.STANDARD_SECRET[6:]]
    assert not [secret for secret in forbidden if secret in logged]
    assert all(getattr(r, "body_bytes", 0) > 0 for r in rejected)
