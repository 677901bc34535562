"""E-signature webhook endpoints (no API key: each verifies its provider's signature) and the inbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.api.deps import AppState, Reader, ReadSessionDep, StateDep, Writer
from service.api.paging import Cursor, Keyset, Limit
from service.api.schemas.common import Problem
from service.api.schemas.webhooks import StripeAck, WebhookAck, WebhookEventOut, WebhookEventPage, event_out
from service.errors import NotFound, ServiceError, Unavailable
from service.storage.webhook_inbox import InboxRepository
from service.usecases.job_runner import JobRunner
from service.usecases.webhook_worker import WebhookIntake
from service.usecases.webhooks import Outcome
from service.webhooks import (
    NormalisedEvent,
    SignatureRejected,
    adobe_sign,
    docusign,
    dropbox_sign,
    pandadoc,
    standard,
    stripe_billing,
)

router = APIRouter(tags=["webhooks"])
log = logging.getLogger("supportgate.webhooks")

DELIVERY_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong signature; nothing stored"},
    404: {"model": Problem, "description": "This provider's secret is not configured"},
    413: {"model": Problem, "description": "Body too large"},
    422: {"model": Problem, "description": "Genuine but unreadable event; nothing stored"},
    503: {"model": Problem, "description": "Database unavailable; the provider should retry"},
}
# Headers worth keeping with a stored event (never the signatures or anything secret).
KEPT_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-pandadoc-webhook-event-id",
                "x-docusign-tls-pinned", "x-forwarded-for")


def _intake(state: AppState) -> WebhookIntake:
    intake = state.extras.get("webhooks")
    if not isinstance(intake, WebhookIntake):
        raise Unavailable("the webhook machinery is not running")
    return intake


def _kept_headers(request: Request) -> dict[str, Any]:
    return {name: request.headers[name][:1000] for name in KEPT_HEADERS if name in request.headers}


def _configured(value: object | None, provider: str) -> None:
    secret = getattr(value, "get_secret_value", lambda: value)()
    if not secret or not str(secret).strip():
        raise NotFound(f"the {provider} webhook is not configured")


def _rejected(state: AppState, provider: str, request: Request, exc: ServiceError, size: int) -> None:
    """Count and log a refused delivery: the reason and size only, never the body or a secret."""
    state.metrics.webhooks.labels(provider, "rejected").inc()
    log.warning(
        "webhook rejected",
        extra={"provider": provider, "reason": exc.detail[:200], "status": exc.http_status, "body_bytes": size,
               "request_id": request.scope.get("state", {}).get("request_id", "")},
    )


async def _deliver(
    request: Request, state: AppState, provider: str, size: int, body: str,
    verify_and_parse: Callable[[], Sequence[NormalisedEvent]],
) -> list[Outcome]:
    try:
        events = verify_and_parse()
    except ServiceError as exc:
        _rejected(state, provider, request, exc, size)
        raise
    if not state.cache.db_available:
        raise Unavailable("the database cannot be reached; retry later")
    intake = _intake(state)
    headers = _kept_headers(request)
    outcomes = []
    for event in events:
        # Stored (and committed) before the answer; applied by the webhooks.process job.
        outcome = await intake.receive(event, body=body, headers=headers)
        state.metrics.webhooks.labels(provider, outcome.outcome).inc()
        outcomes.append(outcome)
    runner = state.extras.get("jobs")
    if isinstance(runner, JobRunner) and any(o.event_id for o in outcomes):
        runner.wake()  # the processing job was requested in the commit above: start it now, not at the next poll
    return outcomes


def _ack(outcomes: list[Outcome]) -> dict[str, Any]:
    """`received` when this delivery stored at least one new event, `duplicate` when all were known."""
    new = [o.event_id for o in outcomes if o.event_id]
    return {"status": "received" if new else "duplicate", "events": new}


def _json(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


@router.post("/v1/webhooks/docusign", response_model=WebhookAck, responses=DELIVERY_ERRORS,
             summary="DocuSign Connect (JSON SIM) with HMAC: X-DocuSign-Signature-1…N")
async def docusign_webhook(request: Request, state: StateDep) -> Response:
    _configured(state.settings.docusign_hmac_keys, "DocuSign")
    assert state.settings.docusign_hmac_keys is not None
    keys = docusign.keys_from_setting(state.settings.docusign_hmac_keys.get_secret_value())
    raw = await request.body()

    def verify_and_parse() -> list[NormalisedEvent]:
        docusign.verify(raw, request.headers, keys)
        return [docusign.parse(raw)]

    outcomes = await _deliver(request, state, "docusign", len(raw), raw.decode("utf-8", "replace"), verify_and_parse)
    return _json(_ack(outcomes))


@router.post("/v1/webhooks/standard", response_model=WebhookAck, responses=DELIVERY_ERRORS,
             summary="Any Standard Webhooks sender (webhook-id / webhook-timestamp / webhook-signature)")
async def standard_webhook(request: Request, state: StateDep) -> Response:
    _configured(state.settings.standard_webhook_secret, "Standard Webhooks")
    assert state.settings.standard_webhook_secret is not None
    secret = state.settings.standard_webhook_secret.get_secret_value()
    raw = await request.body()

    def verify_and_parse() -> list[NormalisedEvent]:
        standard.verify(raw, request.headers, secret)
        return [standard.parse(raw, request.headers)]

    outcomes = await _deliver(request, state, "standard", len(raw), raw.decode("utf-8", "replace"), verify_and_parse)
    return _json(_ack(outcomes))


@router.post("/v1/webhooks/pandadoc", response_model=WebhookAck, responses=DELIVERY_ERRORS,
             summary="PandaDoc webhooks: ?signature= hex HMAC of the body, an array of events")
async def pandadoc_webhook(request: Request, state: StateDep, signature: str | None = Query(None, max_length=200)) -> Response:
    _configured(state.settings.pandadoc_webhook_key, "PandaDoc")
    assert state.settings.pandadoc_webhook_key is not None
    key = state.settings.pandadoc_webhook_key.get_secret_value().encode()
    raw = await request.body()

    def verify_and_parse() -> list[NormalisedEvent]:
        pandadoc.verify(raw, signature, key)
        return pandadoc.parse(raw, request.headers)

    outcomes = await _deliver(request, state, "pandadoc", len(raw), raw.decode("utf-8", "replace"), verify_and_parse)
    return _json(_ack(outcomes))


async def _form_field(request: Request, name: str) -> str | None:
    try:
        form = await request.form(max_files=1, max_fields=20)
    except Exception:
        # Unreadable form bodies (hostile multipart included) carry no verifiable event.
        return None
    try:
        value = form.get(name)
        if isinstance(value, UploadFile):
            return None
        return value
    finally:
        await form.close()


@router.post("/v1/webhooks/dropbox-sign", response_class=PlainTextResponse, responses=DELIVERY_ERRORS,
             summary="Dropbox Sign callbacks: multipart field `json`, event_hash; answers `Hello API Event Received`")
async def dropbox_sign_webhook(request: Request, state: StateDep) -> Response:
    _configured(state.settings.dropbox_sign_api_key, "Dropbox Sign")
    assert state.settings.dropbox_sign_api_key is not None
    key = state.settings.dropbox_sign_api_key.get_secret_value().encode()
    size = len(await request.body())
    document = await _form_field(request, "json")

    def verify_and_parse() -> list[NormalisedEvent]:
        dropbox_sign.verify(document, key)
        assert document is not None
        return [dropbox_sign.parse(document)]

    await _deliver(request, state, "dropbox_sign", size, document or "", verify_and_parse)
    return PlainTextResponse(dropbox_sign.ANSWER)


def _adobe_client_id(request: Request, state: AppState) -> str:
    _configured(state.settings.adobe_sign_client_ids, "Adobe Sign")
    assert state.settings.adobe_sign_client_ids is not None
    allowed = adobe_sign.client_ids_from_setting(state.settings.adobe_sign_client_ids)
    try:
        return adobe_sign.verify(request.headers.get("x-adobesign-clientid"), allowed)
    except SignatureRejected as exc:
        _rejected(state, "adobe_sign", request, exc, 0)
        raise


@router.get("/v1/webhooks/adobe-sign", responses=DELIVERY_ERRORS,
            summary="Adobe Acrobat Sign's registration check: echoes X-ADOBESIGN-CLIENTID")
async def adobe_sign_verify(request: Request, state: StateDep) -> Response:
    client_id = _adobe_client_id(request, state)
    return _json({"xAdobeSignClientId": client_id}, {"X-AdobeSign-ClientId": client_id})


@router.post("/v1/webhooks/adobe-sign", response_model=WebhookAck, responses=DELIVERY_ERRORS,
             summary="Adobe Acrobat Sign notifications: client id echoed, state confirmed with the Sign API")
async def adobe_sign_webhook(request: Request, state: StateDep) -> Response:
    client_id = _adobe_client_id(request, state)
    raw = await request.body()
    outcomes = await _deliver(request, state, "adobe_sign", len(raw), raw.decode("utf-8", "replace"),
                              lambda: [adobe_sign.parse(raw)])
    return _json({**_ack(outcomes), "xAdobeSignClientId": client_id}, {"X-AdobeSign-ClientId": client_id})


@router.post("/v1/webhooks/stripe", response_model=StripeAck, responses=DELIVERY_ERRORS,
             summary="Stripe subscription events: Stripe-Signature t=…,v1=… (any v1 may match, 300 s tolerance)")
async def stripe_webhook(request: Request, state: StateDep) -> Response:
    _configured(state.settings.stripe_webhook_secret, "Stripe")
    assert state.settings.stripe_webhook_secret is not None
    secret = state.settings.stripe_webhook_secret.get_secret_value()
    raw = await request.body()

    def verify_and_parse() -> list[NormalisedEvent]:
        stripe_billing.verify(raw, request.headers.get("stripe-signature"), secret)
        return [stripe_billing.parse(raw)]

    # verify() accepts only UTF-8, so the stored text is the signed body exactly.
    await _deliver(request, state, "stripe", len(raw), raw.decode("utf-8", "replace"), verify_and_parse)
    return _json({"received": True})


# ---- the inbox -----------------------------------------------------------------------------------
INBOX_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or unknown API key"},
    403: {"model": Problem, "description": "The key lacks the scope"},
    404: {"model": Problem, "description": "No such event"},
    409: {"model": Problem, "description": "The event is processed already"},
    422: {"model": Problem, "description": "Invalid input"},
}


@router.get("/v1/webhooks/events", response_model=WebhookEventPage, responses=INBOX_ERRORS,
            summary="The webhook inbox, newest first (unmatched events wait here for a replay)")
def list_events(
    session: ReadSessionDep, caller: Reader,
    status: str | None = Query(None, pattern="^(received|processed|unmatched|failed|unconfirmed|refused)$"),
    provider: str | None = Query(None, pattern="^(docusign|dropbox_sign|pandadoc|adobe_sign|standard|stripe)$"),
    limit: int = Limit, cursor: str | None = Cursor,
) -> dict[str, Any]:
    keyset = Keyset("webhook-events", str)
    before = keyset.read(cursor)
    rows = InboxRepository(session).page(status=status, provider=provider, limit=limit + 1, before_id=before[0] if before else None)
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.id,))
    return {"items": [event_out(r) for r in page], "next_cursor": next_cursor}


@router.post("/v1/webhooks/events/{event_id}/replay", response_model=WebhookEventOut, responses=INBOX_ERRORS,
             summary="Process a stored event again (e.g. after registering its envelope)")
async def replay_event(event_id: str, state: StateDep, caller: Writer) -> dict[str, Any]:
    if not state.cache.db_available:
        raise Unavailable("the database cannot be reached; retry later")
    intake = _intake(state)
    await run_in_threadpool(intake.inbox.replay, event_id, actor=caller.name)
    with state.db.reader() as session:
        row = InboxRepository(session).get(event_id)
        if row is None:
            raise NotFound(f"no webhook event {event_id!r}")
        return event_out(row)
