"""Every rule of PRODUCT.md's decision and contract-status tables, through the HTTP API."""

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import check, codes, create_client, in_days, iso, now, ok, publish_contract, put_plans, sign


def setup_catalog(client: TestClient, **contract: Any) -> None:
    put_plans(client)
    publish_contract(client, **contract)


def test_not_configured_allows_with_a_warning(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    decision = check(client, phone="+1 212 555 0142")
    assert decision["allowed"] is True
    assert codes(decision) == ["CONTRACT_NOT_CONFIGURED"]
    assert decision["contract"]["status"] == "not_configured"
    assert decision["client"] == {"id": acme["id"], "name": "Acme Dental", "matched_by": "phone"}


def test_signed_current_version_is_allowed_without_reasons(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    decision = check(client, id=acme["id"])
    assert decision["allowed"] is True and codes(decision) == []
    assert decision["contract"]["status"] == "signed"
    assert decision["contract"]["signed_version"] == "2026.1"


def test_pending_then_unsigned_after_grace(client: TestClient) -> None:
    acme = create_client(client, emails=["office@acme.com"])
    setup_catalog(client, grace_days=30)
    pending = check(client, email="office@acme.com")
    assert pending["allowed"] is True and codes(pending) == ["CONTRACT_PENDING"]
    grace_until = pending["contract"]["grace_until"]
    later = check(client, email="office@acme.com", at=in_days(31))
    assert later["allowed"] is False and codes(later) == ["CONTRACT_UNSIGNED"]
    assert later["contract"]["status"] == "unsigned" and later["contract"]["grace_until"] == grace_until
    assert later["client"]["id"] == acme["id"]


def test_signed_an_older_version_says_which(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    put_plans(client)
    publish_contract(client, "2025.1", at=now() - timedelta(days=1))
    sign(client, acme["id"], "2025.1", signed_at=now() - timedelta(hours=1))
    publish_contract(client, "2026.1", grace_days=10)
    decision = check(client, phone="2125550142", at=in_days(11))
    assert codes(decision) == ["CONTRACT_UNSIGNED"]
    assert decision["contract"]["signed_version"] == "2025.1" and decision["contract"]["current_version"] == "2026.1"


def test_new_clients_get_new_client_grace(client: TestClient) -> None:
    setup_catalog(client, grace_days=0)
    umbrella = create_client(client, name="Umbrella", phones=["3125550123"])
    assert codes(check(client, phone="3125550123", at=in_days(13))) == ["CONTRACT_PENDING"]
    assert codes(check(client, phone="3125550123", at=in_days(15))) == ["CONTRACT_UNSIGNED"]
    assert check(client, id=umbrella["id"], service="triage")["allowed"] is True


def test_grace_extension_for_one_client(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client, grace_days=5)
    body = ok(client.post(f"/v1/clients/{acme['id']}/grace", json={"until": iso(in_days(20))}))
    assert body["contract_version"] == "2026.1"
    assert codes(check(client, phone="2125550142", at=in_days(10))) == ["CONTRACT_PENDING"]
    assert codes(check(client, phone="2125550142", at=in_days(21))) == ["CONTRACT_UNSIGNED"]


def test_declined_then_a_later_signature_wins(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client, at=now() - timedelta(hours=1))  # a signature cannot predate its contract
    sign(client, acme["id"], decision="declined", signed_at=now() - timedelta(minutes=5))
    refused = check(client, phone="2125550142")
    assert refused["allowed"] is False and codes(refused) == ["CONTRACT_DECLINED"]
    sign(client, acme["id"], signed_at=now() - timedelta(minutes=1))
    assert check(client, phone="2125550142")["allowed"] is True


def test_expired_signature(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client, term_days=10)
    sign(client, acme["id"])
    assert check(client, phone="2125550142", at=in_days(9))["contract"]["status"] == "signed"
    expired = check(client, phone="2125550142", at=in_days(11))
    assert expired["allowed"] is False and codes(expired) == ["CONTRACT_EXPIRED"]


def test_unknown_caller_gets_triage_only(client: TestClient) -> None:
    setup_catalog(client)
    refused = check(client, phone="9175550000")
    assert refused["allowed"] is False and codes(refused) == ["UNKNOWN_CLIENT"] and refused["client"] is None
    allowed = check(client, "triage", phone="9175550000")
    assert allowed["allowed"] is True and codes(allowed) == ["UNKNOWN_CLIENT"]


def test_archived_client_is_inactive(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    ok(client.patch(f"/v1/clients/{acme['id']}", json={"status": "archived"}))
    refused = check(client, phone="2125550142")
    assert refused["allowed"] is False and codes(refused) == ["CLIENT_INACTIVE"]
    assert check(client, "triage", phone="2125550142")["allowed"] is True
    ok(client.patch(f"/v1/clients/{acme['id']}", json={"status": "active"}))
    assert check(client, phone="2125550142")["allowed"] is True


def test_override_then_revoked(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client, grace_days=0)
    assert codes(check(client, phone="2125550142")) == ["CONTRACT_UNSIGNED"]
    override = ok(client.post(f"/v1/clients/{acme['id']}/overrides", json={
        "service": "advanced_support", "expires_at": iso(in_days(1)), "reason": "signing today"}), 201)
    allowed = check(client, phone="2125550142")
    assert allowed["allowed"] is True and codes(allowed) == ["OVERRIDE"]
    assert codes(check(client, phone="2125550142", at=in_days(2))) == ["CONTRACT_UNSIGNED"]
    assert codes(check(client, "onsite_support", phone="2125550142")) == ["CONTRACT_UNSIGNED"]
    listed = ok(client.get(f"/v1/clients/{acme['id']}/overrides"))["items"]
    assert [o["active"] for o in listed] == [True]
    ok(client.delete(f"/v1/overrides/{override['id']}"))
    assert codes(check(client, phone="2125550142")) == ["CONTRACT_UNSIGNED"]
    assert ok(client.get(f"/v1/clients/{acme['id']}/overrides"))["items"][0]["revoked_at"] is not None


def test_tier_required_names_the_plans(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    refused = check(client, "priority_support", phone="2125550142")
    assert refused["allowed"] is False and codes(refused) == ["TIER_REQUIRED"]
    assert [p["code"] for p in refused["upsell"]] == ["silver", "gold"]
    assert [p["code"] for p in check(client, "priority_onsite", phone="2125550142")["upsell"]] == ["gold"]


def test_member_routing_sla_and_membership_history(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    ok(client.put(f"/v1/clients/{acme['id']}/membership", json={
        "plan": "gold", "status": "active", "current_period_end": iso(in_days(30))}))
    decision = check(client, "priority_onsite", phone="2125550142")
    assert decision["allowed"] is True
    assert decision["membership"]["plan"] == "gold" and decision["membership"]["rank"] == 2
    assert decision["routing"] == {"priority": "high", "queue": "priority"}
    sla = decision["sla"]
    assert (sla["first_response_minutes"], sla["onsite_response_hours"]) == (60, 16)
    # Calendar-time targets: the deadlines are the evaluation time plus the targets.
    evaluated = datetime.fromisoformat(decision["evaluated_at"])
    assert datetime.fromisoformat(sla["first_response_due_at"]) == evaluated + timedelta(minutes=60)
    assert datetime.fromisoformat(sla["onsite_due_at"]) == evaluated + timedelta(hours=16)
    assert codes(check(client, "priority_onsite", phone="2125550142", at=in_days(31))) == ["TIER_REQUIRED"]
    ok(client.delete(f"/v1/clients/{acme['id']}/membership"))
    after = check(client, "priority_support", phone="2125550142")
    assert after["allowed"] is False and after["membership"]["status"] == "canceled"
    kinds = [e["kind"] for e in ok(client.get(f"/v1/clients/{acme['id']}/events"))["items"]]
    assert kinds.count("membership.put") == 2


def test_past_due_within_dunning_grace_warns(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    setup_catalog(client)
    sign(client, acme["id"])
    ok(client.put(f"/v1/clients/{acme['id']}/membership", json={
        "plan": "silver", "status": "past_due", "current_period_end": iso(now() - timedelta(days=1))}))
    inside = check(client, "priority_support", phone="2125550142")
    assert inside["allowed"] is True and codes(inside) == ["MEMBERSHIP_PAST_DUE"]
    assert codes(check(client, "priority_support", phone="2125550142", at=in_days(7))) == ["TIER_REQUIRED"]


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
