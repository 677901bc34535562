"""Stripe subscriptions → memberships: reading a subscription, the status, plan and order rules of PRODUCT.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SYSTEM = "stripe"
# Event types that carry a subscription's state; every other type is acknowledged and ignored.
SUBSCRIPTION_EVENTS = frozenset({
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
})
DELETED_EVENT = "customer.subscription.deleted"
STATUS = {
    "active": "active",
    "trialing": "trialing",
    "past_due": "past_due",
    "unpaid": "expired",
    "paused": "expired",
    "incomplete": "expired",
    "incomplete_expired": "expired",
    "canceled": "canceled",
}
# Membership statuses that can grant a rank (the others never do).
GRANTING = frozenset({"active", "trialing", "past_due"})


class UnreadableSubscription(ValueError):
    """Valid JSON that is not a Stripe subscription we can read."""


@dataclass(frozen=True, slots=True)
class Price:
    id: str | None
    lookup_key: str | None
    plan_code: str | None  # the price's metadata.supportgate_plan


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    customer: str
    status: str
    client_id: str | None  # metadata.supportgate_client_id
    prices: tuple[Price, ...]
    current_period_end: datetime | None
    created: datetime | None


@dataclass(frozen=True, slots=True)
class MembershipTerms:
    """What a membership must say for a subscription to be reflected."""

    plan: str
    status: str
    current_period_end: datetime | None
    external_ref: str


def _text(value: Any, limit: int = 200) -> str | None:
    if not isinstance(value, str):
        return None
    value = "".join(ch for ch in value if ch >= " " and ch != "\x7f").strip()
    return value[:limit] or None


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def read_instant(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def read_subscription(obj: Any) -> Subscription:
    """A Stripe subscription object (any API version) → Subscription; UnreadableSubscription otherwise."""
    if not isinstance(obj, Mapping):
        raise UnreadableSubscription("data.object is not an object")
    sub_id, status = _text(obj.get("id")), _text(obj.get("status"), 40)
    customer_value = obj.get("customer")
    # `customer` is an id, or the Customer object when the caller expanded it.
    customer = _text(customer_value) if not isinstance(customer_value, Mapping) else _text(customer_value.get("id"))
    if obj.get("object", "subscription") != "subscription" or not sub_id or not customer or not status:
        raise UnreadableSubscription("a subscription needs object=subscription, id, customer and status")
    if status not in STATUS:
        raise UnreadableSubscription(f"unknown subscription status {status!r}")
    items = _object(obj.get("items")).get("data")
    if not isinstance(items, list):
        raise UnreadableSubscription("a subscription needs items.data (a list)")
    prices = []
    for item in items:
        price = _object(_object(item).get("price"))
        prices.append(Price(_text(price.get("id")), _text(price.get("lookup_key")),
                            _text(_object(price.get("metadata")).get("supportgate_plan"), 64)))
    first = _object(items[0]) if items else {}
    # API 2025-03-31.basil moved the period to each item; older versions have it on the subscription.
    period_end = read_instant(first.get("current_period_end")) or read_instant(obj.get("current_period_end"))
    return Subscription(
        id=sub_id, customer=customer, status=status,
        client_id=_text(_object(obj.get("metadata")).get("supportgate_client_id"), 40),
        prices=tuple(prices), current_period_end=period_end, created=read_instant(obj.get("created")),
    )


def membership_status(stripe_status: str, *, deleted: bool = False) -> str:
    """The membership status PRODUCT.md maps a subscription status to (a deletion is a cancellation)."""
    return "canceled" if deleted else STATUS[stripe_status]


def match_plan(prices: Sequence[Price], by_price_id: Mapping[str, str], plan_codes: Iterable[str]) -> str | None:
    """The plan of the first price that maps: the plan's external price id, else lookup_key or metadata."""
    codes = set(plan_codes)
    for price in prices:
        if price.id and price.id in by_price_id:
            return by_price_id[price.id]
    for price in prices:
        for candidate in (price.lookup_key, price.plan_code):
            if candidate and candidate in codes:
                return candidate
    return None


def terms(sub: Subscription, plan: str, *, deleted: bool = False) -> MembershipTerms:
    return MembershipTerms(plan, membership_status(sub.status, deleted=deleted), sub.current_period_end, sub.id)


def is_older(event_created: datetime, event_type: str, last_applied: datetime | None) -> bool:
    """Whether an event must be recorded and not applied, being older than the last one applied.

    Stripe's `created` has one-second resolution: an event of the same second as the last applied
    one is applied, unless it is a `created` event (nothing precedes a subscription's creation).
    """
    if last_applied is None:
        return False
    if event_created == last_applied:
        return event_type == "customer.subscription.created"
    return event_created < last_applied


def supersedes(current_ref: str | None, current_status: str | None, sub_id: str, new_status: str) -> bool:
    """Whether a subscription's state may replace the client's current membership.

    A client may have several subscriptions (an old canceled one, a new active one): a subscription
    that grants nothing never replaces a granting membership that another subscription holds.
    """
    if current_ref is None or current_ref == sub_id or current_status not in GRANTING:
        return True
    return new_status in GRANTING


def pick(subscriptions: Sequence[tuple[Subscription, MembershipTerms]]) -> tuple[Subscription, MembershipTerms] | None:
    """The subscription a client's membership should follow: a granting one first, then the newest."""
    def key(pair: tuple[Subscription, MembershipTerms]) -> tuple[bool, datetime, datetime, str]:
        sub, wanted = pair
        floor = datetime.min.replace(tzinfo=UTC)
        return (wanted.status in GRANTING, sub.created or floor, sub.current_period_end or floor, sub.id)

    return max(subscriptions, key=key) if subscriptions else None
