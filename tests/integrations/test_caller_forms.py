"""Issue 8, points 1-3: caller id in every form, the flat answer, Basic and X-API-Key auth (both databases)."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import ok
from tests.integrations.fixtures import US_PHONE, gold_member, london_client, make_key

FLAT_KEYS = {
    "allowed", "found", "client_id", "client_name", "service", "reason", "contract_status", "grace_until", "plan", "rank",
    "priority", "queue", "route", "first_response_minutes", "normalized_phone", "degraded", "decision_id",
}

US_FORMS = [
    "+13175550125",
    " 13175550125",  # '+' sent unencoded in a query string arrives as a space
    "13175550125",  # 3CX "Off"
    "3175550125",  # national
    "(317) 555-0125",
    "317.555.0125",
    "+1 317-555-0125",
    "0013175550125",  # 3CX "Zeros"
    "011 1 317 555 0125",
    "tel:+13175550125",  # Genesys Cloud
    "tel:+1-317-555-0125;phone-context=example.com",
    "sip:+13175550125@pbx.example.com;user=phone",
    "sips:3175550125@10.0.0.7:5061",
]
UK_FORMS = ["+44 20 7946 0958", "0044 20 7946 0958", "011 44 20 7946 0958", "tel:+442079460958", "sip:+442079460958@sbc.example"]
WITHHELD = ["", "anonymous", "Anonymous", "restricted", "RESTRICTED", "unknown", "+266696687", "266696687"]


def flat_get(client: TestClient, **params: str) -> dict[str, Any]:
    answer = client.get("/v1/entitlements/check", params={"service": "advanced_support", "format": "flat", **params})
    return cast(dict[str, Any], ok(answer))


def test_every_caller_id_form_and_alias_reaches_the_client(client: TestClient) -> None:
    acme = gold_member(client)
    london = london_client(client)
    for form in US_FORMS:
        for alias in ("phone", "From", "Caller", "ani"):
            answer = flat_get(client, **{alias: form})
            assert (answer["client_id"], answer["normalized_phone"]) == (acme["id"], US_PHONE), (alias, form, answer)
            assert answer["allowed"] == "true" and answer["route"] == "priority"
    for form in UK_FORMS:
        answer = flat_get(client, phone=form)
        assert answer["client_id"] == london["id"], (form, answer)
        assert answer["normalized_phone"] == "+442079460958"
        assert (answer["allowed"], answer["route"], answer["reason"]) == ("true", "standard", "CONTRACT_PENDING")


def test_post_json_and_form_bodies_with_aliases_and_flat_format(client: TestClient) -> None:
    acme = gold_member(client)
    # Twilio Studio / webhooks: a form body with From, the service in the query.
    form = client.post("/v1/entitlements/check?service=advanced_support&format=flat",
                       data={"From": "+13175550125", "To": "+18005550100", "CallSid": "CA123"})
    assert ok(form)["client_id"] == acme["id"] and form.json()["allowed"] == "true"
    for alias in ("phone", "From", "Caller", "ani"):
        body = ok(client.post("/v1/entitlements/check", json={alias: "tel:+13175550125", "service": "advanced_support"}))
        assert body["client"]["id"] == acme["id"] and body["allowed"] is True, alias
        flat = ok(client.post("/v1/entitlements/check", params={"format": "flat"},
                              content=f"{alias}=sip%3A%2B13175550125%40pbx&service=advanced_support",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}))
        assert flat["client_id"] == acme["id"], alias


@pytest.mark.parametrize("withheld", WITHHELD)
def test_withheld_caller_ids_are_unknown_callers_sent_to_triage(client: TestClient, withheld: str) -> None:
    gold_member(client)
    flat = flat_get(client, From=withheld)
    assert (flat["found"], flat["allowed"], flat["route"], flat["reason"], flat["client_id"]) == (
        "false", "false", "triage", "UNKNOWN_CLIENT", "")
    posted = ok(client.post("/v1/entitlements/check", data={"Caller": withheld, "service": "triage"}))
    assert posted["client"] is None and posted["allowed"] is True  # triage is open to unknown callers


@pytest.mark.parametrize("junk", ["hello", "12", "sip:alice@example.com", "not a number 1"])
def test_text_that_is_no_phone_number_is_a_422(client: TestClient, junk: str) -> None:
    gold_member(client)
    for response in (
        client.get("/v1/entitlements/check", params={"service": "advanced_support", "ani": junk, "format": "flat"}),
        client.post("/v1/entitlements/check", data={"From": junk, "service": "advanced_support"}),
    ):
        assert response.status_code == 422, (junk, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_flat_answer_is_strings_only_documented_keys_under_1kb(client: TestClient) -> None:
    acme = gold_member(client)
    answers = [
        flat_get(client, phone=US_PHONE),  # allowed member
        flat_get(client, phone="+19995550100"),  # unknown: the keys with nothing to say are empty strings
        flat_get(client, phone="anonymous"),
        ok(client.post("/v1/entitlements/check?format=flat", json={"client": {"id": acme["id"]}, "service": "priority_onsite"})),
    ]
    # A long multi-byte name and many upsell plans must still fit.
    ok(client.patch(f"/v1/clients/{acme['id']}", json={"name": "Zahnärztliche Gemeinschaftspraxis 🦷 " * 8}))
    for code in range(12):
        ok(client.put(f"/v1/plans/platinum-{code:02d}-extended-care", json={
            "name": f"P{code}", "rank": 3 + code, "monthly_price": {"amount_minor": 1, "currency": "USD"},
            "routing": {"priority": "urgent", "queue": "vip"}, "sla": {"first_response_minutes": 5, "onsite_response_hours": 1},
            "active": True}), 201)
    ok(client.delete(f"/v1/clients/{acme['id']}/membership"))
    answers.append(ok(client.post("/v1/entitlements/check?format=flat", json={"phone": US_PHONE, "service": "priority_onsite"})))
    for answer in answers:
        assert FLAT_KEYS <= answer.keys()
        assert all(isinstance(v, str) for v in answer.values()), answer
        assert len(json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()) < 1024  # as sent
    member, unknown, withheld, by_id, long_name = answers
    assert member["allowed"] == "true" and member["plan"] == "gold" and member["priority"] == "high"
    assert member["first_response_minutes"] == "60" and member["degraded"] == "false" and member["decision_id"]
    assert unknown["found"] == "false" and unknown["client_name"] == "" and unknown["grace_until"] == ""
    assert unknown["normalized_phone"] == "+19995550100" and withheld["normalized_phone"] == ""
    assert by_id["service"] == "priority_onsite" and by_id["route"] == "priority"
    assert long_name["client_name"].startswith("Zahnärztliche Gemeinschaftspraxis") and long_name["route"] == "triage"
    assert long_name["reason"] == "TIER_REQUIRED" and long_name["upsell"].startswith("gold,platinum-00")


def test_flat_answer_has_its_own_schema_in_openapi(client: TestClient) -> None:
    schema = ok(client.get("/openapi.json"))
    flat = schema["components"]["schemas"]["FlatDecision"]
    assert FLAT_KEYS <= set(flat["required"])
    assert all(prop["type"] == "string" for prop in flat["properties"].values())
    get_200 = schema["paths"]["/v1/entitlements/check"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/FlatDecision"} in get_200["anyOf"]


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_and_x_api_key_with_the_same_scopes_and_statuses(db_url: str) -> None:
    checker = make_key(db_url, "ivr", ["entitlements:check"])
    reader = make_key(db_url, "tech", ["clients:read"])
    with TestClient(create_app(make_settings(db_url)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        acme = gold_member(admin)
    params = {"service": "advanced_support", "From": "+13175550125", "format": "flat"}
    with TestClient(create_app(make_settings(db_url))) as anon:
        def get(headers: dict[str, str]) -> Any:
            return anon.get("/v1/entitlements/check", params=params, headers=headers)

        def post(headers: dict[str, str]) -> Any:
            return anon.post("/v1/entitlements/check", params={"format": "flat"}, headers=headers,
                             data={"From": "+13175550125", "service": "advanced_support"})

        for call in (get, post):
            for good in (_basic("twilio", checker), _basic("", checker), {"X-API-Key": checker}, {"Authorization": f"Bearer {checker}"}):
                assert ok(call(good))["client_id"] == acme["id"], good
            for wrong_scope in (_basic("tech", reader), {"X-API-Key": reader}):
                response = call(wrong_scope)
                assert response.status_code == 403 and response.headers["content-type"] == "application/problem+json"
            for unknown in (_basic("twilio", "sg_wrong"), {"X-API-Key": "sg_wrong"}, {"Authorization": "Basic !!notbase64"}, {}):
                response = call(unknown)
                assert response.status_code == 401, unknown
                assert "Basic" in response.headers["www-authenticate"]
        # never in the query string
        for name in ("api_key", "key", "apikey", "token", "X-API-Key"):
            assert anon.get("/v1/entitlements/check", params={**params, name: checker}).status_code == 401
        # the Basic/X-API-Key key still carries only its scopes elsewhere
        assert anon.get("/v1/clients", headers={"X-API-Key": checker}).status_code == 403
        assert anon.get("/v1/clients", headers=_basic("me", reader)).status_code == 200


def test_national_numbers_follow_the_configured_default_region(db_url: str) -> None:
    settings = make_settings(db_url, default_region="GB")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        london = london_client(client)
        sheffield = ok(client.post("/v1/clients", json={"name": "Sheffield Steel", "phones": ["0114 496 0000"]}), 201)
        for form, expected in (("020 7946 0958", london["id"]), ("+44 20 7946 0958", london["id"]),
                               ("0114 496 0000", sheffield["id"]), ("00441144960000", sheffield["id"])):
            answer = ok(client.post("/v1/entitlements/check?format=flat", data={"From": form, "service": "triage"}))
            assert answer["client_id"] == expected, (form, answer)
        assert ok(client.get("/v1/entitlements/check", params={"service": "triage", "Caller": "+13175550125", "format": "flat"}))[
            "normalized_phone"] == "+13175550125"
