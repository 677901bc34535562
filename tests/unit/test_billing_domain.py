"""The billing rules of PRODUCT.md (status, plan, period end, order) as properties over generated input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.domain import billing as bd

STRIPE_STATUSES = st.sampled_from(sorted(bd.STATUS))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
INSTANTS = st.integers(min_value=1_500_000_000, max_value=2_000_000_000)


@given(STRIPE_STATUSES, st.booleans())
def test_status_mapping_is_the_products_table(status: str, deleted: bool) -> None:
    mapped = bd.membership_status(status, deleted=deleted)
    if deleted or status == "canceled":
        assert mapped == "canceled"
    elif status in ("active", "trialing", "past_due"):
        assert mapped == status
    else:
        assert mapped == "expired"
    assert (mapped in bd.GRANTING) == (not deleted and status in ("active", "trialing", "past_due"))


@given(JSON)
def test_any_json_is_read_or_refused_cleanly(obj: Any) -> None:
    try:
        sub = bd.read_subscription(obj)
    except bd.UnreadableSubscription:
        return
    assert sub.status in bd.STATUS and sub.id and sub.customer


@given(STRIPE_STATUSES, st.one_of(st.none(), INSTANTS), st.one_of(st.none(), INSTANTS), st.integers(0, 3))
def test_period_end_is_the_first_items_else_the_subscriptions(status: str, item_end: int | None, top_end: int | None,
                                                                n_items: int) -> None:
    items: list[dict[str, Any]] = [{"price": {"id": f"price_{i}"}} for i in range(n_items)]
    if items and item_end is not None:
        items[0]["current_period_end"] = item_end
    obj: dict[str, Any] = {"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": status,
                           "items": {"data": items}}
    if top_end is not None:
        obj["current_period_end"] = top_end
    sub = bd.read_subscription(obj)
    expected = item_end if items and item_end is not None else top_end
    assert sub.current_period_end == (datetime.fromtimestamp(expected, UTC) if expected is not None else None)


@given(st.lists(st.tuples(st.sampled_from(["price_a", "price_b", None]), st.sampled_from(["silver", "gold", None]),
                          st.sampled_from(["silver", "gold", "nope", None])), max_size=3))
def test_an_external_price_wins_over_lookup_key_and_metadata(raw: list[tuple[str | None, str | None, str | None]]) -> None:
    prices = [bd.Price(p, k, m) for p, k, m in raw]
    by_price = {"price_a": "gold"}
    plan = bd.match_plan(prices, by_price, ["silver", "gold"])
    if any(p.id == "price_a" for p in prices):
        assert plan == "gold"
    elif any(c in ("silver", "gold") for p in prices for c in (p.lookup_key, p.plan_code)):
        assert plan in ("silver", "gold")
    else:
        assert plan is None


@given(st.permutations(list(range(6))), st.lists(STRIPE_STATUSES, min_size=6, max_size=6))
def test_in_any_arrival_order_the_newest_event_wins(order: list[int], statuses: list[str]) -> None:
    """Events 0..5 of one subscription, created a second apart (0 is `created`), delivered in any order."""
    base = datetime(2026, 12, 1, tzinfo=UTC)
    events = [(base + timedelta(seconds=i), "customer.subscription.created" if i == 0 else "customer.subscription.updated",
               statuses[i]) for i in range(6)]
    last: datetime | None = None
    state = None
    for index in order:
        created, kind, status = events[index]
        if bd.is_older(created, kind, last):
            continue
        state, last = status, created
    assert state == statuses[5]


def test_a_created_event_of_the_same_second_does_not_undo_an_update() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    assert bd.is_older(at, "customer.subscription.created", at)
    assert not bd.is_older(at, "customer.subscription.updated", at)


def test_a_granting_subscription_is_followed_over_a_newer_canceled_one() -> None:
    def sub(sub_id: str, status: str, created_day: int) -> tuple[bd.Subscription, bd.MembershipTerms]:
        s = bd.Subscription(sub_id, "cus_1", status, None, (), None, datetime(2026, 1, created_day, tzinfo=UTC))
        return s, bd.terms(s, "gold")

    chosen = bd.pick([sub("sub_active", "active", 1), sub("sub_canceled", "canceled", 9)])
    assert chosen is not None and chosen[0].id == "sub_active"
    assert bd.supersedes("sub_active", "active", "sub_canceled", "canceled") is False
    assert bd.supersedes("sub_active", "active", "sub_active", "canceled") is True
    assert bd.supersedes("sub_old", "canceled", "sub_new", "expired") is True
