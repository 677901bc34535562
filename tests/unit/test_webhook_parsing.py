"""Provider parsing and the status order, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from service.domain.signature import advances
from service.usecases.webhooks import RetryPolicy
from service.webhooks import MalformedEvent, SignatureRejected, docusign, dropbox_sign, pandadoc
from tests.webhooks import providers as p


@pytest.mark.parametrize(("current", "new", "expected"), [
    (None, "viewed", True), ("sent", "viewed", True), ("viewed", "sent", False), ("viewed", "signed", True),
    ("signer_signed", "declined", True), ("signed", "viewed", False), ("signed", "declined", False),
    ("declined", "signed", False), ("viewed", "viewed", False),
])
def test_statuses_only_move_forward(current: str | None, new: str, expected: bool) -> None:
    assert advances(current, new) is expected


def test_only_a_confirmed_signature_replaces_an_unverifiable_void() -> None:
    assert advances("voided", "signed") is False
    assert advances("voided", "signed", confirmed=True) is True
    assert advances("expired", "declined", confirmed=True) is True
    assert advances("signed", "declined", confirmed=True) is False


def test_backoff_doubles_up_to_the_cap_and_stops_after_the_last_attempt() -> None:
    policy = RetryPolicy(base_seconds=10, max_seconds=60, max_attempts=5)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    delays = [policy.next_attempt(n, now) for n in range(1, 6)]
    assert [(d - now).total_seconds() for d in delays[:4] if d] == [10, 20, 40, 60]
    assert delays[4] is None and now + timedelta(seconds=60) == delays[3]


def test_docusign_mapping_and_event_key_ignore_retry_count() -> None:
    first = docusign.parse(p.docusign_body("envelope-completed", "e1", client_id="cl_1", generated="2026-11-24T10:00:00.0Z"))
    retry = docusign.parse(p.docusign_body("envelope-completed", "e1", client_id="cl_1", generated="2026-11-24T10:00:00.0Z",
                                           retry_count=4))
    assert first.event_key == retry.event_key and first.status == "signed" and first.client_id == "cl_1"
    assert first.occurred_at == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert docusign.parse(p.docusign_body("recipient-completed", "e1")).status == "signer_signed"
    voided = json.loads(p.docusign_body("envelope-voided", "e1"))
    voided["data"]["envelopeSummary"]["voidedReason"] = "Envelope has expired."
    assert docusign.parse(json.dumps(voided).encode()).status == "expired"


def test_docusign_verification_needs_a_matching_header() -> None:
    raw = p.docusign_body("envelope-completed", "e1")
    docusign.verify(raw, {"x-docusign-signature-3": p.docusign_signature(raw, "k2")}, [b"k1", b"k2"])
    with pytest.raises(SignatureRejected):
        docusign.verify(raw + b" ", {"x-docusign-signature-1": p.docusign_signature(raw, "k1")}, [b"k1"])


def test_pandadoc_statuses() -> None:
    statuses = {
        s: pandadoc.parse(json.dumps([p.pandadoc_event("document_state_changed", "d", s)]).encode(), {})[0].status
        for s in ("document.sent", "document.viewed", "document.completed", "document.declined", "document.voided",
                  "document.cancelled", "document.draft")
    }
    assert statuses == {"document.sent": "sent", "document.viewed": "viewed", "document.completed": "signed",
                        "document.declined": "declined", "document.voided": "expired", "document.cancelled": "voided",
                        "document.draft": None}
    with pytest.raises(MalformedEvent):
        pandadoc.parse(b"[]", {})


def test_dropbox_hash_covers_time_and_type_only() -> None:
    document = p.dropbox_event("signature_request_all_signed", "sr-1", event_time="1764000000")
    dropbox_sign.verify(document, p.DROPBOX_KEY.encode())
    changed_type = document.replace("signature_request_all_signed", "signature_request_declined")
    with pytest.raises(SignatureRejected):
        dropbox_sign.verify(changed_type, p.DROPBOX_KEY.encode())
    event = dropbox_sign.parse(document)
    assert event.status == "signed" and event.envelope_id == "sr-1" and event.signer_email == "ada@acme.example"
