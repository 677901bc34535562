"""Simultaneous Stripe deliveries: one change per event, and the newest of a subscription's events wins."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.storage import tables as t
from tests.billing.conftest import deliver, event, subscription
from tests.helpers import app_state, create_client, ok, simultaneously

pytestmark = pytest.mark.storage
N = 12


def live_memberships(client: TestClient, client_id: str) -> list[t.Membership]:
    db = app_state(client).db
    with db.reader() as session:
        return list(session.scalars(sa.select(t.Membership).where(t.Membership.client_id == client_id,
                                                                  t.Membership.superseded_at.is_(None))))


def test_copies_of_one_event_make_one_change(bill: TestClient) -> None:
    client_id = create_client(bill, external_refs=[{"system": "stripe", "id": "cus_ACME"}])["id"]
    body = json.dumps(event(subscription())).encode()
    responses = simultaneously([lambda: deliver(bill, body)] * N)
    assert [r.status_code for r in responses] == [200] * N
    assert len(ok(bill.get("/v1/webhooks/events", params={"provider": "stripe"}))["items"]) == 1
    [live] = live_memberships(bill, client_id)
    assert live.plan_code == "gold"


def test_different_events_of_one_subscription_in_any_order_leave_the_newest(bill: TestClient) -> None:
    client_id = create_client(bill, external_refs=[{"system": "stripe", "id": "cus_ACME"}])["id"]
    now = int(time.time())
    # Event i is created i seconds after the first; the newest says gold/active, the others silver/past_due.
    bodies = [json.dumps(event(subscription(status="active" if i == N - 1 else "past_due",
                                            price="price_gold" if i == N - 1 else "price_silver"),
                               created=now - 100 + i)).encode() for i in reversed(range(N))]
    responses = simultaneously([(lambda b=b: deliver(bill, b)) for b in bodies])
    assert [r.status_code for r in responses] == [200] * N
    [live] = live_memberships(bill, client_id)
    assert (live.plan_code, live.status) == ("gold", "active")
