"""GET /v1/reports/unsigned: the rollout campaign list, as JSON pages and as CSV, on both databases."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import create_client, in_days, iso, ok, publish_contract, put_plans, sign
from tests.ui.ui_helpers import make_key

pytestmark = pytest.mark.storage


@pytest.fixture
def campaign(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """New clients get no grace (so they are `unsigned` at once) unless extended; the contract lasts 30 days."""
    app = create_app(make_settings(db_url, new_client_grace_days=0))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        put_plans(api)
        publish_contract(api, grace_days=30, term_days=30, at=datetime.now(UTC) - timedelta(days=60))
        ids = {
            "signed": create_client(api, "Signed Co", emails=["a@signed.example"])["id"],
            "unsigned": create_client(api, "=HYPERLINK(\"x\") Unsigned", emails=["boss@unsigned.example", "it@unsigned.example"])["id"],
            "declined": create_client(api, "Declined Co", emails=["d@declined.example"])["id"],
            "expired": create_client(api, "Expired Co", emails=["e@expired.example"], phones=["(212) 555-0111"])["id"],
            "pending": create_client(api, "Café Ünïcode, Pending", emails=[])["id"],
            "late_pending": create_client(api, "Later Pending Co", emails=["l@later.example"])["id"],
            "archived": create_client(api, "Archived Co", emails=["x@archived.example"])["id"],
        }
        sign(api, ids["signed"])
        sign(api, ids["declined"], decision="declined")
        sign(api, ids["expired"], signed_at=datetime.now(UTC) - timedelta(days=31))
        ok(api.post(f"/v1/clients/{ids['pending']}/grace", json={"until": iso(in_days(5))}))
        ok(api.post(f"/v1/clients/{ids['late_pending']}/grace", json={"until": iso(in_days(20))}))
        ok(api.patch(f"/v1/clients/{ids['archived']}", json={"status": "archived"}))
        yield api, ids


def test_lists_every_active_client_to_chase_soonest_deadline_first(campaign: tuple[TestClient, dict[str, str]]) -> None:
    api, ids = campaign
    page = ok(api.get("/v1/reports/unsigned"))
    names = {item["id"]: item for item in page["items"]}
    assert set(names) == {ids[k] for k in ("unsigned", "declined", "expired", "pending", "late_pending")}
    assert page["next_cursor"] is None
    assert [names[ids[k]]["contract_status"] for k in ("unsigned", "declined", "expired", "pending")] == [
        "unsigned", "declined", "expired", "pending"]
    deadlines = [item["grace_until"] for item in page["items"]]
    assert deadlines == sorted(deadlines)
    assert page["items"][-1]["id"] == ids["late_pending"] and page["items"][-2]["id"] == ids["pending"]
    # Same deadline as the client's own record, and days left rounded up.
    for item in page["items"]:
        assert item["grace_until"] == ok(api.get(f"/v1/clients/{item['id']}"))["contract"]["grace_until"]
    assert names[ids["pending"]]["days_left"] == 5 and names[ids["late_pending"]]["days_left"] == 20
    assert names[ids["unsigned"]]["days_left"] <= 0
    assert names[ids["unsigned"]]["emails"] == ["boss@unsigned.example", "it@unsigned.example"]
    assert names[ids["expired"]]["phones"] == ["+12125550111"]
    assert names[ids["pending"]]["current_version"] == "2026.1"


def test_filters_by_status_and_deadline(campaign: tuple[TestClient, dict[str, str]]) -> None:
    api, ids = campaign
    only = ok(api.get("/v1/reports/unsigned", params={"status": "declined,expired"}))["items"]
    assert {i["id"] for i in only} == {ids["declined"], ids["expired"]}
    soon = ok(api.get("/v1/reports/unsigned", params={"status": "pending", "deadline_before": iso(in_days(10))}))["items"]
    assert [i["id"] for i in soon] == [ids["pending"]]
    later = ok(api.get("/v1/reports/unsigned", params={"deadline_after": iso(datetime.now(UTC))}))["items"]
    assert [i["id"] for i in later] == [ids["pending"], ids["late_pending"]]
    bad = api.get("/v1/reports/unsigned", params={"status": "signed"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    naive = api.get("/v1/reports/unsigned", params={"deadline_before": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert api.get("/v1/reports/unsigned", params={"cursor": "%%%"}).status_code == 422


def test_pages_walk_the_whole_list_once(campaign: tuple[TestClient, dict[str, str]]) -> None:
    api, _ids = campaign
    whole = [i["id"] for i in ok(api.get("/v1/reports/unsigned"))["items"]]
    walked, cursor = [], None
    while True:
        page = ok(api.get("/v1/reports/unsigned", params={"limit": 2, **({"cursor": cursor} if cursor else {})}))
        walked += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == whole and len(walked) == 5


def test_csv_has_one_row_per_client_to_chase(campaign: tuple[TestClient, dict[str, str]]) -> None:
    api, ids = campaign
    answer = api.get("/v1/reports/unsigned", params={"format": "csv", "limit": 1})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")  # so that Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert len(text.removeprefix("\ufeff").splitlines()) == 1 + len(rows)  # no field spills over a line
    json_ids = [i["id"] for i in ok(api.get("/v1/reports/unsigned"))["items"]]
    assert [r["client_id"] for r in rows] == json_ids  # every client once, whatever `limit` says
    by_id = {r["client_id"]: r for r in rows}
    unsigned = by_id[ids["unsigned"]]
    assert unsigned["email"] == "boss@unsigned.example"
    assert unsigned["all_emails"] == "boss@unsigned.example;it@unsigned.example"
    assert unsigned["name"].startswith("'=HYPERLINK")  # never run as a spreadsheet formula
    assert by_id[ids["pending"]]["email"] == "" and by_id[ids["pending"]]["days_left"] == "5"
    assert by_id[ids["pending"]]["name"] == "Café Ünïcode, Pending"
    assert {r["contract_status"] for r in rows} == {"unsigned", "declined", "expired", "pending"}
    filtered = list(csv.DictReader(io.StringIO(
        api.get("/v1/reports/unsigned", params={"format": "csv", "status": "declined"}).content.decode("utf-8-sig"), newline="")))
    assert [r["client_id"] for r in filtered] == [ids["declined"]]


def test_needs_clients_read(campaign: tuple[TestClient, dict[str, str]], db_url: str) -> None:
    api, _ids = campaign
    key = make_key(db_url, "ivr", "entitlements:check")
    answer = api.get("/v1/reports/unsigned", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 403
    reader = make_key(db_url, "manager", "clients:read")
    assert api.get("/v1/reports/unsigned", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    assert api.get("/v1/reports/unsigned", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_nothing_to_chase_before_a_contract_is_published(client: TestClient) -> None:
    create_client(client, "Early Co", emails=["e@early.example"])
    assert ok(client.get("/v1/reports/unsigned")) == {"items": [], "next_cursor": None}

