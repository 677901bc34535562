"""Zendesk write-back: verify a trigger's webhook, decide for the ticket's requester, queue the ticket update."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from service.cache import StateCache
from service.domain import model as dm
from service.domain.decision import plans_granting
from service.errors import InvalidInput, Unauthorized
from service.storage import outbox
from service.usecases import audit
from service.usecases.checks import CheckResult, ClientRef, make_ref, run_check

TARGET = "zendesk"
MAX_SKEW = timedelta(minutes=5)
ZENDESK_PRIORITIES = ("low", "normal", "high", "urgent")
FIELDS = ("ticket_id", "requester_email", "requester_phone", "organization_external_id", "service")


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + raw body)), timestamp within 5 minutes."""
    signature = headers.get("x-zendesk-webhook-signature", "").strip()
    timestamp = headers.get("x-zendesk-webhook-signature-timestamp", "").strip()
    if not signature or not timestamp:
        raise Unauthorized("X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp are required")
    try:
        sent_at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise Unauthorized("the signature timestamp is not ISO 8601") from None
    if sent_at.tzinfo is None or abs(now - sent_at) > MAX_SKEW:
        raise Unauthorized("the signature timestamp is more than 5 minutes away from now")
    expected = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.encode()):
        raise Unauthorized("the Zendesk webhook signature does not match")


def dedupe_key(headers: Mapping[str, str], body: bytes) -> str:
    """One ticket update per invocation id (Zendesk's retries repeat it), or per identical body without it."""
    invocation = headers.get("x-zendesk-webhook-invocation-id", "").strip()
    if invocation:
        return f"zendesk:invocation:{invocation[:300]}"
    return f"zendesk:body:{hashlib.sha256(body).hexdigest()}"


@dataclass(frozen=True, slots=True)
class TicketWebhook:
    """The recipe's body template; an empty string means the placeholder had no value."""

    ticket_id: str
    requester_email: str
    requester_phone: str
    organization_external_id: str
    service: str


def parse(body: bytes) -> TicketWebhook:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not valid JSON", errors=[{"loc": ["body"], "msg": "invalid JSON"}]) from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", errors=[{"loc": ["body"], "msg": "object expected"}])
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
        raise InvalidInput(f"{'.'.join(map(str, errors[0]['loc']))}: {errors[0]['msg']}", errors=errors)
    return TicketWebhook(
        ticket_id=ticket_id,
        requester_email=values["requester_email"],
        requester_phone=values["requester_phone"],
        organization_external_id=values["organization_external_id"],
        service=values["service"] or "advanced_support",
    )


@dataclass(frozen=True, slots=True)
class TicketDecision:
    result: CheckResult
    matched_by: str
    ignored: tuple[str, ...]
    granting: tuple[dm.Plan, ...]


def _refs(ticket: TicketWebhook, external_system: str, region: str) -> tuple[list[tuple[str, ClientRef]], list[str]]:
    """The requester's identifiers in matching order: organization external id, e-mail (then its domain), phone."""
    refs: list[tuple[str, ClientRef]] = []
    ignored: list[str] = []
    given = (
        ("organization external id", "external", ticket.organization_external_id),
        ("requester e-mail", "email", ticket.requester_email),
        ("requester phone", "phone", ticket.requester_phone),
    )
    for label, kind, value in given:
        if not value:
            continue
        try:
            if kind == "external":
                ref = make_ref(external=(external_system, value), region=region)
            elif kind == "email":
                ref = make_ref(email=value, region=region)
            else:
                ref = make_ref(phone=value, region=region)
        except InvalidInput:
            # Requesters type anything into Zendesk profiles; a bad field must not block the others.
            ignored.append(f"{label} {value[:60]!r} is not usable")
            continue
        if ref.kind is not None:
            refs.append((label, ref))
    return refs, ignored


def decide_ticket(cache: StateCache, ticket: TicketWebhook, *, external_system: str, region: str, now: datetime,
                  degraded_policy: str) -> TicketDecision:
    refs, ignored = _refs(ticket, external_system, region)
    result: CheckResult | None = None
    matched_by = ""
    for label, ref in refs or [("", ClientRef(None))]:
        result = run_check(cache, ref, ticket.service, now=now, at=None, allow_io=True, degraded_policy=degraded_policy)
        if result.client is not None:
            matched_by = label
            break
    assert result is not None
    catalog = cache.catalog(allow_io=True)
    service = catalog.services[ticket.service]
    granting = plans_granting(service, catalog) if service.min_rank > 0 else ()
    return TicketDecision(result, matched_by, tuple(ignored), granting)


def zendesk_priority(priority: str) -> str:
    value = priority.strip().lower()
    return value if value in ZENDESK_PRIORITIES else "normal"


def _tag(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in text.lower())


def note(ticket: TicketWebhook, decided: TicketDecision) -> str:
    d, client = decided.result.decision, decided.result.client
    lines = [f"supportgate: {d.service} {'ALLOWED' if d.allowed else 'REFUSED'} (decision {decided.result.decision_id})."]
    if client is not None:
        lines.append(f"Client: {client.name} ({client.id}), matched by {decided.matched_by}.")
    else:
        lines.append("Client: no client matched the organization external id, e-mail or phone of this ticket.")
    if d.reasons:
        lines.append("Reasons: " + "; ".join(f"{r.code.value} ({r.detail})" for r in d.reasons) + ".")
    if d.membership.plan:
        lines.append(f"Plan: {d.membership.plan}; queue {d.routing.queue}, priority {d.routing.priority}, "
                     f"first response within {d.sla.first_response_minutes} minutes.")
    if decided.granting:
        lines.append("Plans that would grant this service: " + ", ".join(f"{p.name} ({p.code})" for p in decided.granting) + ".")
    else:
        lines.append("No plan is required for this service.")
    for text in decided.ignored:
        lines.append(f"Ignored: {text}.")
    return "\n".join(lines)


def ticket_update(ticket: TicketWebhook, decided: TicketDecision) -> dict[str, Any]:
    """The body of PUT /api/v2/tickets/{id}.json: tags, priority and an internal note."""
    d = decided.result.decision
    tags = ["supportgate_checked", "supportgate_allowed" if d.allowed else "supportgate_refused"]
    if d.membership.plan:
        tags.append(f"supportgate_tier_{_tag(d.membership.plan)}")
    return {"ticket": {
        "additional_tags": tags,
        "priority": zendesk_priority(d.routing.priority),
        "comment": {"body": note(ticket, decided), "public": False},
    }}


def queue_update(session: Session, *, api_url: str, key: str, ticket: TicketWebhook, decided: TicketDecision,
                 now: datetime) -> tuple[str, bool]:
    """Store the ticket update in the outbox (once per key) with an audit event; (outbox id, created)."""
    url = f"{api_url.rstrip('/')}/api/v2/tickets/{ticket.ticket_id}.json"
    message, created = outbox.enqueue(
        session, target=TARGET, dedupe_key=key, method="PUT", url=url, payload=ticket_update(ticket, decided), now=now
    )
    if created:
        d = decided.result.decision
        audit.record(
            session, kind="zendesk.ticket_checked", actor="zendesk", at=now, scope="none",
            client_id=decided.result.client.id if decided.result.client else None, subject=f"zendesk ticket {ticket.ticket_id}",
            after={"decision_id": decided.result.decision_id, "service": d.service, "allowed": d.allowed,
                   "reasons": [r.code.value for r in d.reasons], "outbox_id": message.id},
        )
    return message.id, created
