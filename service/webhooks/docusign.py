"""DocuSign Connect (JSON SIM): base64 HMAC-SHA256 of the raw body in X-DocuSign-Signature-N headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from service.webhooks import (
    MalformedEvent,
    NormalisedEvent,
    SignatureRejected,
    as_list,
    as_object,
    digest_key,
    first_dated,
    text,
)

PROVIDER = "docusign"
STATUS_OF_EVENT = {
    "envelope-sent": "sent",
    "envelope-resent": "sent",
    "envelope-delivered": "viewed",
    "recipient-delivered": "viewed",
    "recipient-completed": "signer_signed",
    "envelope-completed": "signed",
    "envelope-declined": "declined",
    "recipient-declined": "declined",
    "envelope-voided": "voided",
}
MAX_SIGNATURE_HEADERS = 20


def keys_from_setting(value: str) -> list[bytes]:
    return [k.strip().encode() for k in value.split(",") if k.strip()]


def signature_headers(headers: Mapping[str, str]) -> list[str]:
    found = []
    for n in range(1, MAX_SIGNATURE_HEADERS + 1):
        value = headers.get(f"x-docusign-signature-{n}")
        if value:
            found.append(value.strip())
    return found


def verify(raw: bytes, headers: Mapping[str, str], keys: Sequence[bytes]) -> None:
    """Valid when any signature header matches the HMAC under any configured key (keys rotate)."""
    presented = [s.encode("ascii", "replace") for s in signature_headers(headers)]
    if not presented:
        raise SignatureRejected("missing X-DocuSign-Signature-1 header")
    matched = False
    for key in keys:
        expected = base64.b64encode(hmac.new(key, raw, hashlib.sha256).digest())
        for signature in presented:
            # No early exit: the time taken does not tell which key or header matched.
            matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise SignatureRejected("the DocuSign signature does not match")


def parse(raw: bytes) -> NormalisedEvent:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedEvent("the DocuSign message is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedEvent("the DocuSign message is not a JSON object")
    data = as_object(body.get("data"))
    event = text(body.get("event"), 100)
    envelope_id = text(data.get("envelopeId"), 200)
    if not event or not envelope_id:
        raise MalformedEvent("a DocuSign message needs `event` and `data.envelopeId`")
    generated = text(body.get("generatedDateTime"), 64)
    summary = as_object(data.get("envelopeSummary"))
    signers = [as_object(s) for s in as_list(as_object(summary.get("recipients")).get("signers"))]
    recipient_id = text(data.get("recipientId"), 100)
    signer: dict[str, Any] = {}
    if recipient_id:
        signer = next((s for s in signers if text(s.get("recipientId"), 100) == recipient_id), {})
    if not signer:
        done = [s for s in signers if text(s.get("status")) in ("completed", "signed", "declined")]
        signer = done[-1] if done else (signers[0] if signers else {})
    fields = {
        text(f.get("name"), 100): f.get("value")
        for f in (as_object(x) for x in as_list(as_object(summary.get("customFields")).get("textCustomFields")))
    }
    status = STATUS_OF_EVENT.get(event)
    if status == "voided" and "expired" in (text(summary.get("voidedReason")) or "").lower():
        # DocuSign reports an expired envelope as voided with the reason "Envelope has expired."
        status = "expired"
    occurred_at, refusal = first_dated((generated, "generatedDateTime"), (signer.get("signedDateTime"), "signedDateTime"))
    return NormalisedEvent(
        provider=PROVIDER,
        # No per-event id: retries keep generatedDateTime, and retryCount must not count.
        event_key=digest_key(envelope_id, event, recipient_id, generated),
        event_type=event,
        envelope_id=envelope_id,
        status=status,
        occurred_at=occurred_at,
        signer_name=text(signer.get("name")),
        signer_email=text(signer.get("email"), 320),
        client_id=text(fields.get("client_id"), 40),
        contract_version=text(fields.get("contract_version"), 64),
        refusal=refusal,
    )
