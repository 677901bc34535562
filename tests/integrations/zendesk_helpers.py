"""Signing Zendesk webhook deliveries the way Zendesk does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

SECRET = "zendesk-signing-secret"
PATH = "/v1/integrations/zendesk/tickets"


def ticket_body(ticket_id: str = "4711", *, email: str = "", phone: str = "", org: str = "", service: str | None = None) -> bytes:
    """The recipe's body template as Zendesk renders it (an empty placeholder gives an empty string)."""
    body = {"ticket_id": ticket_id, "requester_email": email, "requester_phone": phone, "organization_external_id": org}
    if service is not None:
        body["service"] = service
    return json.dumps(body).encode()


def signed(body: bytes, *, secret: str = SECRET, age: timedelta = timedelta(0), invocation: str | None = "inv-1") -> dict[str, str]:
    timestamp = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()
    headers = {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature": signature,
               "X-Zendesk-Webhook-Signature-Timestamp": timestamp}
    if invocation is not None:
        headers["X-Zendesk-Webhook-Invocation-Id"] = invocation
    return headers


def ticket_body_via(ticket_id: str, via: str, **kwargs: str) -> bytes:
    """ticket_body with the recipe's `channel` placeholder rendered (`{{ticket.via}}`: "Mail", "Voice", ...)."""
    body = json.loads(ticket_body(ticket_id, **kwargs))
    body["channel"] = via
    return json.dumps(body).encode()
