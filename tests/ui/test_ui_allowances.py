"""The client card's allowances: the figures and bar, the ledger, recording a use and granting a block (CSRF)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.helpers import create_client, ok, put_plans
from tests.ui.ui_helpers import csrf_of, make_key, sign_in

PLAN = {
    "name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 14900, "currency": "USD"},
    "routing": {"priority": "high", "queue": "priority"}, "sla": {"first_response_minutes": 30, "onsite_response_hours": 8},
    "allowances": [{"service": "remote_support", "unit": "hours", "amount": 2, "period": "month"}],
}


@pytest.fixture
def card(settings: Settings) -> Iterator[tuple[TestClient, TestClient, str]]:
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api, TestClient(app) as browser:
        put_plans(api)
        ok(api.put("/v1/plans/gold", json=PLAN))
        cid = create_client(api, "Globex Law")["id"]
        ok(api.put(f"/v1/clients/{cid}/membership", json={"plan": "gold", "status": "active"}))
        sign_in(browser, make_key(settings.database_url, "tech", "clients:read", "clients:write"))
        yield api, browser, cid


def form_key(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_card_records_a_use_once_and_shows_the_bar_and_the_ledger(card: tuple[TestClient, TestClient, str]) -> None:
    api, browser, cid = card
    page = browser.get(f"/ui/clients/{cid}").text
    assert "2 hours left this month" in page and 'value="0"' in page  # the bar at 0 %
    fields = {"csrf_token": csrf_of(page), "idempotency_key": form_key(page), "service": "remote_support",
              "units": "1.5", "ticket_ref": "T-42"}
    for _ in range(2):  # a double click: one use
        done = browser.post(f"/ui/clients/{cid}/usage", data=fields, follow_redirects=False)
        assert done.status_code == 303
    after = browser.get(done.headers["location"]).text
    assert "Use recorded." in after and "0.5 hours left this month" in after and 'value="75"' in after
    assert "T-42" in after
    assert len(ok(api.get(f"/v1/clients/{cid}/usage"))["items"]) == 1
    refused = browser.post(f"/ui/clients/{cid}/usage", data={**fields, "idempotency_key": "other", "units": "1"})
    assert refused.status_code == 409 and "Not saved" in refused.text and "left this month" in refused.text
    assert len(ok(api.get(f"/v1/clients/{cid}/usage"))["items"]) == 1


def test_a_block_grant_from_the_card_and_a_form_without_csrf_changes_nothing(card: tuple[TestClient, TestClient, str]) -> None:
    api, browser, cid = card
    page = browser.get(f"/ui/clients/{cid}").text
    grant = {"service": "remote_support", "unit": "hours", "amount": "10", "reason": "prepaid pack", "expires_on": ""}
    assert browser.post(f"/ui/clients/{cid}/allowance-grant", data=grant).status_code == 403
    assert browser.post(f"/ui/clients/{cid}/usage", data={"service": "remote_support", "units": "1",
                                                         "idempotency_key": "x"}).status_code == 403
    assert ok(api.get(f"/v1/clients/{cid}/allowance-grants"))["items"] == []
    done = browser.post(f"/ui/clients/{cid}/allowance-grant", data={**grant, "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303
    after = browser.get(done.headers["location"]).text
    assert "Block of prepaid units granted." in after and "12 hours left this month" in after and "+ 10 granted" in after
    [block] = ok(api.get(f"/v1/clients/{cid}/allowance-grants"))["items"]
    assert block["amount"] == 10 and block["reason"] == "prepaid pack"
