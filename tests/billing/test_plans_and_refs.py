"""Plans carry external prices (one plan per price); clients carry the Stripe customer (API, import, web page)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage import tables as t
from tests.billing.conftest import billing_settings, map_price
from tests.conftest import ADMIN_KEY
from tests.helpers import app_state, create_client, ok, put_plans
from tests.ui.ui_helpers import make_key, sign_in

pytestmark = pytest.mark.storage


def plans(client: TestClient) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in ok(client.get("/v1/plans"))["items"]}


def test_external_prices_are_stored_listed_and_audited(client: TestClient) -> None:
    put_plans(client)
    gold = plans(client)["gold"]
    assert gold["external_prices"] == []
    answer = ok(map_price(client, gold, "price_gold_m", "price_gold_y"))
    assert answer["external_prices"] == [{"system": "stripe", "id": "price_gold_m"}, {"system": "stripe", "id": "price_gold_y"}]
    assert plans(client)["gold"]["external_prices"] == answer["external_prices"]
    # A PUT without the field keeps them; a list replaces them.
    body = {k: gold[k] for k in ("name", "rank", "monthly_price", "routing", "sla", "active")}
    assert ok(client.put("/v1/plans/gold", json={**body, "name": "Gold+"}))["external_prices"] == answer["external_prices"]
    assert ok(map_price(client, gold, "price_gold_y"))["external_prices"] == [{"system": "stripe", "id": "price_gold_y"}]
    db = app_state(client).db
    with db.reader() as session:
        audited = session.scalars(sa.select(t.Event).where(t.Event.kind == "plan.put", t.Event.subject == "gold")
                                  .order_by(t.Event.seq)).all()
    assert [e.after["external_prices"] for e in audited if e.after] == [
        [], answer["external_prices"], answer["external_prices"], [{"system": "stripe", "id": "price_gold_y"}]]
    assert [e.after["name"] for e in audited if e.after][-2] == "Gold+"


def test_a_price_belongs_to_one_plan(client: TestClient) -> None:
    put_plans(client)
    current = plans(client)
    ok(map_price(client, current["gold"], "price_shared"))
    clash = map_price(client, current["silver"], "price_shared")
    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert plans(client)["silver"]["external_prices"] == []
    # Once gold lets it go, silver may take it.
    ok(map_price(client, current["gold"]))
    assert ok(map_price(client, current["silver"], "price_shared"))["external_prices"][0]["id"] == "price_shared"


def test_bad_external_prices_are_422(client: TestClient) -> None:
    put_plans(client)
    gold = plans(client)["gold"]
    body = {k: gold[k] for k in ("name", "rank", "monthly_price", "routing", "sla", "active")}
    for bad in ([{"system": "stripe"}], [{"system": "", "id": "x"}], "price_gold", [{"system": "stripe", "id": "x", "extra": 1}]):
        assert client.put("/v1/plans/gold", json={**body, "external_prices": bad}).status_code == 422


def test_the_stripe_customer_is_an_external_reference(db_url: str) -> None:
    with TestClient(create_app(billing_settings(db_url)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        made = create_client(api, name="Acme", external_refs=[{"system": "Stripe", "id": "cus_ACME"}])
        assert made["external_refs"] == [{"system": "stripe", "id": "cus_ACME"}]
        # An identifier belongs to one client.
        assert api.post("/v1/clients", json={"name": "Copy", "external_refs": [{"system": "stripe", "id": "cus_ACME"}]}).status_code == 409
        csv_body = "name,emails,external_system,external_id,stripe_customer\nBeta,it@beta.example,halopsa,B-1,cus_BETA\n"
        ok(api.post("/v1/clients/import", content=csv_body, headers={"content-type": "text/csv"}))
        json_import = [{"name": "Gamma", "external_refs": [{"system": "stripe", "id": "cus_GAMMA"}]}]
        ok(api.post("/v1/clients/import", json=json_import))
        found = ok(api.get("/v1/clients", params={"q": "Beta"}))["items"]
        assert {"system": "stripe", "id": "cus_BETA"} in found[0]["external_refs"]
        assert {"system": "halopsa", "id": "B-1"} in found[0]["external_refs"]
        # The web page finds the client by the Stripe id and shows it on the card.
        key = make_key(db_url, "tech", "clients:read")
        with TestClient(api.app) as browser:
            assert sign_in(browser, key).status_code == 303
            results = browser.get("/ui/search/results", params={"q": "cus_ACME"}).text
            assert f"/ui/clients/{made['id']}" in results
            card = browser.get(f"/ui/clients/{made['id']}").text
            assert "stripe" in card and "cus_ACME" in card
