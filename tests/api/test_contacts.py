"""Authorized contacts and channels through HTTP (issue 18): identification, refusal, per-channel ranks."""

from __future__ import annotations

from typing import Any, cast

from fastapi.testclient import TestClient

from tests.helpers import codes, create_client, ok, publish_contract, put_plans, sign

OWNER = {"name": "Dr. Ada Molar", "email": "ada@acmedental.com", "phone": "(212) 555-0199", "roles": ["requester", "approver"]}
MANAGER = {"name": "Bob Office", "email": "bob@acmedental.com", "phone": "+1 212 555 0177", "roles": ["approver"]}
BILLING = {"name": "Carol Books", "email": "carol@acmedental.com", "roles": ["billing"]}


def acme(client: TestClient, **extra: Any) -> dict[str, Any]:
    body = {"emails": ["office@acmedental.com"], "domains": ["acmedental.com"], "phones": ["(212) 555-0142"],
            "contacts": [OWNER, MANAGER, BILLING], "restrict_to_contacts": True, **extra}
    return create_client(client, "Acme Dental", **body)


def signed_acme(client: TestClient) -> dict[str, Any]:
    publish_contract(client)
    created = acme(client)
    sign(client, created["id"])
    return created


def post_check(client: TestClient, body: dict[str, Any], **params: Any) -> dict[str, Any]:
    return cast(dict[str, Any], ok(client.post("/v1/entitlements/check", json=body, params=params)))


def test_contacts_are_stored_normalised_and_returned(client: TestClient) -> None:
    created = acme(client)
    assert created["restrict_to_contacts"] is True
    assert created["emails"] == ["office@acmedental.com"] and created["phones"] == ["+12125550142"]
    people = {c["name"]: c for c in ok(client.get(f"/v1/clients/{created['id']}"))["contacts"]}
    assert people["Dr. Ada Molar"]["phone"] == "+12125550199" and people["Dr. Ada Molar"]["roles"] == ["approver", "requester"]
    assert people["Bob Office"]["phone"] == "+12125550177" and people["Carol Books"]["phone"] is None
    # A search by a contact's phone finds the client (the phone is an identifier of the client).
    assert [c["id"] for c in ok(client.get("/v1/clients", params={"q": "212-555-0199"}))["items"]] == [created["id"]]


def test_a_contact_identifier_is_unique_like_the_others(client: TestClient) -> None:
    created = acme(client)
    for clash in ({"phones": ["212 555 0199"]}, {"emails": ["BOB@acmedental.com"]},
                  {"contacts": [{"name": "Eve", "phone": "2125550142", "roles": ["requester"]}]},
                  {"contacts": [{"name": "Eve", "email": "ada@acmedental.com", "roles": ["requester"]}]}):
        response = client.post("/v1/clients", json={"name": "Other", **clash})
        assert response.status_code == 409, (clash, response.text)
    assert len(ok(client.get("/v1/clients"))["items"]) == 1  # nothing half-written
    # Within one client: a contact cannot take the client's own phone either.
    response = client.patch(f"/v1/clients/{created['id']}",
                            json={"contacts": [{"name": "Eve", "phone": "2125550142", "roles": ["requester"]}]})
    assert response.status_code == 409
    bad_role = client.post("/v1/clients", json={"name": "X", "contacts": [{"name": "Y", "roles": ["boss"]}]})
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["loc"][:4] == ["body", "contacts", 0, "roles"]
    bad_phone = client.post("/v1/clients", json={"name": "X", "contacts": [
        {"name": "Y", "phone": "nope", "roles": []}, {"name": "Z", "email": "nope", "roles": []}]})
    assert bad_phone.status_code == 422
    assert [e["loc"] for e in bad_phone.json()["errors"]] == [["body", "contacts", 0, "phone"], ["body", "contacts", 1, "email"]]


