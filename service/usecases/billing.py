"""Memberships from billing: apply a Stripe subscription (from a webhook or the sync) through put_membership."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from service import identifiers as ids
from service.domain import billing as bd
from service.errors import InvalidInput, ServiceError
from service.storage import tables as t
from service.storage.billing import BillingRepository
from service.storage.sql import SqlRepository
from service.usecases import memberships


@dataclass(frozen=True, slots=True)
class Applied:
    """How an inbox event ended: processed | unmatched | failed, why, and the client it concerned."""

    status: str
    detail: str
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    client_id: str
    wanted: bd.MembershipTerms


def side(row: t.Membership | None) -> dict[str, Any] | None:
    """A membership as the sync reports it (before or after a change)."""
    if row is None:
        return None
    return {"plan": row.plan_code, "status": row.status,
            "current_period_end": row.current_period_end.isoformat() if row.current_period_end else None,
            "external_ref": row.external_ref}


def terms_side(wanted: bd.MembershipTerms) -> dict[str, Any]:
    return {"plan": wanted.plan, "status": wanted.status,
            "current_period_end": wanted.current_period_end.isoformat() if wanted.current_period_end else None,
            "external_ref": wanted.external_ref}


def resolve(session: Session, sub: bd.Subscription, *, deleted: bool, prices: dict[str, str] | None = None) -> Resolved | str:
    """The client and the membership a subscription stands for, or why it cannot be matched."""
    repo = SqlRepository(session)
    try:
        system, customer = ids.normalize_external(bd.SYSTEM, sub.customer)
    except InvalidInput:
        return "the subscription's customer is not a valid reference"
    client_id = repo.identifier_owner("external", system, customer)
    if client_id is None and sub.client_id and repo.get_client(sub.client_id) is not None:
        client_id = sub.client_id
    if client_id is None:
        named = f" nor the client {sub.client_id!r} of its metadata" if sub.client_id else ""
        return f"no client has the external reference stripe:{customer}{named}"
    by_price = prices if prices is not None else BillingRepository(session).plans_by_price(bd.SYSTEM)
    plan = bd.match_plan(sub.prices, by_price, [p.code for p in repo.list_plans()])
    if plan is None:
        shown = ", ".join(p.id or "?" for p in sub.prices) or "none"
        return f"no plan maps the subscription's prices ({shown})"
    return Resolved(client_id, bd.terms(sub, plan, deleted=deleted))


def differs(current: t.Membership | None, wanted: bd.MembershipTerms) -> bool:
    if current is None:
        return True
    return (current.plan_code, current.status, current.current_period_end, current.external_ref) != (
        wanted.plan, wanted.status, wanted.current_period_end, wanted.external_ref)


def lock_order(session: Session, sub_id: str, client_id: str, status: str, applied_at: datetime, source: str,
               now: datetime) -> tuple[t.BillingSubscription, bool]:
    """The subscription's order row, locked (or created, then True): its events apply one at a time.

    When two first events of a subscription race, the loser's insert waits on the unique index and
    fails once the winner commits; it then reads the winner's row and is ordered against it.
    """
    billing = BillingRepository(session)
    row = billing.lock_subscription(bd.SYSTEM, sub_id)
    if row is not None:
        return row, False
    fresh = t.BillingSubscription(system=bd.SYSTEM, external_id=sub_id, client_id=client_id, status=status,
                                  last_applied_at=applied_at, last_source=source[:200], updated_at=now)
    if billing.insert_subscription(fresh):
        return fresh, True
    row = billing.lock_subscription(bd.SYSTEM, sub_id)
    assert row is not None
    return row, False


def remember(session: Session, sub_id: str, client_id: str, status: str, applied_at: datetime, source: str,
             now: datetime) -> None:
    row, fresh = lock_order(session, sub_id, client_id, status, applied_at, source, now)
    if not fresh:
        row.client_id, row.status, row.last_source, row.updated_at = client_id, status, source[:200], now
        row.last_applied_at = max(row.last_applied_at, applied_at)


def put(session: Session, resolved: Resolved, *, actor: str, now: datetime) -> tuple[t.Membership | None, t.Membership | None]:
    """Write the membership through the one use case (audit, history, cache); (before, after) or no change."""
    current = SqlRepository(session).current_membership(resolved.client_id)
    if not differs(current, resolved.wanted):
        return current, None
    wanted = resolved.wanted
    row = memberships.put_membership(
        session, resolved.client_id, plan=wanted.plan, status=wanted.status,
        current_period_end=wanted.current_period_end, external_ref=wanted.external_ref, actor=actor, now=now,
    )
    return current, row


def apply_stripe_event(session: Session, body: str, now: datetime) -> Applied:
    """Apply one stored, verified Stripe event; every outcome is recorded by the caller on the inbox row."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Applied("failed", "the stored Stripe event is not JSON")
    if not isinstance(envelope, dict):
        return Applied("failed", "the stored Stripe event is not an object")
    event_id, event_type = str(envelope.get("id"))[:255], str(envelope.get("type"))[:100]
    if event_type not in bd.SUBSCRIPTION_EVENTS:
        return Applied("processed", f"{event_type} is not a subscription event; ignored")
    created = bd.read_instant(envelope.get("created"))
    if created is None:
        return Applied("failed", "the event has no `created` time, so it cannot be ordered")
    data = envelope.get("data")
    try:
        sub = bd.read_subscription(data.get("object") if isinstance(data, dict) else None)
    except bd.UnreadableSubscription as exc:
        return Applied("failed", f"unexpected shape: {exc}")
    resolved = resolve(session, sub, deleted=event_type == bd.DELETED_EVENT)
    if isinstance(resolved, str):
        return Applied("unmatched", resolved)
    client_id, wanted = resolved.client_id, resolved.wanted
    source = f"stripe event {event_id}"
    last, fresh = lock_order(session, sub.id, client_id, sub.status, created, source, now)
    if not fresh and bd.is_older(created, event_type, last.last_applied_at):
        return Applied("processed", f"recorded, not applied: older than the state applied from {last.last_source}",
                       client_id)
    remember(session, sub.id, client_id, sub.status, created, source, now)
    current = SqlRepository(session).current_membership(client_id)
    if not bd.supersedes(current.external_ref if current else None, current.status if current else None,
                         sub.id, wanted.status):
        followed = current.external_ref if current else ""
        return Applied("processed", f"recorded, not applied: the membership follows {followed}", client_id)
    try:
        before, after = put(session, resolved, actor=f"stripe:{event_id}"[:200], now=now)
    except ServiceError as exc:
        # Checked before anything is written (the client, the plan): keep the event, say why.
        return Applied("failed", f"the membership cannot be written: {exc.detail}", client_id)
    session.flush()
    if after is None:
        return Applied("processed", f"no change: client {client_id} is {wanted.plan}/{wanted.status} already", client_id)
    was = f"{before.plan_code}/{before.status}" if before else "no membership"
    return Applied("processed", f"applied: client {client_id} {was} -> {wanted.plan}/{wanted.status}", client_id)
