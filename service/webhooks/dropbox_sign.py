"""Dropbox Sign callbacks: multipart field `json`; `event_hash` = hex HMAC(API key, event_time + event_type).

The hash does not cover the signature request, so `signed`/`declined` are confirmed with the API
(see service/webhooks/confirm.py) and the client is matched from the API's answer, not the body.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from service.webhooks import (
    MalformedEvent,
    NormalisedEvent,
    SignatureRejected,
    as_list,
    as_object,
    dated,
    digest_key,
    text,
)

PROVIDER = "dropbox_sign"
ANSWER = "Hello API Event Received"
STATUS_OF_EVENT = {
    "signature_request_sent": "sent",
    "signature_request_viewed": "viewed",
    "signature_request_signed": "signer_signed",
    "signature_request_all_signed": "signed",
    "signature_request_downloadable": "signed",
    "signature_request_declined": "declined",
    "signature_request_canceled": "voided",
    "signature_request_expired": "expired",
}


def _load(document: str) -> dict[str, Any]:
    try:
        body = orjson.loads(document)
    except orjson.JSONDecodeError:
        raise SignatureRejected("the `json` field is not JSON, so it carries no event_hash") from None
    if not isinstance(body, dict):
        raise SignatureRejected("the `json` field carries no event")
    return body


def _event_text(value: Any) -> str:
    # event_time arrives as a string of Unix seconds; an integer is accepted too.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""


def verify(document: str | None, api_key: bytes) -> None:
    if not document:
        raise SignatureRejected("missing the `json` form field")
    event = as_object(_load(document).get("event"))
    event_time, event_type = _event_text(event.get("event_time")), _event_text(event.get("event_type"))
    presented = event.get("event_hash")
    if not event_time or not event_type or not isinstance(presented, str):
        raise SignatureRejected("the event carries no event_hash")
    expected = hmac.new(api_key, (event_time + event_type).encode(), hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, presented.strip().lower().encode("ascii", "replace")):
        raise SignatureRejected("the Dropbox Sign event_hash does not match")


def parse(document: str) -> NormalisedEvent:
    body = _load(document)
    event = as_object(body.get("event"))
    event_type = text(_event_text(event.get("event_type")), 100) or ""
    event_time = text(_event_text(event.get("event_time")), 32) or ""
    related = text(as_object(event.get("event_metadata")).get("related_signature_id"), 100)
    request = as_object(body.get("signature_request"))
    request_id = text(request.get("signature_request_id"), 200)
    if event_type != "callback_test" and not request_id:
        raise MalformedEvent("the event names no signature_request_id")
    signer = signer_of(request, related)
    metadata = as_object(request.get("metadata"))
    occurred_at, refusal = dated(event_time, "event.event_time")
    return NormalisedEvent(
        provider=PROVIDER,
        event_key=digest_key(request_id, event_type, event_time, related),
        event_type=event_type,
        envelope_id=request_id,
        status=STATUS_OF_EVENT.get(event_type),
        occurred_at=occurred_at,
        signer_name=text(signer.get("signer_name")),
        signer_email=text(signer.get("signer_email_address"), 320),
        client_id=text(metadata.get("client_id"), 40),
        contract_version=text(metadata.get("contract_version"), 64),
        refusal=refusal,
    )


def signer_of(request: dict[str, Any], related: str | None) -> dict[str, Any]:
    signatures = [as_object(s) for s in as_list(request.get("signatures"))]
    if related:
        for signature in signatures:
            if text(signature.get("signature_id"), 100) == related:
                return signature
    done = [s for s in signatures if text(s.get("status_code")) in ("signed", "declined")]
    return done[-1] if done else (signatures[0] if signatures else {})