def test_patch_replaces_contacts_and_frees_the_old_identifiers(client: TestClient) -> None:
    created = acme(client)
    body = ok(client.patch(f"/v1/clients/{created['id']}", json={"contacts": [OWNER], "restrict_to_contacts": False}))
    assert [c["name"] for c in body["contacts"]] == ["Dr. Ada Molar"] and body["restrict_to_contacts"] is False
    # Bob's phone is free again: another client may hold it.
    create_client(client, "Globex", phones=["+12125550177"])
    kinds = [e["kind"] for e in ok(client.get(f"/v1/clients/{created['id']}/events"))["items"]]
    assert "client.contacts_changed" in kinds


def test_the_owners_mobile_identifies_the_client_and_the_contact(client: TestClient) -> None:
    created = signed_acme(client)
    for form in ({"client": {"phone": "212.555.0199"}, "service": "advanced_support", "channel": "phone"},):
        answer = post_check(client, form)
        assert answer["allowed"] is True
        assert answer["client"] == {"id": created["id"], "name": "Acme Dental", "matched_by": "contact"}
        assert answer["contact"] == {"name": "Dr. Ada Molar", "roles": ["approver", "requester"]}
        assert answer["approvers"] == []
    flat = ok(client.get("/v1/entitlements/check", params={"service": "advanced_support", "From": "+12125550199",
                                                            "format": "flat"}))
    assert flat["contact_name"] == "Dr. Ada Molar" and flat["allowed"] == "true"
    # The client's main line names nobody: allowed, no contact.
    main = post_check(client, {"client": {"phone": "2125550142"}, "service": "advanced_support"})
    assert main["allowed"] is True and main["contact"] is None and main["client"]["matched_by"] == "phone"


def test_an_unknown_colleague_is_refused_advanced_support_with_the_approvers_but_gets_triage(client: TestClient) -> None:
    signed_acme(client)
    asked = {"client": {"email": "dave@acmedental.com"}, "service": "advanced_support", "channel": "email"}
    answer = post_check(client, asked)
    assert answer["allowed"] is False and codes(answer) == ["CONTACT_NOT_AUTHORIZED"]
    assert answer["client"]["matched_by"] == "domain" and answer["contact"] is None
    assert answer["approvers"] == [
        {"name": "Bob Office", "phone": "+12125550177", "email": "bob@acmedental.com"},
        {"name": "Dr. Ada Molar", "phone": "+12125550199", "email": "ada@acmedental.com"},
    ]
    triage = post_check(client, {**asked, "service": "triage"})
    assert triage["allowed"] is True
    # A contact without the role requester is refused too, and named.
    billing = post_check(client, {"client": {"email": "carol@acmedental.com"}, "service": "onsite_support"})
    assert codes(billing) == ["CONTACT_NOT_AUTHORIZED"] and billing["contact"]["name"] == "Carol Books"
    # `contact` beside another identifier: the shared mailbox plus the person asking.
    beside = post_check(client, {"client": {"email": "office@acmedental.com"}, "contact": {"phone": "2125550199"},
                                 "service": "advanced_support"})
    assert beside["allowed"] is True and beside["contact"]["name"] == "Dr. Ada Molar"
    stranger = post_check(client, {"client": {"email": "office@acmedental.com"}, "contact": {"email": "eve@gmail.com"},
                                   "service": "advanced_support"})
    assert codes(stranger) == ["CONTACT_NOT_AUTHORIZED"]
    flat = ok(client.get("/v1/entitlements/check", params={
        "service": "advanced_support", "email": "office@acmedental.com", "contact_email": "eve@gmail.com", "format": "flat"}))
    assert flat["reason"] == "CONTACT_NOT_AUTHORIZED" and flat["route"] == "triage" and flat["contact_name"] == ""


def test_an_unrestricted_client_serves_anyone_from_its_domain(client: TestClient) -> None:
    publish_contract(client)
    created = acme(client, restrict_to_contacts=False)
    sign(client, created["id"])
    answer = post_check(client, {"client": {"email": "dave@acmedental.com"}, "service": "advanced_support"})
    assert answer["allowed"] is True and answer["approvers"] == []


