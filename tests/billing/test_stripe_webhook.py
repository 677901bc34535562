"""POST /v1/webhooks/stripe: Stripe's signature scheme, the inbox, ordering, matching and replay."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage import tables as t
from tests.billing.conftest import OLD_SECRET, SECRET, deliver, event, stripe_header, subscription
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import app_state, check, codes, create_client, ok
from tests.webhooks.conftest import metric

pytestmark = pytest.mark.storage


def membership(client: TestClient, client_id: str) -> dict[str, Any]:
    return cast(dict[str, Any], ok(client.get(f"/v1/clients/{client_id}"))["membership"])


def stored(client: TestClient) -> list[t.WebhookEvent]:
    db = app_state(client).db
    with db.reader() as session:
        return list(session.scalars(sa.select(t.WebhookEvent).order_by(t.WebhookEvent.received_at)))


def membership_rows(client: TestClient, client_id: str) -> int:
    db = app_state(client).db
    with db.reader() as session:
        return session.execute(
            sa.select(sa.func.count()).select_from(t.Membership).where(t.Membership.client_id == client_id)).scalar_one()


def acme(client: TestClient, customer: str = "cus_ACME") -> str:
    refs = [{"system": "stripe", "id": customer}] if customer else []
    return cast(str, create_client(client, emails=["office@acme.example"], external_refs=refs)["id"])


def test_valid_delivery_applies_the_subscription(bill: TestClient) -> None:
    client_id = acme(bill)
    assert membership(bill, client_id)["rank"] == 0
    response = deliver(bill, event(subscription(), "customer.subscription.created"))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    after = membership(bill, client_id)
    assert (after["plan"], after["status"], after["rank"]) == ("gold", "active", 2)
    assert check(bill, "priority_support", email="office@acme.example")["routing"]["queue"] == "priority"
    [row] = stored(bill)
    assert (row.provider, row.status, row.envelope_id) == ("stripe", "processed", "sub_1")
    audit = ok(bill.get(f"/v1/clients/{client_id}/events"))["items"]
    put = next(e for e in audit if e["kind"] == "membership.put")
    assert put["actor"] == f"stripe:{row.event_key}"


def test_two_v1_signatures_during_a_secret_roll(bill: TestClient) -> None:
    client_id = acme(bill)
    # The endpoint knows the new secret; Stripe signs with both while the old one is rolled.
    response = deliver(bill, event(subscription()), OLD_SECRET, SECRET)
    assert response.status_code == 200, response.text
    assert membership(bill, client_id)["plan"] == "gold"


@pytest.mark.parametrize("case", ["forged", "other_secret", "missing", "stale", "future", "no_v1", "garbage"])
def test_bad_signatures_are_refused_and_nothing_is_stored(bill: TestClient, case: str) -> None:
    client_id = acme(bill)
    body = json.dumps(event(subscription())).encode()
    now = int(time.time())
    header = {
        "forged": f"t={now},v1={'0' * 64}",
        "other_secret": stripe_header(body, "whsec_attacker"),
        "missing": "",
        "stale": stripe_header(body, SECRET, at=now - 301),
        "future": stripe_header(body, SECRET, at=now + 400),
        "no_v1": f"t={now},v0={'0' * 64}",
        "garbage": "not a stripe header",
    }[case]
    response = deliver(bill, body, header=header)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stored(bill) == []
    assert membership(bill, client_id)["rank"] == 0


def test_a_body_changed_after_signing_is_refused(bill: TestClient) -> None:
    body = json.dumps(event(subscription(status="canceled"))).encode()
    header = stripe_header(body)
    tampered = body.replace(b"canceled", b"active\x20\x20")
    assert deliver(bill, tampered, header=header).status_code == 401
    assert stored(bill) == []


def test_unset_secret_answers_404(db_url: str) -> None:
    with TestClient(create_app(make_settings(db_url)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        assert deliver(client, event(subscription())).status_code == 404


def test_the_same_event_twice_changes_once(bill: TestClient) -> None:
    client_id = acme(bill)
    delivery = event(subscription())
    assert deliver(bill, delivery).status_code == 200
    assert deliver(bill, delivery).status_code == 200
    assert len(stored(bill)) == 1
    assert membership_rows(bill, client_id) == 1


def test_updated_before_created_keeps_the_newer_state(bill: TestClient) -> None:
    client_id = acme(bill)
    now = int(time.time())
    created = event(subscription(status="trialing", price="price_silver"), "customer.subscription.created", created=now - 60)
    updated = event(subscription(status="active", price="price_gold"), "customer.subscription.updated", created=now - 10)
    assert deliver(bill, updated).status_code == 200
    assert deliver(bill, created).status_code == 200
    after = membership(bill, client_id)
    assert (after["plan"], after["status"]) == ("gold", "active")
    late = next(r for r in stored(bill) if r.event_key == created["id"])
    assert late.status == "processed" and "not applied" in (late.detail or "")
    assert membership_rows(bill, client_id) == 1


def test_past_due_warns_and_keeps_the_rank_through_dunning(bill: TestClient) -> None:
    client_id = acme(bill)
    ended = int(time.time()) - 2 * 86400  # the period ended two days ago; dunning grace is 7 days
    assert deliver(bill, event(subscription(status="past_due", period_end=ended))).status_code == 200
    assert membership(bill, client_id)["status"] == "past_due"
    decision = check(bill, "priority_onsite", email="office@acme.example")
    assert decision["allowed"] is True
    assert "MEMBERSHIP_PAST_DUE" in codes(decision)
    assert decision["membership"]["rank"] == 2
    # Past the dunning grace the rank is gone.
    later = check(bill, "priority_support", email="office@acme.example", at=_at(ended + 8 * 86400))
    assert "TIER_REQUIRED" in codes(later)


def _at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def test_deleted_drops_to_rank_zero_and_default_routing(bill: TestClient) -> None:
    client_id = acme(bill)
    now = int(time.time())
    assert deliver(bill, event(subscription(), "customer.subscription.created", created=now - 30)).status_code == 200
    assert check(bill, "priority_support", email="office@acme.example")["routing"]["queue"] == "priority"
    assert deliver(bill, event(subscription(status="canceled"), "customer.subscription.deleted", created=now)).status_code == 200
    after = membership(bill, client_id)
    assert (after["status"], after["rank"]) == ("canceled", 0)
    decision = check(bill, "priority_support", email="office@acme.example")
    assert "TIER_REQUIRED" in codes(decision)
    assert decision["routing"]["queue"] == "standard"


def test_unknown_customer_is_kept_unmatched_then_replayed(bill: TestClient) -> None:
    delivery = event(subscription(customer="cus_NEW"))
    assert deliver(bill, delivery).status_code == 200
    [row] = stored(bill)
    assert row.status == "unmatched"
    listed = ok(bill.get("/v1/webhooks/events", params={"status": "unmatched", "provider": "stripe"}))["items"]
    assert [e["id"] for e in listed] == [row.id]
    client_id = create_client(bill, name="Newco", external_refs=[{"system": "stripe", "id": "cus_NEW"}])["id"]
    replayed = ok(bill.post(f"/v1/webhooks/events/{row.id}/replay"))
    assert replayed["status"] == "processed"
    assert membership(bill, client_id)["plan"] == "gold"
    assert bill.post(f"/v1/webhooks/events/{row.id}/replay").status_code == 409


def test_metadata_client_id_and_price_lookup_key_match(bill: TestClient) -> None:
    client_id = acme(bill, customer="")
    sub = subscription(customer="cus_OTHER", price="price_unmapped", lookup_key="silver",
                       metadata={"supportgate_client_id": client_id}, legacy=True, period_end=int(time.time()) + 86400)
    assert deliver(bill, event(sub)).status_code == 200
    after = membership(bill, client_id)
    assert (after["plan"], after["status"]) == ("silver", "active")
    assert after["current_period_end"] is not None


def test_price_metadata_plan_and_unknown_price(bill: TestClient) -> None:
    client_id = acme(bill)
    unknown = event(subscription(price="price_nobody"))
    assert deliver(bill, unknown).status_code == 200
    assert stored(bill)[0].status == "unmatched"
    assert membership(bill, client_id)["rank"] == 0
    by_metadata = event(subscription(price="price_other", price_metadata={"supportgate_plan": "silver"}))
    assert deliver(bill, by_metadata).status_code == 200
    assert membership(bill, client_id)["plan"] == "silver"


@pytest.mark.parametrize("status,expected", [("trialing", "trialing"), ("unpaid", "expired"), ("paused", "expired"),
                                             ("incomplete", "expired"), ("incomplete_expired", "expired"),
                                             ("canceled", "canceled")])
def test_status_mapping(bill: TestClient, status: str, expected: str) -> None:
    client_id = acme(bill)
    assert deliver(bill, event(subscription(status=status))).status_code == 200
    assert membership(bill, client_id)["status"] == expected


def test_ignored_event_types_are_acknowledged(bill: TestClient) -> None:
    response = deliver(bill, {"id": "evt_inv", "object": "event", "type": "invoice.paid", "created": int(time.time()),
                              "data": {"object": {"id": "in_1", "object": "invoice"}}})
    assert response.status_code == 200 and response.json() == {"received": True}
    assert stored(bill)[0].status == "processed"


@pytest.mark.parametrize("body", [b"not json at all", b"[1, 2]", b'{"id": 5}', b"\xff\xfe", b'"x"', b"{}", b"null"])
def test_unreadable_bodies_under_a_valid_signature_are_4xx(bill: TestClient, body: bytes) -> None:
    header = stripe_header(body) if body != b"\xff\xfe" else "t=1,v1=00"
    response = deliver(bill, body, header=header)
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("obj", [None, [], {"object": "subscription"}, {"id": "sub_x", "object": "subscription",
                                 "customer": "cus_ACME", "status": "weird", "items": {"data": []}},
                                 {"id": "sub_x", "object": "subscription", "customer": "cus_ACME", "status": "active",
                                  "items": "nope"},
                                 {"id": "sub_x", "object": "subscription", "customer": {"id": 5}, "status": "active",
                                  "items": {"data": [{"price": 7}]}}])
def test_odd_shapes_under_a_valid_signature_are_stored_failed(bill: TestClient, obj: Any) -> None:
    client_id = acme(bill)
    response = deliver(bill, event(obj))
    assert response.status_code == 200, response.text
    [row] = stored(bill)
    assert row.status == "failed"
    assert membership(bill, client_id)["rank"] == 0


def test_bad_created_under_a_valid_signature(bill: TestClient) -> None:
    delivery = event(subscription())
    delivery["created"] = "yesterday"
    response = deliver(bill, delivery)
    assert response.status_code < 500
    assert stored(bill)[0].status == "failed"


def test_oversized_and_hostile_values_are_never_a_500(bill: TestClient) -> None:
    client_id = acme(bill)
    long = "x" * 5000
    cases = [
        event(subscription(sub_id="sub_" + long)),
        event(subscription(), event_id="evt_" + long),
        event(subscription(customer="cus_" + long)),
        event(subscription(price="price_" + long, lookup_key=long, metadata={"supportgate_client_id": long})),
        event(subscription(customer="cus_\x00ACME", sub_id="sub_\x00")),
        {**event(subscription()), "type": "customer.subscription." + long},
    ]
    for delivery in cases:
        response = deliver(bill, delivery)
        assert response.status_code < 500, response.text
    assert membership(bill, client_id)["rank"] in (0, 2)


def test_paused_then_resumed(bill: TestClient) -> None:
    client_id = acme(bill)
    now = int(time.time())
    assert deliver(bill, event(subscription(status="paused"), "customer.subscription.paused", created=now - 20)).status_code == 200
    assert (membership(bill, client_id)["status"], membership(bill, client_id)["rank"]) == ("expired", 0)
    assert deliver(bill, event(subscription(), "customer.subscription.resumed", created=now - 10)).status_code == 200
    assert (membership(bill, client_id)["status"], membership(bill, client_id)["rank"]) == ("active", 2)


def test_a_delivery_signed_within_the_tolerance_is_accepted(bill: TestClient) -> None:
    client_id = acme(bill)
    assert deliver(bill, event(subscription()), at=int(time.time()) - 290).status_code == 200
    assert membership(bill, client_id)["plan"] == "gold"


def test_deliveries_are_counted_by_outcome(bill: TestClient) -> None:
    acme(bill)
    deliver(bill, event(subscription()))
    deliver(bill, event(subscription(customer="cus_NOBODY")))
    deliver(bill, event(subscription()), header="t=1,v1=00")
    # As answered (two stored, one refused: a bad signature), then as processed by the job.
    assert (metric(bill, "stripe", "received"), metric(bill, "stripe", "rejected")) == (2.0, 1.0)
    for outcome in ("applied", "unmatched"):
        assert metric(bill, "stripe", outcome, name="processed") == 1.0, outcome
