"""Response models of the webhook routes (the acknowledgements, the inbox) and an inbox row's mapping."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from service.api.schemas.common import Page
from service.storage import tables as t


class WebhookEventOut(BaseModel):
    """One stored webhook event (the inbox); the raw body is kept but not shown here."""

    id: str
    provider: str
    event_key: str
    event_type: str | None
    envelope_id: str | None
    status: Literal["received", "processed", "unmatched", "failed", "unconfirmed", "refused"]
    detail: str | None
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    next_attempt_at: datetime | None


class WebhookEventPage(Page):
    items: list[WebhookEventOut]


class WebhookAck(BaseModel):
    """What a webhook endpoint answers once the delivery is verified and stored (or known already).

    The answer comes as soon as the events are stored; a background job applies them (see the inbox,
    `GET /v1/webhooks/events`, for each event's outcome)."""

    status: str = Field(description="received (stored; applied by a background job) | duplicate (known already)")
    events: list[str] = Field(description="inbox ids of the events this delivery stored")


class StripeAck(BaseModel):
    """What the Stripe endpoint answers once an event is verified and stored (or known already)."""

    received: bool = True


def event_out(row: t.WebhookEvent) -> dict[str, Any]:
    return {
        "id": row.id, "provider": row.provider, "event_key": row.event_key, "event_type": row.event_type,
        "envelope_id": row.envelope_id, "status": row.status, "detail": row.detail, "attempts": row.attempts,
        "received_at": row.received_at, "processed_at": row.processed_at, "next_attempt_at": row.next_attempt_at,
    }
