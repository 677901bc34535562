"""Zendesk trigger webhooks: verify the signature on the raw bytes, then read the recipe's body template."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from service.timebounds import in_bounds
from service.webhooks import MalformedEvent, SignatureRejected

MAX_SKEW = timedelta(minutes=5)
FIELDS = ("ticket_id", "requester_email", "requester_phone", "organization_external_id", "service", "channel")
# `{{ticket.via}}` renders the ticket's source as a label ("Mail", "Web Form", "Voice", "Chat", ...).
_VIA_CHANNELS = (("mail", "email"), ("email", "email"), ("voice", "phone"), ("phone", "phone"), ("call", "phone"),
                 ("chat", "chat"), ("messag", "chat"), ("sms", "chat"))


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + raw body)), timestamp within 5 minutes."""
    signature = headers.get("x-zendesk-webhook-signature", "").strip()
    timestamp = headers.get("x-zendesk-webhook-signature-timestamp", "").strip()
    if not signature or not timestamp:
        raise SignatureRejected("X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp are required")
    try:
        sent_at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise SignatureRejected("the signature timestamp is not ISO 8601") from None
    # At the calendar's edge (year 1 or 9999 with a far offset) the subtraction below would overflow.
    if sent_at.tzinfo is None or not in_bounds(sent_at) or abs(now - sent_at) > MAX_SKEW:
        raise SignatureRejected("the signature timestamp is more than 5 minutes away from now")
    expected = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.encode()):
        raise SignatureRejected("the Zendesk webhook signature does not match")


def dedupe_key(body: bytes) -> str:
    """One ticket update per signed body.

    X-Zendesk-Webhook-Invocation-Id is not covered by the signature: a replay of one signed body with
    a new invocation id (and a fresh timestamp within the 5 minutes) must not update the ticket again.
    The recipe's trigger fires once per ticket, so one body is one ticket's one check.
    """
    return f"zendesk:body:{hashlib.sha256(body).hexdigest()}"


@dataclass(frozen=True, slots=True)
class TicketWebhook:
    """The recipe's body template; an empty string means the placeholder had no value."""

    ticket_id: str
    requester_email: str
    requester_phone: str
    organization_external_id: str
    service: str
    via: str = ""

    @property
    def channel(self) -> str:
        """The check's channel for the ticket's source: email, phone or chat when the label says so, else web."""
        label = self.via.lower()
        return next((channel for word, channel in _VIA_CHANNELS if word in label), "web")


def parse(body: bytes) -> TicketWebhook:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedEvent("the body is not valid JSON", errors=[{"loc": ["body"], "msg": "invalid JSON"}]) from None
    if not isinstance(data, dict):
        raise MalformedEvent("the body must be a JSON object", errors=[{"loc": ["body"], "msg": "object expected"}])
    values: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for name in FIELDS:
        value = data.get(name)
        if value is None:
            value = ""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > 320:
            errors.append({"loc": ["body", name], "msg": "a string of at most 320 characters expected"})
            continue
        values[name] = value.strip()
    ticket_id = values.get("ticket_id", "")
    if "ticket_id" in values and not (ticket_id.isascii() and ticket_id.isdigit() and len(ticket_id) <= 20):
        errors.append({"loc": ["body", "ticket_id"], "msg": "the Zendesk ticket id (digits) is required"})
    if errors:
        raise MalformedEvent(f"{'.'.join(map(str, errors[0]['loc']))}: {errors[0]['msg']}", errors=errors)
    return TicketWebhook(
        ticket_id=ticket_id,
        requester_email=values["requester_email"],
        requester_phone=values["requester_phone"],
        organization_external_id=values["organization_external_id"],
        service=values["service"] or "advanced_support",
        via=values["channel"],
    )
