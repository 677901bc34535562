"""Allowances through HTTP on both databases: plan allowances, uses, idempotency, policies, periods, blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from fastapi.testclient import TestClient

from tests.helpers import codes, create_client, ok, put_plans

PLAN = {
    "name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 14900, "currency": "USD"},
    "routing": {"priority": "high", "queue": "priority"}, "sla": {"first_response_minutes": 30, "onsite_response_hours": 8},
}
DEC = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)


def member(client: TestClient, allowance: dict[str, Any], name: str = "Acme Dental") -> str:
    """A Gold member whose plan has this one allowance of remote_support; returns the client id."""
    put_plans(client)
    ok(client.put("/v1/plans/gold", json={**PLAN, "allowances": [{"service": "remote_support", **allowance}]}))
    acme = create_client(client, name)
    ok(client.put(f"/v1/clients/{acme['id']}/membership", json={"plan": "gold", "status": "active"}))
    return str(acme["id"])


def use(
    client: TestClient, cid: str, units: float | str = 1, key: str = "t-1", at: datetime | None = DEC, **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {"service": "remote_support", "units": units, "idempotency_key": key, **extra}
    if at is not None:
        body["at"] = at.isoformat()
    return client.post(f"/v1/clients/{cid}/usage", json=body)


def check(client: TestClient, cid: str, at: datetime = DEC, **extra: Any) -> dict[str, Any]:
    body = {"client": {"id": cid}, "service": "remote_support", "at": at.isoformat(), **extra}
    return cast(dict[str, Any], ok(client.post("/v1/entitlements/check", json=body)))


def ledger(client: TestClient, cid: str) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], ok(client.get(f"/v1/clients/{cid}/usage?limit=500"))["items"])


def test_plan_allowances_are_stored_and_validated(client: TestClient) -> None:
    put_plans(client)
    allowance = {"service": "remote_support", "unit": "hours", "amount": 7.5, "period": "quarter", "rollover_max": 2.25}
    plan = ok(client.put("/v1/plans/gold", json={**PLAN, "allowances": [allowance]}))
    assert plan["allowances"] == [{**allowance, "overage": "refuse", "warn_at_pct": 80}]
    assert ok(client.put("/v1/plans/gold", json=PLAN))["allowances"] == plan["allowances"]  # omitted: unchanged
    for bad, where in (
        ({**allowance, "unit": "incidents", "amount": 1.5}, "amount"),
        ({**allowance, "amount": 0.1}, "amount"),
        ({**allowance, "service": "nope"}, "service"),
        ({**allowance, "overage": "maybe"}, "overage"),
    ):
        problem = client.put("/v1/plans/gold", json={**PLAN, "allowances": [bad]})
        assert problem.status_code == 422, problem.text
        assert where in str(problem.json()["errors"])
    twice = client.put("/v1/plans/gold", json={**PLAN, "allowances": [allowance, allowance]})
    assert twice.status_code == 422


def test_a_use_is_recorded_once_per_key_and_answers_the_same(client: TestClient) -> None:
    cid = member(client, {"unit": "incidents", "amount": 3, "period": "month"})
    first = ok(use(client, cid, key="call-1", ticket_ref="T-9"), 201)
    assert first["units"] == 1 and first["overage_units"] == 0 and first["usage_id"].startswith("use")
    assert first["allowance"]["used"] == 1 and first["allowance"]["remaining"] == 2
    again = [use(client, cid, key="call-1", ticket_ref="T-9") for _ in range(9)]
    assert [r.status_code for r in again] == [200] * 9
    assert all(r.json() == first for r in again)
    [entry] = ledger(client, cid)
    assert entry["ticket_ref"] == "T-9" and entry["kind"] == "use"
    other = use(client, cid, key="call-1", service="onsite_support")
    assert other.status_code == 409
    events = ok(client.get(f"/v1/clients/{cid}/events"))["items"]
    assert [e["kind"] for e in events].count("allowance.use") == 1


def test_refuse_policy_refuses_the_use_and_the_check(client: TestClient) -> None:
    cid = member(client, {"unit": "incidents", "amount": 2, "period": "month", "warn_at_pct": 50})
    assert check(client, cid)["allowance"]["state"] == "ok"
    ok(use(client, cid, key="a"), 201)
    low = check(client, cid)
    assert low["allowed"] and "ALLOWANCE_LOW" in codes(low) and low["allowance"]["state"] == "low"
    ok(use(client, cid, key="b"), 201)
    refused = use(client, cid, key="c")
    assert refused.status_code == 409
    assert refused.json()["code"] == "ALLOWANCE_EXHAUSTED"
    assert len(ledger(client, cid)) == 2  # nothing recorded
    decision = check(client, cid)
    assert not decision["allowed"] and codes(decision) == ["ALLOWANCE_EXHAUSTED"]
    assert decision["allowance"]["state"] == "exhausted" and decision["allowance"]["remaining"] == 0
    assert decision["allowance"]["sentence"] == "no incidents left this month"
    flat = ok(client.get(f"/v1/entitlements/check?client_id={cid}&service=remote_support&format=flat&at={DEC.isoformat()}"
                         .replace("+", "%2B")))
    assert flat["allowance_state"] == "exhausted" and flat["allowance_remaining"] == "0" and flat["route"] == "triage"
    assert flat["allowance_unit"] == "incidents"


def test_units_on_the_check_and_fractional_hours(client: TestClient) -> None:
    cid = member(client, {"unit": "hours", "amount": 4, "period": "month", "warn_at_pct": 90})
    ok(use(client, cid, units=1.5, key="h1"), 201)
    decision = check(client, cid)
    assert decision["allowed"] and decision["allowance"]["remaining"] == 2.5
    assert decision["allowance"]["sentence"] == "2.5 hours left this month"
    assert not check(client, cid, units=2.75)["allowed"]
    assert check(client, cid, units=2.5)["allowed"]
    for bad in (0.1, 0, -1, "x"):
        assert use(client, cid, units=bad, key=f"bad-{bad}").status_code == 422
    problem = client.post("/v1/entitlements/check", json={"client": {"id": cid}, "service": "remote_support", "units": 0.3})
    assert problem.status_code == 422
    assert ok(use(client, cid, units=2.5, key="h2"), 201)["allowance"]["state"] == "exhausted"


def test_approval_policy_needs_an_override(client: TestClient) -> None:
    cid = member(client, {"unit": "visits", "amount": 1, "period": "month", "overage": "approval"})
    ok(use(client, cid, key="v1", at=None), 201)
    now = datetime.now(UTC)
    decision = check(client, cid, at=now)
    assert not decision["allowed"] and codes(decision) == ["APPROVAL_REQUIRED"]
    refused = use(client, cid, key="v2", at=None)
    assert refused.status_code == 409 and refused.json()["code"] == "APPROVAL_REQUIRED"
    ok(client.post(f"/v1/clients/{cid}/overrides", json={
        "service": "remote_support", "expires_at": "2099-01-01T00:00:00+00:00", "reason": "approved by the manager"}), 201)
    through = check(client, cid, at=datetime.now(UTC))
    assert through["allowed"] and codes(through) == ["OVERRIDE"] and through["allowance"]["state"] == "exhausted"
    approved = ok(use(client, cid, key="v2", at=None), 201)
    assert approved["overage_units"] == 1 and approved["allowance"]["state"] == "overage"


def test_allow_policy_records_the_overage(client: TestClient) -> None:
    cid = member(client, {"unit": "hours", "amount": 1, "period": "month", "overage": "allow"})
    over = ok(use(client, cid, units=1.5, key="o1"), 201)
    assert over["overage_units"] == 0.5 and over["allowance"]["state"] == "overage"
    decision = check(client, cid)
    assert decision["allowed"] and "ALLOWANCE_OVERAGE" in codes(decision)
    assert decision["allowance"]["overage"] == 0.5 and decision["allowance"]["remaining"] == 0
    assert ledger(client, cid)[0]["overage_units"] == 0.5


def test_the_period_rolls_at_the_boundary_with_rollover(client: TestClient) -> None:
    cid = member(client, {"unit": "incidents", "amount": 3, "period": "month", "rollover_max": 1})
    this_month = period_start(datetime.now(UTC))
    next_month = period_start(this_month + timedelta(days=40))
    after_that = period_start(next_month + timedelta(days=40))
    ok(use(client, cid, key="m0", at=this_month + timedelta(days=2)), 201)  # 2 unused: 1 rolls over
    for i in range(4):  # next month: 3 included + 1 rolled over
        ok(use(client, cid, key=f"m1-{i}", at=next_month + timedelta(days=3)), 201)
    assert use(client, cid, key="m1-5", at=next_month + timedelta(days=3)).status_code == 409
    last_moment = check(client, cid, at=after_that - timedelta(seconds=1))
    assert codes(last_moment) == ["ALLOWANCE_EXHAUSTED"]
    assert last_moment["allowance"]["rollover"] == 1 and last_moment["allowance"]["used"] == 4
    first_moment = check(client, cid, at=after_that)
    assert first_moment["allowed"] and first_moment["allowance"]["remaining"] == 3 and first_moment["allowance"]["rollover"] == 0
    assert first_moment["allowance"]["period_start"] == after_that.isoformat()
    assert ok(use(client, cid, key="m2", at=after_that), 201)["allowance"]["remaining"] == 2


def period_start(at: datetime) -> datetime:
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def test_reversal_restores_what_the_use_took(client: TestClient) -> None:
    cid = member(client, {"unit": "hours", "amount": 2, "period": "month"})
    ok(client.post(f"/v1/clients/{cid}/allowance-grants", json={
        "service": "remote_support", "unit": "hours", "amount": 3, "reason": "prepaid block"}), 201)
    taken = ok(use(client, cid, units=3.5, key="r1"), 201)
    assert taken["allowance"]["remaining"] == 1.5
    [block] = ok(client.get(f"/v1/clients/{cid}/allowance-grants"))["items"]
    assert block["used"] == 1.5 and block["remaining"] == 1.5
    reversed_ = ok(client.post(f"/v1/usage/{taken['usage_id']}/reverse", json={"reason": "logged on the wrong client"}), 201)
    assert reversed_["allowance"]["remaining"] == 5 and reversed_["reverses"] == taken["usage_id"]
    assert ok(client.get(f"/v1/clients/{cid}/allowance-grants"))["items"][0]["used"] == 0
    again = client.post(f"/v1/usage/{taken['usage_id']}/reverse", json={"reason": "twice"})
    assert again.status_code == 409
    assert client.post(f"/v1/usage/{reversed_['usage_id']}/reverse", json={"reason": "x"}).status_code == 409
    assert [e["kind"] for e in ledger(client, cid)] == ["reversal", "use"]
    assert check(client, cid)["allowance"]["remaining"] == 5


def test_blocks_are_used_soonest_expiring_first_and_alone_make_an_allowance(client: TestClient) -> None:
    put_plans(client)
    cid = create_client(client)["id"]
    assert check(client, cid)["allowance"] is None
    assert use(client, cid, key="none").status_code == 422
    late = ok(client.post(f"/v1/clients/{cid}/allowance-grants", json={
        "service": "remote_support", "unit": "hours", "amount": 2, "reason": "late", "expires_at": "2099-01-01T00:00:00Z"}), 201)
    soon = ok(client.post(f"/v1/clients/{cid}/allowance-grants", json={
        "service": "remote_support", "unit": "hours", "amount": 1, "reason": "soon", "expires_at": "2098-01-01T00:00:00Z"}), 201)
    ok(use(client, cid, units=1.25, key="b1", at=None), 201)
    grants = {g["id"]: g for g in ok(client.get(f"/v1/clients/{cid}/allowance-grants"))["items"]}
    assert grants[soon["id"]]["used"] == 1 and grants[late["id"]]["used"] == 0.25
    decision = check(client, cid, at=datetime.now(UTC))
    assert decision["allowance"]["granted"] == 3 and decision["allowance"]["remaining"] == 1.75
    bad = client.post(f"/v1/clients/{cid}/allowance-grants", json={
        "service": "remote_support", "unit": "visits", "amount": 0.5, "reason": "x"})
    assert bad.status_code == 422


def test_the_ledger_pages_and_filters(client: TestClient) -> None:
    cid = member(client, {"unit": "incidents", "amount": 100, "period": "month"})
    for i in range(5):
        ok(use(client, cid, key=f"p{i}"), 201)
    first = ok(client.get(f"/v1/clients/{cid}/usage?limit=2&service=remote_support"))
    second = ok(client.get(f"/v1/clients/{cid}/usage?limit=2&service=remote_support&cursor={first['next_cursor']}"))
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert {i["usage_id"] for i in first["items"]}.isdisjoint({i["usage_id"] for i in second["items"]})
    assert ok(client.get(f"/v1/clients/{cid}/usage?service=onsite_support"))["items"] == []


def test_coverage_reports_units_used_and_clients_at_warning(client: TestClient) -> None:
    now = datetime.now(UTC)
    cid = member(client, {"unit": "incidents", "amount": 2, "period": "month"})
    other = create_client(client, "Other")["id"]
    ok(client.put(f"/v1/clients/{other}/membership", json={"plan": "gold", "status": "active"}))
    ok(use(client, cid, units=2, key="c1", at=now), 201)
    ok(use(client, other, units=1, key="c2", at=now), 201)
    report = ok(client.get("/v1/reports/coverage"))
    [gold] = report["allowances"]["gold"]
    assert gold["service"] == "remote_support" and gold["used"] == 3 and gold["clients_at_warning"] == 1
