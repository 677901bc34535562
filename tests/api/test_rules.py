"""Every rule of PRODUCT.md's decision and contract-status tables through the HTTP API: the scenarios, then what an answer adds."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import check, codes, create_client, in_days, iso, now, ok, publish_contract, put_plans, sign
from tests.scenarios import SCENARIOS, Scenario, outcome


def setup_catalog(client: TestClient, **contract: Any) -> None:
    put_plans(client)
    publish_contract(client, **contract)


# ---- the table of scenarios (tests/scenarios.py), also run on the pure domain by tests/unit/test_decision.py --
def scenario_world(client: TestClient, s: Scenario) -> datetime:
    """Build the scenario through the API; its times are days from the returned moment (just before the client)."""
    put_plans(client)
    base = now()
    acme = create_client(client, phones=["2125550142"]) if s.known else None
    for v in s.versions:  # published at 0: now, after the client was created
        publish_contract(client, v.version, grace_days=v.grace_days, term_days=v.term_days,
                         at=base + timedelta(days=v.published) if v.published else None)
    if acme is None:
        return base
    for a in s.answers:
        sign(client, acme["id"], a.version, decision=a.decision, signed_at=base + timedelta(days=a.at) if a.at else None)
    if s.grace_until is not None:
        ok(client.post(f"/v1/clients/{acme['id']}/grace", json={"until": iso(base + timedelta(days=s.grace_until))}))
    if s.membership is not None:
        end = s.membership.period_end
        ok(client.put(f"/v1/clients/{acme['id']}/membership", json={
            "plan": s.membership.plan, "status": s.membership.status,
            "current_period_end": None if end is None else iso(base + timedelta(days=end))}))
    for o in s.overrides:
        given = ok(client.post(f"/v1/clients/{acme['id']}/overrides", json={
            "service": o.service, "expires_at": iso(base + timedelta(days=o.expires)), "reason": "scenario"}), 201)
        if o.revoked:
            ok(client.delete(f"/v1/overrides/{given['id']}"))
    if s.archived:
        ok(client.patch(f"/v1/clients/{acme['id']}", json={"status": "archived"}))
    return base


def answer_of(body: dict[str, Any]) -> dict[str, object]:
    return {
        "allowed": body["allowed"], "reasons": codes(body), "contract_status": body["contract"]["status"],
        "signed_version": body["contract"]["signed_version"], "current_version": body["contract"]["current_version"],
        "upsell": [p["code"] for p in body["upsell"]], "plan": body["membership"]["plan"],
        "rank": body["membership"]["rank"], "routing": (body["routing"]["priority"], body["routing"]["queue"]),
        "sla": (body["sla"]["first_response_minutes"], body["sla"]["onsite_response_hours"]),
        "client": body["client"]["id"] if body["client"] else None,
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(client: TestClient, scenario: Scenario) -> None:
    base = scenario_world(client, scenario)
    at = {"at": base + timedelta(days=scenario.at)} if scenario.at else {}
    phone = "2125550142" if scenario.known else "9175550000"
    assert outcome(scenario.expect, answer_of(check(client, scenario.service, phone=phone, **at))) == scenario.expect


# ---- what an answer says beyond the decision, and what only the API does -----------------------------------
def test_a_check_names_the_client_it_matched(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    decision = check(client, phone="+1 212 555 0142")
    assert decision["client"] == {"id": acme["id"], "name": "Acme Dental", "matched_by": "phone"}


def test_the_grace_deadline_stays_put_once_it_passed(client: TestClient) -> None:
    create_client(client, emails=["office@acme.com"])
    setup_catalog(client, grace_days=30)
    pending = check(client, email="office@acme.com")
    later = check(client, email="office@acme.com", at=in_days(31))
    assert codes(later) == ["CONTRACT_UNSIGNED"] and later["contract"]["grace_until"] == pending["contract"]["grace_until"]


def test_a_grace_extension_answers_the_version_it_extends(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client, grace_days=5)
    body = ok(client.post(f"/v1/clients/{acme['id']}/grace", json={"until": iso(in_days(20))}))
    assert body["contract_version"] == "2026.1"


def test_an_archived_client_made_active_again_is_allowed_again(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    ok(client.patch(f"/v1/clients/{acme['id']}", json={"status": "archived"}))
    assert check(client, phone="2125550142")["allowed"] is False
    ok(client.patch(f"/v1/clients/{acme['id']}", json={"status": "active"}))
    assert check(client, phone="2125550142")["allowed"] is True


def test_overrides_are_listed_active_then_revoked(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client, grace_days=0)
    override = ok(client.post(f"/v1/clients/{acme['id']}/overrides", json={
        "service": "advanced_support", "expires_at": iso(in_days(1)), "reason": "signing today"}), 201)
    assert [o["active"] for o in ok(client.get(f"/v1/clients/{acme['id']}/overrides"))["items"]] == [True]
    assert codes(check(client, phone="2125550142")) == ["OVERRIDE"]
    ok(client.delete(f"/v1/overrides/{override['id']}"))
    assert codes(check(client, phone="2125550142")) == ["CONTRACT_UNSIGNED"]
    assert ok(client.get(f"/v1/clients/{acme['id']}/overrides"))["items"][0]["revoked_at"] is not None


def test_member_sla_deadlines_and_membership_history(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    ok(client.put(f"/v1/clients/{acme['id']}/membership", json={
        "plan": "gold", "status": "active", "current_period_end": iso(in_days(30))}))
    decision = check(client, "priority_onsite", phone="2125550142")
    sla = decision["sla"]
    # Calendar-time targets: the deadlines are the evaluation time plus the targets.
    evaluated = datetime.fromisoformat(decision["evaluated_at"])
    assert datetime.fromisoformat(sla["first_response_due_at"]) == evaluated + timedelta(minutes=60)
    assert datetime.fromisoformat(sla["onsite_due_at"]) == evaluated + timedelta(hours=16)
    ok(client.delete(f"/v1/clients/{acme['id']}/membership"))
    after = check(client, "priority_support", phone="2125550142")
    assert after["allowed"] is False and after["membership"]["status"] == "canceled"
    kinds = [e["kind"] for e in ok(client.get(f"/v1/clients/{acme['id']}/events"))["items"]]
    assert kinds.count("membership.put") == 2


def test_identifiers_email_domain_external_ref(client: TestClient) -> None:
    acme = create_client(client, emails=["office@acme.com"], domains=["acme.com"],
                         external_refs=[{"system": "halopsa", "id": "1042"}])
    assert check(client, email="OFFICE@acme.com")["client"]["matched_by"] == "email"
    by_domain = check(client, email="someone.else@Acme.com")
    assert by_domain["client"]["id"] == acme["id"] and by_domain["client"]["matched_by"] == "domain"
    by_ref = check(client, external_ref={"system": "HaloPSA", "id": "1042"})
    assert by_ref["client"]["id"] == acme["id"] and by_ref["client"]["matched_by"] == "external_ref"
    assert check(client, email="x@other.com")["client"] is None


def test_get_and_batch_forms(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    got = ok(client.get("/v1/entitlements/check", params={"service": "advanced_support", "phone": "(212) 555-0142"}))
    assert got["allowed"] is True and got["client"]["id"] == acme["id"]
    ok(client.get("/v1/entitlements/check", params={"service": "advanced_support", "client_id": acme["id"]}))
    results = ok(client.post("/v1/entitlements/check-batch", json={"items": [
        {"client": {"phone": "2125550142"}, "service": "advanced_support"},
        {"client": {"phone": "2125550142"}, "service": "no_such_service"},
        {"client": {"phone": "9175550000"}, "service": "triage"},
    ]}))["results"]
    assert results[0]["allowed"] is True
    assert results[1]["status"] == 422 and "no_such_service" in results[1]["detail"]
    assert results[2]["allowed"] is True and results[2]["client"] is None
    too_many = client.post("/v1/entitlements/check-batch", json={"items": [{"client": {"id": "x"}, "service": "triage"}] * 101})
    assert too_many.status_code == 422


def test_every_answer_carries_the_documented_fields(client: TestClient) -> None:
    setup_catalog(client)
    decision = check(client, phone="9175550000")
    for field in ("decision_id", "allowed", "service", "reasons", "client", "contract", "membership", "routing", "sla",
                  "upsell", "degraded", "evaluated_at"):
        assert field in decision
    assert decision["evaluated_at"].endswith("+00:00")
    assert decision["degraded"] is False
    assert check(client, phone="9175550000")["decision_id"] != decision["decision_id"]


def test_technician_card_has_one_decision_per_service(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    card = ok(client.get(f"/v1/clients/{acme['id']}/entitlements"))
    services = {item["service"]: item["allowed"] for item in card["items"]}
    assert services == {"triage": True, "remote_support": True, "advanced_support": True, "onsite_support": True,
                        "priority_support": False, "proactive_monitoring": False, "priority_onsite": False}


def test_catalog_changes_apply_at_once(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    assert check(client, "advanced_support", phone="2125550142")["allowed"] is True
    ok(client.put("/v1/services/advanced_support", json={"name": "Advanced", "requires_contract": True, "min_rank": 1}))
    assert codes(check(client, "advanced_support", phone="2125550142")) == ["TIER_REQUIRED"]
    created = client.put("/v1/services/rack_cleaning", json={"name": "Rack cleaning", "requires_contract": False, "min_rank": 0})
    assert created.status_code == 201
    assert check(client, "rack_cleaning", phone="2125550142")["allowed"] is True
