"""PandaDoc: lowercase hex HMAC-SHA256 of the raw body in `?signature=`; the body is an array of events."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import orjson

from service.webhooks import (
    MalformedEvent,
    NormalisedEvent,
    SignatureRejected,
    as_list,
    as_object,
    content_key,
    dated,
    text,
)

PROVIDER = "pandadoc"
STATUS_OF_DOCUMENT = {
    "document.sent": "sent",
    "document.viewed": "viewed",
    "document.completed": "signed",
    "document.declined": "declined",
    # PandaDoc's "voided" is what it shows as expired; "cancelled" is the sender's withdrawal.
    "document.voided": "expired",
    "document.cancelled": "voided",
}
MAX_EVENTS = 100


def verify(raw: bytes, signature: str | None, key: bytes) -> None:
    if not signature:
        raise SignatureRejected("missing ?signature= parameter")
    expected = hmac.new(key, raw, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, signature.strip().lower().encode("ascii", "replace")):
        raise SignatureRejected("the PandaDoc signature does not match")


def parse(raw: bytes, headers: Mapping[str, str] | None = None) -> list[NormalisedEvent]:
    """The body's events; `headers` are not read (nothing outside the signed body is trusted)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedEvent("the PandaDoc body is not JSON") from None
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if not items or len(items) > MAX_EVENTS:
        raise MalformedEvent(f"the PandaDoc body must be an array of 1 to {MAX_EVENTS} events")
    events = []
    for item in items:
        entry = as_object(item)
        event = text(entry.get("event"), 100)
        data = as_object(entry.get("data"))
        document_id = text(data.get("id"), 200)
        if not event or not document_id:
            raise MalformedEvent("each PandaDoc event needs `event` and `data.id`")
        document_status = text(data.get("status"), 64)
        status: str | None
        if event == "recipient_completed":
            status = "signer_signed"
        elif event == "document_state_changed":
            status = STATUS_OF_DOCUMENT.get(document_status or "")
        else:
            status = None
        done = [as_object(r) for r in as_list(data.get("recipients")) if as_object(r).get("has_completed") is True]
        signer = done[-1] if done else {}
        name = " ".join(p for p in (text(signer.get("first_name")), text(signer.get("last_name"))) if p) or None
        # X-PandaDoc-Webhook-Event-Id is not covered by the signature: the key is the signed event itself.
        key = content_key(item)
        occurred_at, refusal = dated(data.get("date_modified"), "data.date_modified")
        metadata = as_object(data.get("metadata"))
        events.append(
            NormalisedEvent(
                provider=PROVIDER,
                event_key=key,
                event_type=event,
                envelope_id=document_id,
                status=status,
                occurred_at=occurred_at,
                signer_name=name,
                signer_email=text(signer.get("email"), 320),
                client_id=text(metadata.get("client_id"), 40),
                contract_version=text(metadata.get("contract_version"), 64),
                refusal=refusal,
            )
        )
    return events
