"""Helpdesk write-back: the Zendesk trigger's webhook and the outbox of ticket updates."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.api.deps import AppState, NowDep, Reader, ReadSessionDep, SessionDep, StateDep
from service.api.paging import Cursor, Keyset, Limit
from service.api.schemas.common import Problem
from service.errors import NotFound, ServiceError
from service.storage import outbox
from service.storage import tables as t
from service.usecases import zendesk
from service.usecases.job_runner import JobRunner
from service.webhooks import zendesk as zendesk_webhook

router = APIRouter(tags=["integrations"])
log = logging.getLogger("supportgate.integrations")

OUTBOX_EXAMPLE: dict[str, Any] = {
    "id": "obx_agrbd7tbg4frynlpzqgq4vy", "target": "zendesk", "method": "PUT",
    "url": "https://acme.zendesk.com/api/v2/tickets/4711.json", "status": "pending", "attempts": 2,
    "last_error": "HTTP 503: upstream unavailable", "created_at": "2026-11-25T10:00:00+00:00",
    "next_attempt_at": "2026-11-25T10:00:03+00:00", "delivered_at": None,
    "payload": {"ticket": {"additional_tags": ["supportgate_checked", "supportgate_allowed", "supportgate_tier_gold"],
                           "priority": "high", "comment": {"body": "supportgate: advanced_support ALLOWED ...", "public": False}}},
}


class ZendeskTicketAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ticket_id": "4711", "outbox_id": "obx_agrbd7tbg4frynlpzqgq4vy", "duplicate": False, "status": "pending",
        "allowed": True, "decision_id": "dec_agrbd7t2ovlh5qe5kwoi6eq"}]})
    ticket_id: str
    outbox_id: str
    duplicate: bool
    status: str
    allowed: bool | None = None
    decision_id: str | None = None


class OutboxMessageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [OUTBOX_EXAMPLE]})
    id: str
    target: str
    method: str
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any]


class OutboxPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [OUTBOX_EXAMPLE], "counts": {"pending": 1, "delivered": 40, "failed": 0}, "next_cursor": None}]})
    items: list[OutboxMessageOut]
    counts: dict[str, int]
    next_cursor: str | None = None


def zendesk_secret(state: StateDep) -> str:
    secret = state.settings.zendesk_webhook_secret
    if secret is None or not secret.get_secret_value() or not state.settings.zendesk_api_url:
        raise NotFound("the Zendesk integration is not configured (SUPPORTGATE_ZENDESK_WEBHOOK_SECRET, _API_URL)")
    return secret.get_secret_value()


async def verified_body(
    request: Request, state: StateDep, secret: Annotated[str, Depends(zendesk_secret)], now: NowDep
) -> bytes:
    """The raw body, only once its signature checks out; resolved before any database session opens."""
    body = await request.body()
    try:
        zendesk_webhook.verify(secret, request.headers, body, now)
    except ServiceError as exc:
        # The reason and size only: never the body, the signature or the secret.
        state.metrics.webhooks.labels("zendesk", "rejected").inc()
        log.warning("webhook rejected", extra={"provider": "zendesk", "reason": exc.detail[:200], "body_bytes": len(body)})
        raise
    return body


def _accept(state: AppState, session: Session, key: str, body: bytes, now: datetime) -> dict[str, Any]:
    ticket = zendesk_webhook.parse(body)
    existing = outbox.by_dedupe_key(session, key)
    if existing is not None:
        return {"ticket_id": ticket.ticket_id, "outbox_id": existing.id, "duplicate": True, "status": existing.status}
    settings = state.settings
    decided = zendesk.decide_ticket(
        state.cache, ticket, external_system=settings.zendesk_external_system, region=settings.default_region, now=now,
        degraded_policy=settings.degraded_policy,
    )
    assert settings.zendesk_api_url is not None
    message_id, created = zendesk.queue_update(
        session, api_url=settings.zendesk_api_url, key=key, ticket=ticket, decided=decided, now=now
    )
    return {"ticket_id": ticket.ticket_id, "outbox_id": message_id, "duplicate": not created, "status": outbox.PENDING,
            "allowed": decided.result.decision.allowed, "decision_id": decided.result.decision_id}


@router.post(
    "/v1/integrations/zendesk/tickets",
    response_model=ZendeskTicketAccepted,
    summary="A Zendesk trigger's webhook: decide for the requester, write the decision back onto the ticket",
    description=(
        "Signed with `X-Zendesk-Webhook-Signature` (base64 HMAC-SHA256 of the timestamp header + raw body, "
        "secret `SUPPORTGATE_ZENDESK_WEBHOOK_SECRET`). The ticket update is queued in the outbox and sent to "
        "`PUT {SUPPORTGATE_ZENDESK_API_URL}/api/v2/tickets/{id}.json`; a repeated delivery (same "
        "`X-Zendesk-Webhook-Invocation-Id`, or same body) queues nothing new."
    ),
    responses={
        401: {"model": Problem, "description": "Missing, forged or stale signature; nothing changes"},
        404: {"model": Problem, "description": "The Zendesk integration is not configured"},
        413: {"model": Problem, "description": "Body too large"},
        422: {"model": Problem, "description": "Not the recipe's body, or an unknown service"},
        503: {"model": Problem, "description": "Database unavailable; Zendesk retries"},
    },
)
async def zendesk_ticket(
    request: Request, body: Annotated[bytes, Depends(verified_body)], state: StateDep, session: SessionDep, now: NowDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    answer = await run_in_threadpool(_accept, state, session, zendesk_webhook.dedupe_key(body), body, now)
    state.metrics.webhooks.labels("zendesk", "duplicate" if answer["duplicate"] else "queued").inc()
    runner = state.extras.get("jobs")
    if isinstance(runner, JobRunner) and not answer["duplicate"]:
        background.add_task(runner.wake)  # after the commit: deliver now rather than at the next poll
    return answer


def outbox_out(row: t.OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id, "target": row.target, "method": row.method, "url": row.url, "status": row.status,
        "attempts": row.attempts, "last_error": row.last_error, "created_at": row.created_at,
        "next_attempt_at": row.next_attempt_at, "delivered_at": row.delivered_at, "payload": row.payload,
    }


@router.get(
    "/v1/integrations/outbox",
    response_model=OutboxPage,
    summary="Outbound updates (Zendesk tickets), newest first: pending, delivered and failed, with attempts and last error",
    responses={
        401: {"model": Problem, "description": "Missing or unknown API key"},
        403: {"model": Problem, "description": "The key lacks the scope `clients:read`"},
        422: {"model": Problem, "description": "Invalid filter, limit or cursor"},
    },
)
def outbox_listing(
    session: ReadSessionDep, caller: Reader,
    status: Literal["pending", "delivered", "failed"] | None = Query(None),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> dict[str, Any]:
    keyset = Keyset("outbox", datetime, str)
    rows = outbox.listing(session, status=status, limit=limit + 1, before=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.created_at, r.id))
    return {"items": [outbox_out(row) for row in page], "counts": outbox.counts(session), "next_cursor": next_cursor}
