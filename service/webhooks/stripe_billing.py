"""Stripe webhooks: `Stripe-Signature` (t=…,v1=…) checked by the stripe package, then the event envelope read."""

from __future__ import annotations

import time
from typing import Any

import orjson
import stripe

from service.webhooks import MalformedEvent, NormalisedEvent, SignatureRejected, as_object, text, timestamp

PROVIDER = "stripe"
# Stripe's own default: a delivery signed more than five minutes ago is a replay.
TOLERANCE_SECONDS = 300


def verify(raw: bytes, header: str | None, secret: str, *, now: float | None = None) -> None:
    """Valid when any v1 signature matches HMAC-SHA256(secret, "{t}.{body}") and |now - t| <= 300 s."""
    try:
        payload = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureRejected("the body is not UTF-8, so it cannot carry a Stripe signature") from None
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        # The library's message says which check failed, never the expected signature.
        raise SignatureRejected(f"the Stripe signature does not hold: {str(exc)[:200]}") from None
    # The library refuses only old timestamps; one far ahead is as much a sign of replay or a bad clock.
    signed_at = next((int(part[2:]) for part in (header or "").split(",") if part.startswith("t=") and part[2:].isdigit()), 0)
    if signed_at > (time.time() if now is None else now) + TOLERANCE_SECONDS:
        raise SignatureRejected("the Stripe signature's timestamp is more than 300 s ahead")


def envelope(raw: bytes) -> dict[str, Any]:
    """The event object; MalformedEvent when the body is not an event envelope."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedEvent("the Stripe event is not JSON") from None
    if not isinstance(body, dict) or not text(body.get("id")) or not text(body.get("type"), 100):
        raise MalformedEvent("a Stripe event is a JSON object with `id` and `type`")
    if body.get("object", "event") != "event":
        raise MalformedEvent("a Stripe event has object=event")
    return body


def parse(raw: bytes) -> NormalisedEvent:
    body = envelope(raw)
    obj = as_object(as_object(body.get("data")).get("object"))
    event_id = text(body.get("id"), 255)
    assert event_id is not None
    return NormalisedEvent(
        provider=PROVIDER,
        event_key=event_id,
        event_type=text(body.get("type"), 100) or "",
        # The inbox's envelope column holds the subscription, so its events can be found together.
        envelope_id=text(obj.get("id"), 200) if obj.get("object") == "subscription" else None,
        status=None,
        occurred_at=timestamp(body.get("created")) if isinstance(body.get("created"), int) else None,
    )
