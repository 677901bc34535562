"""The reconciliation against a local stub of Stripe's list API: POST /v1/billing/sync and `supportgate billing sync`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api.app import create_app
from service.cli import app as cli
from service.settings import get_settings
from service.storage.database import Database
from service.usecases.keys import create_key
from tests.billing.conftest import (
    API_KEY,
    SECRET,
    StripeStub,
    billing_settings,
    deliver,
    event,
    put_priced_plans,
    subscription,
)
from tests.conftest import ADMIN_KEY
from tests.helpers import create_client, ok

pytestmark = pytest.mark.storage


def membership(client: TestClient, client_id: str) -> dict[str, Any]:
    return cast(dict[str, Any], ok(client.get(f"/v1/clients/{client_id}"))["membership"])


def three_clients(bill: TestClient, stripe_api: StripeStub) -> dict[str, str]:
    """acme (gold, active), beta (silver, trialing), gamma (canceled, then a new gold), plus one nobody owns."""
    ids = {name: create_client(bill, name=name, external_refs=[{"system": "stripe", "id": f"cus_{name}"}])["id"]
           for name in ("acme", "beta", "gamma")}
    stripe_api.subscriptions = [
        subscription("cus_acme", sub_id="sub_a"),
        subscription("cus_beta", sub_id="sub_b", status="trialing", price="price_silver"),
        subscription("cus_gamma", sub_id="sub_g_old", status="canceled", price="price_silver"),
        subscription("cus_gamma", sub_id="sub_g_new", price="price_gold"),
        subscription("cus_nobody", sub_id="sub_n"),
    ]
    for sub in stripe_api.subscriptions[:2]:
        assert deliver(bill, event(sub, "customer.subscription.created", created=int(time.time()) - 100)).status_code == 200
    return ids


def put_behind_the_back(bill: TestClient, client_id: str, plan: str, status: str) -> None:
    ok(bill.put(f"/v1/clients/{client_id}/membership", json={"plan": plan, "status": status}))


def test_sync_corrects_a_membership_changed_behind_the_services_back(bill: TestClient, stripe_api: StripeStub) -> None:
    ids = three_clients(bill, stripe_api)
    put_behind_the_back(bill, ids["acme"], "silver", "canceled")
    assert membership(bill, ids["acme"])["rank"] == 0
    report = ok(bill.post("/v1/billing/sync", json={}))
    assert report["checked"] == 5
    changed = {c["client_id"]: c for c in report["changed"]}
    assert set(changed) == {ids["acme"], ids["gamma"]}
    assert (changed[ids["acme"]]["from"]["plan"], changed[ids["acme"]]["from"]["status"]) == ("silver", "canceled")
    assert (changed[ids["acme"]]["to"]["plan"], changed[ids["acme"]]["to"]["status"]) == ("gold", "active")
    # gamma's new gold subscription wins over its old canceled one.
    assert changed[ids["gamma"]]["from"] is None and changed[ids["gamma"]]["to"]["external_ref"] == "sub_g_new"
    assert [u["subscription"] for u in report["unmatched"]] == ["sub_n"]
    assert (membership(bill, ids["acme"])["plan"], membership(bill, ids["acme"])["rank"]) == ("gold", 2)
    assert membership(bill, ids["gamma"])["plan"] == "gold"
    # Stripe was paged through: status=all, then starting_after the last id of each page.
    listed = [r["query"] for r in stripe_api.requests]
    assert all(q["status"] == "all" for q in listed) and len(listed) == 3
    assert [q.get("starting_after") for q in listed] == [None, "sub_b", "sub_g_new"]
    assert all(r["authorization"] == f"Bearer {API_KEY}" for r in stripe_api.requests)
    audit = ok(bill.get(f"/v1/clients/{ids['acme']}/events"))["items"]
    assert any(e["kind"] == "membership.put" and e["actor"].startswith("billing-sync:") for e in audit)
    job = ok(bill.get(f"/v1/jobs/{report['job_id']}"))
    assert job["kind"] == "billing.sync" and job["status"] == "succeeded"
    # Once corrected, a second run finds nothing to do.
    assert ok(bill.post("/v1/billing/sync"))["changed"] == []


def test_dry_run_changes_nothing(bill: TestClient, stripe_api: StripeStub) -> None:
    ids = three_clients(bill, stripe_api)
    put_behind_the_back(bill, ids["acme"], "silver", "canceled")
    report = ok(bill.post("/v1/billing/sync", json={"dry_run": True}))
    assert report["dry_run"] is True
    assert {c["client_id"] for c in report["changed"]} == {ids["acme"], ids["gamma"]}
    assert membership(bill, ids["acme"])["status"] == "canceled"
    assert membership(bill, ids["gamma"])["plan"] is None


def test_an_event_older_than_the_sync_is_not_applied(bill: TestClient, stripe_api: StripeStub) -> None:
    ids = three_clients(bill, stripe_api)
    ok(bill.post("/v1/billing/sync"))
    stale = event(subscription("cus_acme", sub_id="sub_a", status="past_due"), created=int(time.time()) - 3600)
    assert deliver(bill, stale).status_code == 200
    assert membership(bill, ids["acme"])["status"] == "active"


def test_sync_needs_the_admin_scope_and_the_api_key(bill: TestClient, db_url: str) -> None:
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.writer() as session:
            _row, key = create_key(session, name="tech", scopes=["clients:read", "clients:write"], expires_at=None,
                                   actor="test", now=datetime.now(UTC))
            session.commit()
    finally:
        db.dispose()
    assert bill.post("/v1/billing/sync", headers={"Authorization": f"Bearer {key}"}).status_code == 403
    with TestClient(create_app(billing_settings(db_url, stripe_api_key=None)),
                    headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as unconfigured:
        response = unconfigured.post("/v1/billing/sync")
    assert response.status_code == 409 and "SUPPORTGATE_STRIPE_API_KEY" in response.json()["detail"]


def test_stripe_refusing_the_key_is_a_502_not_a_500(db_url: str, stripe_api: StripeStub) -> None:
    settings = billing_settings(db_url, stripe_api_url=stripe_api.url, stripe_api_key="sk_test_wrong")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        response = client.post("/v1/billing/sync")
    assert response.status_code == 502, response.text


def test_cli_sync_prints_the_changes_and_dry_run_changes_nothing(
    bill: TestClient, stripe_api: StripeStub, db_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = three_clients(bill, stripe_api)
    put_behind_the_back(bill, ids["acme"], "silver", "canceled")
    for name, value in {"DATABASE_URL": db_url, "STRIPE_API_KEY": API_KEY, "STRIPE_API_URL": stripe_api.url,
                        "STRIPE_WEBHOOK_SECRET": SECRET}.items():
        monkeypatch.setenv(f"SUPPORTGATE_{name}", value)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        dry = runner.invoke(cli, ["billing", "sync", "--dry-run"], env={"COLUMNS": "200"})
        assert dry.exit_code == 0, dry.output
        assert ids["acme"] in dry.output and "silver / canceled" in dry.output and "gold / active" in dry.output
        assert "would change 2 memberships" in dry.output
        assert membership(bill, ids["acme"])["status"] == "canceled"
        real = runner.invoke(cli, ["billing", "sync"], env={"COLUMNS": "200"})
        assert real.exit_code == 0, real.output
        assert "changed 2 memberships" in real.output
        assert membership(bill, ids["acme"])["status"] == "active"
        again = runner.invoke(cli, ["billing", "sync"], env={"COLUMNS": "200"})
        assert "changed 0 memberships" in again.output
    finally:
        get_settings.cache_clear()


def test_the_scheduled_run_catches_a_lost_webhook(db_url: str, stripe_api: StripeStub) -> None:
    settings = billing_settings(db_url, stripe_api_url=stripe_api.url, billing_sync_interval_seconds=1)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        put_priced_plans(client)
        acme = create_client(client, name="acme", external_refs=[{"system": "stripe", "id": "cus_acme"}])["id"]
        # The customer subscribed; its webhook never arrived.
        stripe_api.subscriptions = [subscription("cus_acme", sub_id="sub_a")]
        deadline = time.monotonic() + 10
        while membership(client, acme)["plan"] != "gold" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert membership(client, acme)["plan"] == "gold"
        scheduled = ok(client.get("/v1/jobs", params={"kind": "billing.sync.scheduled"}))["items"]
        assert scheduled and any(j["status"] == "succeeded" for j in scheduled)


def test_interval_zero_turns_the_scheduled_run_off(db_url: str, stripe_api: StripeStub) -> None:
    settings = billing_settings(db_url, stripe_api_url=stripe_api.url, billing_sync_interval_seconds=0)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        time.sleep(0.5)
        for job in ok(client.get("/v1/jobs", params={"kind": "billing.sync.scheduled"}))["items"]:
            assert job["result"] is None or "skipped" in job["result"]
    assert stripe_api.requests == []
