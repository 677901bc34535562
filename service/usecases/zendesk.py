"""Zendesk write-back: decide for a ticket's requester and queue the ticket update in the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.cache import StateCache
from service.domain import model as dm
from service.domain.contacts import rank_needed
from service.domain.decision import plans_granting
from service.domain.model import Decision
from service.errors import InvalidInput
from service.storage import outbox
from service.usecases import audit
from service.usecases.checks import CheckExtras, CheckResult, ClientRef, make_ref, run_check
from service.usecases.outbox import request_delivery
from service.webhooks.zendesk import TicketWebhook

TARGET = "zendesk"
ZENDESK_PRIORITIES = ("low", "normal", "high", "urgent")


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
    # The requester is the person asking: their e-mail (else phone) names the contact, whatever found the client.
    person = next((ref for label, ref in refs if label != "organization external id"), None)
    extras = CheckExtras(contact=person, channel=ticket.channel)
    result: CheckResult | None = None
    matched_by = ""
    for label, ref in refs or [("", ClientRef(None))]:
        result = run_check(cache, ref, ticket.service, now=now, at=None, allow_io=True, degraded_policy=degraded_policy,
                           extras=extras)
        if result.client is not None:
            matched_by = label
            break
    assert result is not None
    catalog = cache.catalog(allow_io=True)
    service = catalog.services[ticket.service]
    needed = rank_needed(service, ticket.channel)
    granting = plans_granting(service, catalog, needed) if needed > 0 else ()
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
    if decided.result.contact is not None:
        contact = decided.result.contact
        lines.append(f"Requester: {contact.name}, a contact of the client ({', '.join(sorted(contact.roles)) or 'no role'}).")
    reasons = "; ".join(f"{r.code.value} ({r.detail})" for r in d.reasons) if d.reasons else "none"
    lines.append(f"Reasons: {reasons}.")
    if d.approvers:
        lines.append("Approvers to ask: " + ", ".join(
            f"{a.name} ({' / '.join(v for v in (a.phone, a.email) if v) or 'no phone or e-mail'})" for a in d.approvers
        ) + ".")
    if d.membership.plan:
        lines.append(f"Plan: {d.membership.plan}; queue {d.routing.queue}, priority {d.routing.priority}, "
                     f"first response within {d.sla.first_response_minutes} minutes.")
    clock = d.sla_clock
    if clock is not None and clock.first_response_due_at is not None:
        calendar = f"calendar {clock.calendar_code} v{clock.calendar_version}" if clock.calendar_code else "24/7"
        lines.append(f"First response due {clock.first_response_due_at.isoformat()} ({calendar}).")
    if decided.granting:
        lines.append("Plans that would grant this service: " + ", ".join(f"{p.name} ({p.code})" for p in decided.granting) + ".")
    else:
        lines.append("No plan is required for this service.")
    for text in decided.ignored:
        lines.append(f"Ignored: {text}.")
    return "\n".join(lines)


def sla_record(d: Decision) -> dict[str, Any]:
    """The deadline and the calendar version an answer was computed on, as the audit keeps them."""
    clock = d.sla_clock
    if clock is None:
        return {}
    return {
        "first_response_due_at": clock.first_response_due_at.isoformat() if clock.first_response_due_at else None,
        "sla_calendar": {"code": clock.calendar_code, "version": clock.calendar_version} if clock.calendar_code else None,
    }


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
        request_delivery(session, now)
        d = decided.result.decision
        audit.record(
            session, kind="zendesk.ticket_checked", actor="zendesk", at=now, scope="none",
            client_id=decided.result.client.id if decided.result.client else None, subject=f"zendesk ticket {ticket.ticket_id}",
            after={"decision_id": decided.result.decision_id, "service": d.service, "allowed": d.allowed,
                   "reasons": [r.code.value for r in d.reasons], "outbox_id": message.id, **sla_record(d)},
        )
    return message.id, created
