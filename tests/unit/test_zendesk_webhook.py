"""Reading and verifying Zendesk trigger webhooks (pure: no database, the time is an argument)."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from service.webhooks import MalformedEvent, SignatureRejected
from service.webhooks.zendesk import dedupe_key, parse, verify

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
BODY = b'{"ticket_id": "35436", "requester_email": "a@b.example"}'
SECRET = "s3cret"


def headers(timestamp: str, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {"x-zendesk-webhook-signature": base64.b64encode(digest).decode(), "x-zendesk-webhook-signature-timestamp": timestamp}


def test_a_signature_over_timestamp_and_body_within_five_minutes_holds() -> None:
    verify(SECRET, headers("2026-11-25T10:00:00Z"), BODY, NOW)
    verify(SECRET, headers("2026-11-25T09:55:30Z"), BODY, NOW)
    verify(SECRET, headers("2026-11-25T10:04:59+00:00"), BODY, NOW)


@pytest.mark.parametrize("case", ["stale", "future", "other secret", "other body", "no timestamp", "naive", "garbage"])
def test_anything_else_is_rejected(case: str) -> None:
    sent = {
        "stale": headers("2026-11-25T09:54:59Z"), "future": headers("2026-11-25T10:05:01Z"),
        "other secret": headers("2026-11-25T10:00:00Z", secret="nope"), "other body": headers("2026-11-25T10:00:00Z", body=b"{}"),
        "no timestamp": {"x-zendesk-webhook-signature": "abc"}, "naive": headers("2026-11-25T10:00:00"),
        "garbage": headers("yesterday"),
    }[case]
    with pytest.raises(SignatureRejected):
        verify(SECRET, sent, BODY, NOW)


def test_the_body_template_reads_empty_placeholders_as_absent_and_defaults_the_service() -> None:
    ticket = parse(b'{"ticket_id": 35436, "requester_email": " A@B.example ", "requester_phone": "", '
                   b'"organization_external_id": null}')
    assert (ticket.ticket_id, ticket.requester_email, ticket.requester_phone, ticket.organization_external_id, ticket.service) == (
        "35436", "A@B.example", "", "", "advanced_support")
    for bad in (b"[]", b"not json", b'{"ticket_id": ""}', b'{"ticket_id": "12a"}', b'{"ticket_id": "1", "service": {}}',
                b'{"ticket_id": "1", "requester_email": "' + b"x" * 400 + b'"}', b'{"ticket_id": true}'):
        with pytest.raises(MalformedEvent):
            parse(bad)


def test_repeats_are_recognised_by_the_signed_body_alone() -> None:
    assert dedupe_key(BODY) == dedupe_key(BODY) != dedupe_key(BODY + b" ")