def test_a_channel_may_need_its_own_rank(client: TestClient) -> None:
    put_plans(client)
    ok(client.put("/v1/services/priority_support", json={
        "name": "Priority support", "requires_contract": True, "min_rank": 1, "channel_min_rank": {"phone": 2}}))
    services = {s["code"]: s for s in ok(client.get("/v1/services"))["items"]}
    assert services["priority_support"]["channel_min_rank"] == {"phone": 2}
    publish_contract(client)
    silver = create_client(client, "Silver Co", phones=["4155550100"])
    sign(client, silver["id"])
    ok(client.put(f"/v1/clients/{silver['id']}/membership", json={"plan": "silver", "status": "active"}))

    by_phone = post_check(client, {"client": {"phone": "4155550100"}, "service": "priority_support", "channel": "phone"})
    assert by_phone["allowed"] is False and codes(by_phone) == ["TIER_REQUIRED"]
    assert "phone" in by_phone["reasons"][0]["detail"] and "rank 2" in by_phone["reasons"][0]["detail"]
    assert [p["code"] for p in by_phone["upsell"]] == ["gold"]
    by_mail = post_check(client, {"client": {"phone": "4155550100"}, "service": "priority_support", "channel": "email"})
    assert by_mail["allowed"] is True
    no_channel = post_check(client, {"client": {"phone": "4155550100"}, "service": "priority_support"})
    assert no_channel["allowed"] is True
    # A rank-0 client needs the service's own rank by e-mail, and is shown Silver and Gold.
    nobody = create_client(client, "Nobody Co", phones=["4155550101"])
    sign(client, nobody["id"])
    refused = post_check(client, {"client": {"phone": "4155550101"}, "service": "priority_support", "channel": "email"})
    assert [p["code"] for p in refused["upsell"]] == ["silver", "gold"] and "channel" not in refused["reasons"][0]["detail"]
    flat = ok(client.get("/v1/entitlements/check", params={
        "service": "priority_support", "phone": "4155550100", "channel": "phone", "format": "flat"}))
    assert flat["allowed"] == "false" and flat["upsell"] == "gold"


def test_an_unknown_channel_is_422(client: TestClient) -> None:
    create_client(client, "Acme", phones=["2125550142"])
    for response in (
        client.post("/v1/entitlements/check", json={"client": {"phone": "2125550142"}, "service": "triage", "channel": "fax"}),
        client.post("/v1/entitlements/check", json={"phone": "2125550142", "service": "triage", "channel": "fax"}),
        client.get("/v1/entitlements/check", params={"phone": "2125550142", "service": "triage", "channel": "fax"}),
        client.post("/v1/entitlements/check-batch", json={"items": [
            {"client": {"phone": "2125550142"}, "service": "triage", "channel": "fax"}]}),
        client.put("/v1/services/triage", json={"name": "T", "requires_contract": False, "min_rank": 0,
                                                "channel_min_rank": {"fax": 1}}),
    ):
        if response.request.url.path.endswith("check-batch"):
            assert ok(response)["results"][0]["status"] == 422
            continue
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"


