"""Adobe Acrobat Sign: nothing is signed; the registered client id must come back in X-ADOBESIGN-CLIENTID.

Sign requires the id echoed on every answer; `signed`/`declined` are confirmed with the Sign API.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

import orjson

from service.webhooks import MalformedEvent, NormalisedEvent, SignatureRejected, as_object, dated, text

PROVIDER = "adobe_sign"
STATUS_OF_EVENT = {
    "AGREEMENT_CREATED": "sent",
    "AGREEMENT_ACTION_REQUESTED": "sent",
    "AGREEMENT_EMAIL_VIEWED": "viewed",
    "AGREEMENT_ACTION_COMPLETED": "signer_signed",
    "AGREEMENT_WORKFLOW_COMPLETED": "signed",
    "AGREEMENT_REJECTED": "declined",
    "AGREEMENT_RECALLED": "voided",
    "AGREEMENT_EXPIRED": "expired",
}


def client_ids_from_setting(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def verify(presented: str | None, allowed: Sequence[str]) -> str:
    """The presented client id when it is one of ours (compared in constant time)."""
    if not presented:
        raise SignatureRejected("missing X-ADOBESIGN-CLIENTID header")
    candidate = presented.strip().encode("utf-8", "replace")
    matched = False
    for client_id in allowed:
        matched |= hmac.compare_digest(candidate, client_id.encode())
    if not matched:
        raise SignatureRejected("unknown Adobe Sign client id")
    return presented.strip()


def parse(raw: bytes) -> NormalisedEvent:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedEvent("the Adobe Sign notification is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedEvent("the Adobe Sign notification is not a JSON object")
    notification_id = text(body.get("webhookNotificationId"), 200)
    event = text(body.get("event"), 100)
    agreement = as_object(body.get("agreement"))
    agreement_id = text(agreement.get("id"), 200)
    if not notification_id or not event or not agreement_id:
        raise MalformedEvent("a notification needs webhookNotificationId, event and agreement.id")
    occurred_at, refusal = dated(body.get("eventDate"), "eventDate")
    return NormalisedEvent(
        provider=PROVIDER,
        event_key=notification_id,
        event_type=event,
        envelope_id=agreement_id,
        status=STATUS_OF_EVENT.get(event),
        occurred_at=occurred_at,
        signer_name=text(body.get("participantUserName") or body.get("actingUserName")),
        signer_email=text(body.get("participantUserEmail") or body.get("actingUserEmail"), 320),
        refusal=refusal,
    )
