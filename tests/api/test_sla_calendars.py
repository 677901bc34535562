"""SLA deadlines on business-hours calendars, through HTTP on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import create_client, ok

pytestmark = pytest.mark.storage
NY = ZoneInfo("America/New_York")
OFFICE = {
    "name": "New York office", "time_zone": "America/New_York",
    "intervals": [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
    "holidays": {"country": "US"}, "closed_dates": [],
}


def gold(calendar: str | None = "nyc", **sla: Any) -> dict[str, Any]:
    return {
        "name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 14900, "currency": "USD"},
        "routing": {"priority": "high", "queue": "priority"},
        "sla": {"first_response_minutes": 30, "onsite_response_hours": 8, **sla}, "active": True, "calendar": calendar,
    }


def member(client: TestClient) -> str:
    ok(client.put("/v1/calendars/nyc", json=OFFICE), 201)
    ok(client.put("/v1/plans/gold", json=gold(first_response_business_minutes=240, onsite_response_business_hours=8)), 201)
    cid = create_client(client, "Globex Law", phones=["+14155550100"])["id"]
    ok(client.put(f"/v1/clients/{cid}/membership", json={"plan": "gold", "status": "active"}))
    return cast(str, cid)


def check_at(client: TestClient, at: datetime, **extra: Any) -> dict[str, Any]:
    body = {"client": {"phone": "+14155550100"}, "service": "triage", "at": at.isoformat()}
    return cast(dict[str, Any], ok(client.post("/v1/entitlements/check", json=body, params=extra)))


def test_a_member_gets_deadlines_on_the_plans_calendar(client: TestClient) -> None:
    member(client)
    # Friday 16:30: 30 minutes today, the rest on Monday from 08:00.
    answer = check_at(client, datetime(2026, 11, 6, 16, 30, tzinfo=NY))
    sla = answer["sla"]
    assert sla["first_response_due_at"] == "2026-11-09T16:30:00+00:00"  # Monday 11:30 EST
    assert sla["onsite_due_at"] == "2026-11-09T20:30:00+00:00"  # 8 business hours: 30 min + Monday 08:00-15:30 EST
    assert sla["clock"] == "running" and sla["next_open_at"] is None
    assert sla["calendar"] == {"code": "nyc", "version": 1}
    assert sla["first_response_business_minutes"] == 240


def test_outside_hours_the_clock_waits_and_names_the_next_opening(client: TestClient) -> None:
    member(client)
    sla = check_at(client, datetime(2026, 11, 6, 18, 0, tzinfo=NY))["sla"]  # Friday evening
    assert sla["clock"] == "outside_hours"
    assert sla["next_open_at"] == "2026-11-09T13:00:00+00:00"  # Monday 08:00 EST
    assert sla["first_response_due_at"] == "2026-11-09T17:00:00+00:00"  # Monday 12:00 EST


def test_us_holidays_close_the_office(client: TestClient) -> None:
    member(client)
    # Thursday 2026-12-24 16:00: 1 h, then Christmas (Friday) and the weekend, 3 h on Monday.
    sla = check_at(client, datetime(2026, 12, 24, 16, 0, tzinfo=NY))["sla"]
    assert datetime.fromisoformat(sla["first_response_due_at"]) == datetime(2026, 12, 28, 11, 0, tzinfo=NY)
    sla = check_at(client, datetime(2026, 12, 25, 10, 0, tzinfo=NY))["sla"]
    assert sla["clock"] == "outside_hours"


def test_the_flat_answer_carries_the_first_response_deadline(client: TestClient) -> None:
    member(client)
    flat = check_at(client, datetime(2026, 11, 6, 16, 30, tzinfo=NY), format="flat")
    assert flat["first_response_due_at"] == "2026-11-09T16:30:00+00:00"
    got = ok(client.get("/v1/entitlements/check", params={
        "service": "triage", "phone": "+14155550100", "format": "flat", "at": "2026-11-06T16:30:00-05:00"}))
    assert got["first_response_due_at"] == "2026-11-09T16:30:00+00:00"


def test_calendar_time_targets_are_at_plus_target(client: TestClient) -> None:
    ok(client.put("/v1/calendars/nyc", json=OFFICE), 201)
    ok(client.put("/v1/plans/gold", json=gold()), 201)
    cid = create_client(client, "Globex Law", phones=["+14155550100"])["id"]
    ok(client.put(f"/v1/clients/{cid}/membership", json={"plan": "gold", "status": "active"}))
    sla = check_at(client, datetime(2026, 11, 6, 18, 0, tzinfo=NY))["sla"]
    assert sla["first_response_due_at"] == "2026-11-06T23:30:00+00:00"  # 30 min later, closed or not
    assert sla["clock"] == "running" and sla["calendar"] is None


def test_an_edit_makes_a_new_version_and_earlier_answers_keep_theirs(client: TestClient) -> None:
    member(client)
    at = datetime(2026, 11, 6, 16, 30, tzinfo=NY)
    before = check_at(client, at)["sla"]
    assert ok(client.put("/v1/calendars/nyc", json=OFFICE))["version"] == 1  # the same definition: no new version
    later = OFFICE | {"intervals": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]}
    assert ok(client.put("/v1/calendars/nyc", json=later))["version"] == 2
    after = check_at(client, at)["sla"]
    assert after["calendar"] == {"code": "nyc", "version": 2}
    assert after["first_response_due_at"] == "2026-11-09T17:30:00+00:00"  # Monday 12:30: the office opens at 09:00 now
    # The earlier answer named version 1, and version 1 is still there as it was.
    assert before["calendar"] == {"code": "nyc", "version": 1}
    old = ok(client.get("/v1/calendars/nyc", params={"version": 1}))
    assert old["intervals"][0]["start"] == "08:00"
    assert ok(client.get("/v1/calendars/nyc"))["version"] == 2
    events = ok(client.get("/v1/calendars"))["items"]
    assert [(c["code"], c["version"]) for c in events] == [("nyc", 2)]


@pytest.mark.parametrize("change", [
    {"time_zone": "Mars/Olympus"},
    {"time_zone": "EST5EDTX"},
    {"intervals": [{"weekday": 0, "start": "17:00", "end": "08:00"}]},
    {"intervals": [{"weekday": 7, "start": "08:00", "end": "17:00"}]},
    {"intervals": [{"weekday": 0, "start": "8:00", "end": "17:00"}]},
    {"intervals": [{"weekday": 0, "start": "08:00", "end": "12:00"}, {"weekday": 0, "start": "11:00", "end": "17:00"}]},
    {"holidays": {"country": "XX"}},
    {"holidays": {"country": "US", "subdivision": "ZZ"}},
    {"closed_dates": ["2026-02-30"]},
    {"closed_dates": ["tomorrow"]},
])
def test_bad_calendars_are_422(client: TestClient, change: dict[str, Any]) -> None:
    response = client.put("/v1/calendars/bad", json=OFFICE | change)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/calendars/bad").status_code == 404


def test_plans_need_an_existing_calendar_for_business_targets(client: TestClient) -> None:
    response = client.put("/v1/plans/gold", json=gold(calendar=None, first_response_business_minutes=60))
    assert response.status_code == 422, response.text
    response = client.put("/v1/plans/gold", json=gold(calendar="nowhere", first_response_business_minutes=60))
    assert response.status_code == 422, response.text
    assert client.get("/v1/plans").json()["items"] == []


def test_calendars_need_the_admin_scope_to_write(client: TestClient) -> None:
    response = client.put("/v1/calendars/nyc", json=OFFICE, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


@pytest.fixture
def default_calendar_client(db_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(db_url, default_calendar="nyc"))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client


def test_the_default_sla_runs_on_the_default_calendar(default_calendar_client: TestClient) -> None:
    client = default_calendar_client
    ok(client.put("/v1/calendars/nyc", json=OFFICE), 201)
    # An unknown caller at Friday 16:30 gets the default 240 minutes in business time on "nyc".
    body = {"client": {"phone": "+12125550000"}, "service": "triage", "at": "2026-11-06T16:30:00-05:00"}
    sla = ok(client.post("/v1/entitlements/check", json=body))["sla"]
    assert sla["first_response_due_at"] == "2026-11-09T16:30:00+00:00"
    assert sla["calendar"] == {"code": "nyc", "version": 1}


def test_the_card_shows_the_deadlines_in_the_calendars_time_zone(client: TestClient, settings: Any) -> None:
    from tests.ui.ui_helpers import make_key, sign_in

    cid = member(client)
    with TestClient(client.app) as browser:
        sign_in(browser, make_key(settings.database_url, "reader", "clients:read"))
        card = browser.get(f"/ui/clients/{cid}").text
    assert "Due if they call now" in card
    assert "calendar nyc v1 (America/New_York)" in card
    assert " EST" in card or " EDT" in card