def test_an_import_with_a_contact_phone_of_another_client_fails_that_row_only(client: TestClient) -> None:
    globex = create_client(client, "Globex", phones=["(415) 555-0100"])
    rows: list[dict[str, Any]] = [
        {"name": "Acme Dental", "emails": ["office@acmedental.com"], "restrict_to_contacts": True,
         "contacts": [{"name": "Ada", "phone": "212 555 0199", "roles": ["requester", "approver"]}]},
        {"name": "Initech", "emails": ["it@initech.com"],
         "contacts": [{"name": "Peter", "phone": "415.555.0100", "roles": ["requester"]}]},
        {"name": "Hooli", "emails": ["ops@hooli.com"], "contacts": [{"name": "Gavin", "email": "gavin@hooli.com"}]},
    ]
    result = ok(client.post("/v1/clients/import", json=rows))
    assert result["created"] == 2 and result["updated"] == 0
    assert [e["row"] for e in result["errors"]] == [2] and "+14155550100" in result["errors"][0]["detail"]
    found = {c["name"]: c for c in ok(client.get("/v1/clients"))["items"]}
    assert set(found) == {"Acme Dental", "Hooli", "Globex"}
    assert found["Acme Dental"]["restrict_to_contacts"] is True
    assert found["Acme Dental"]["contacts"][0]["phone"] == "+12125550199"
    assert found["Hooli"]["contacts"][0]["roles"] == []
    assert ok(client.get(f"/v1/clients/{globex['id']}"))["contacts"] == []
    # The same import again changes nothing; a new contact for a known client is added, none removed.
    again = ok(client.post("/v1/clients/import", json=rows[:1] + rows[2:]))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    more = ok(client.post("/v1/clients/import", json=[{**rows[0], "contacts": [{"name": "Bob", "email": "bob@acmedental.com",
                                                                                 "roles": ["approver"]}]}]))
    assert more["updated"] == 1
    acme = ok(client.get(f"/v1/clients/{found['Acme Dental']['id']}"))
    assert sorted(c["name"] for c in acme["contacts"]) == ["Ada", "Bob"]
    answer = post_check(client, {"client": {"phone": "2125550199"}, "service": "triage"})
    assert answer["client"]["matched_by"] == "contact" and answer["contact"]["name"] == "Ada"


def test_a_csv_import_reads_the_contacts_column(client: TestClient) -> None:
    create_client(client, "Globex", phones=["(415) 555-0100"])
    csv_body = (
        "name,emails,phones,contacts,restrict_to_contacts\n"
        'Acme Dental,office@acmedental.com,(212) 555-0142,"Ada Molar|ada@acmedental.com|(212) 555-0199|requester,approver;'
        'Bob||+1 212 555 0177|approver",true\n'
        "Initech,it@initech.com,,Peter||415-555-0100|requester,\n"
        "Bad Roles,x@bad.com,,Zed|||boss,\n"
        "Hooli,ops@hooli.com,,,no\n"
    )
    result = ok(client.post("/v1/clients/import", content=csv_body, headers={"content-type": "text/csv"}))
    assert result["created"] == 2
    assert [e["row"] for e in result["errors"]] == [2, 3]
    assert "belongs to another client" in result["errors"][0]["detail"] and "roles" in result["errors"][1]["detail"]
    acme = next(c for c in ok(client.get("/v1/clients"))["items"] if c["name"] == "Acme Dental")
    assert acme["restrict_to_contacts"] is True
    assert [(c["name"], c["email"], c["phone"], c["roles"]) for c in acme["contacts"]] == [
        ("Ada Molar", "ada@acmedental.com", "+12125550199", ["approver", "requester"]),
        ("Bob", None, "+12125550177", ["approver"]),
    ]
    dry = ok(client.post("/v1/clients/import?dry_run=true", content="name,contacts\nNew Co,Amy|amy@new.co||requester\n",
                         headers={"content-type": "text/csv"}))
    assert dry["created"] == 1 and ok(client.get("/v1/clients", params={"q": "amy@new.co"}))["items"] == []


def test_a_change_of_contacts_shows_in_the_next_check(client: TestClient) -> None:
    created = signed_acme(client)
    asked = {"client": {"phone": "2125550188"}, "service": "advanced_support"}
    assert post_check(client, asked)["client"] is None  # nobody holds that phone yet (and the miss is cached)
    ok(client.patch(f"/v1/clients/{created['id']}", json={"contacts": [
        *[{k: v for k, v in c.items()} for c in (OWNER, MANAGER, BILLING)],
        {"name": "Dan New", "phone": "(212) 555-0188", "roles": ["billing"]}]}))
    refused = post_check(client, asked)
    assert refused["client"]["matched_by"] == "contact" and codes(refused) == ["CONTACT_NOT_AUTHORIZED"]
    ok(client.patch(f"/v1/clients/{created['id']}", json={"restrict_to_contacts": False}))
    assert post_check(client, asked)["allowed"] is True
    ok(client.patch(f"/v1/clients/{created['id']}", json={"contacts": [OWNER]}))
    assert post_check(client, asked)["client"] is None  # the removed contact's phone names nobody any more
