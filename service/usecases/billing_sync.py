"""The billing reconciliation: list every Stripe subscription and correct each membership that differs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import stripe

from service.domain import billing as bd
from service.errors import ServiceError
from service.settings import Settings
from service.storage.billing import BillingRepository
from service.storage.database import Database
from service.storage.sql import SqlRepository
from service.usecases import billing

Progress = Callable[[int, int | None], None]
PAGE_SIZE = 100


class BillingNotConfigured(ServiceError):
    code = "billing-not-configured"
    http_status = 409
    title = "Billing is not configured"


class BillingUnreachable(ServiceError):
    code = "billing-unreachable"
    http_status = 502
    title = "The billing system did not answer"


@dataclass(frozen=True, slots=True)
class Change:
    client_id: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    subscription: str


@dataclass(slots=True)
class SyncReport:
    checked: int = 0
    changed: list[Change] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked, "dry_run": self.dry_run, "unmatched": self.unmatched,
            "changed": [{"client_id": c.client_id, "from": c.before, "to": c.after} for c in self.changed],
        }


def stripe_client(settings: Settings) -> stripe.StripeClient:
    if settings.stripe_api_key is None or not settings.stripe_api_key.get_secret_value().strip():
        raise BillingNotConfigured("SUPPORTGATE_STRIPE_API_KEY is not set")
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses={"api": settings.stripe_api_url.rstrip("/")},
        max_network_retries=2,
    )


def subscriptions(client: stripe.StripeClient) -> Iterator[dict[str, Any]]:
    """Every subscription, canceled ones included, page after page (starting_after the last one)."""
    try:
        listing = client.v1.subscriptions.list(params={"status": "all", "limit": PAGE_SIZE})
        for sub in listing.auto_paging_iter():
            yield sub.to_dict()
    except stripe.StripeError as exc:
        raise BillingUnreachable(f"listing Stripe subscriptions failed: {type(exc).__name__}: {str(exc)[:300]}") from None


def run_sync(db: Database, client: stripe.StripeClient, *, dry_run: bool, trigger: str, clock: Callable[[], datetime],
             progress: Progress | None = None) -> SyncReport:
    """List, match, compare and (unless `dry_run`) correct; each correction is its own short transaction."""
    started = clock()
    listed: list[bd.Subscription] = []
    report = SyncReport(dry_run=dry_run)
    for obj in subscriptions(client):
        report.checked += 1
        try:
            listed.append(bd.read_subscription(obj))
        except bd.UnreadableSubscription as exc:
            report.unmatched.append({"subscription": str(obj.get("id")), "detail": str(exc)})
        if progress:
            progress(report.checked, None)
    wanted: dict[str, list[tuple[bd.Subscription, bd.MembershipTerms]]] = {}
    with db.reader() as session:
        prices = BillingRepository(session).plans_by_price(bd.SYSTEM)
        for sub in listed:
            resolved = billing.resolve(session, sub, deleted=False, prices=prices)
            if isinstance(resolved, str):
                report.unmatched.append({"subscription": sub.id, "detail": resolved})
            else:
                wanted.setdefault(resolved.client_id, []).append((sub, resolved.wanted))
        session.rollback()
    actor = f"billing-sync:{trigger}"[:200]
    for done, (client_id, candidates) in enumerate(sorted(wanted.items()), start=1):
        chosen = bd.pick(candidates)
        assert chosen is not None
        sub, terms = chosen
        with db.writer() as session:
            # Read again under the write transaction: a webhook may have corrected it meanwhile.
            current = SqlRepository(session).current_membership(client_id)
            if billing.differs(current, terms):
                if not dry_run:
                    try:
                        billing.put(session, billing.Resolved(client_id, terms), actor=actor, now=clock())
                    except ServiceError as exc:
                        session.rollback()
                        report.unmatched.append({"subscription": sub.id, "detail": exc.detail})
                        continue
                report.changed.append(Change(client_id, billing.side(current), billing.terms_side(terms), sub.id))
            if not dry_run:
                # What the listing showed is at least as new as the start: older webhooks must not undo it.
                billing.remember(session, sub.id, client_id, sub.status, started, actor, clock())
                session.commit()
            else:
                session.rollback()
        if progress:
            progress(done, len(wanted))
    return report
