"""Clients: identifiers, 409s, search, changes and their audit trail, import, coverage."""

from fastapi.testclient import TestClient

from tests.helpers import check, create_client, in_days, iso, ok, publish_contract, put_plans, sign


def test_identifiers_are_normalised_and_unique(client: TestClient) -> None:
    acme = create_client(client, emails=["Office@Acme.com"], domains=["ACME.com"], phones=["(212) 555-0142"],
                         external_refs=[{"system": "HaloPSA", "id": "1042"}])
    assert acme["emails"] == ["office@acme.com"] and acme["domains"] == ["acme.com"]
    assert acme["phones"] == ["+12125550142"] and acme["external_refs"] == [{"system": "halopsa", "id": "1042"}]
    for clash in ({"phones": ["212.555.0142"]}, {"emails": ["OFFICE@acme.com"]}, {"domains": ["acme.com"]},
                  {"external_refs": [{"system": "halopsa", "id": "1042"}]}):
        response = client.post("/v1/clients", json={"name": "Other", **clash})
        assert response.status_code == 409, clash
        assert response.headers["content-type"] == "application/problem+json"
    assert ok(client.get("/v1/clients"))["items"][0]["id"] == acme["id"]
    assert len(ok(client.get("/v1/clients"))["items"]) == 1  # nothing half-written


def test_bad_identifiers_are_422_with_every_error(client: TestClient) -> None:
    response = client.post("/v1/clients", json={"name": "Acme", "phones": ["hello"], "emails": ["nope"]})
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["errors"]]
    assert ["body", "emails", 0] in locs and ["body", "phones", 0] in locs


def test_search_by_name_phone_email_external_id_and_filters(client: TestClient) -> None:
    put_plans(client)
    acme = create_client(client, "Acme Dental", phones=["2125550142"], emails=["office@acme.com"],
                         external_refs=[{"system": "halopsa", "id": "AC-77"}])
    globex = create_client(client, "Globex Law", phones=["4155550100"], emails=["it@globex.com"])
    publish_contract(client)
    sign(client, globex["id"])
    ok(client.put(f"/v1/clients/{globex['id']}/membership", json={"plan": "gold", "status": "active"}))

    def ids(**params: str) -> list[str]:
        return [c["id"] for c in ok(client.get("/v1/clients", params=params))["items"]]

    assert ids(q="dental") == [acme["id"]]
    assert ids(q="(212) 555-0142") == [acme["id"]]
    assert ids(q="IT@globex.com") == [globex["id"]]
    assert ids(q="ac-77") == [acme["id"]]
    assert ids(contract_status="signed") == [globex["id"]]
    assert ids(contract_status="pending") == [acme["id"]]
    assert ids(plan="gold") == [globex["id"]]
    bad = client.get("/v1/clients", params={"contract_status": "happy"})
    assert bad.status_code == 422


def test_pagination_with_cursor(client: TestClient) -> None:
    created = [create_client(client, f"Client {i}")["id"] for i in range(5)]
    seen = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = ok(client.get("/v1/clients", params=params))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created) and len(seen) == 5
    assert client.get("/v1/clients", params={"limit": 501}).status_code == 422


def test_changes_replace_identifiers_and_free_them(client: TestClient) -> None:
    acme = create_client(client, phones=["2125550142"])
    changed = ok(client.patch(f"/v1/clients/{acme['id']}", json={"name": "Acme Dental Group", "phones": ["6465550199"]}))
    assert changed["name"] == "Acme Dental Group" and changed["phones"] == ["+16465550199"]
    assert check(client, phone="2125550142")["client"] is None
    assert check(client, phone="6465550199")["client"]["name"] == "Acme Dental Group"
    other = create_client(client, "Other", phones=["2125550142"])  # the freed number can move
    assert check(client, phone="2125550142")["client"]["id"] == other["id"]
    clash = client.patch(f"/v1/clients/{acme['id']}", json={"phones": ["2125550142"]})
    assert clash.status_code == 409
    assert ok(client.get(f"/v1/clients/{acme['id']}"))["phones"] == ["+16465550199"]


def test_every_change_shows_in_the_events_with_the_actor(client: TestClient) -> None:
    put_plans(client)
    publish_contract(client)
    acme = create_client(client, phones=["2125550142"])
    cid = acme["id"]
    ok(client.patch(f"/v1/clients/{cid}", json={"name": "Acme 2"}))
    sign(client, cid)
    ok(client.put(f"/v1/clients/{cid}/membership", json={"plan": "silver", "status": "active"}))
    ok(client.post(f"/v1/clients/{cid}/grace", json={"until": iso(in_days(60))}))
    ov = ok(client.post(f"/v1/clients/{cid}/overrides", json={"service": "triage", "expires_at": iso(in_days(1)),
                                                              "reason": "r"}), 201)
    ok(client.delete(f"/v1/overrides/{ov['id']}"))
    ok(client.post(f"/v1/clients/{cid}/signature-requests", json={"provider": "docusign", "external_id": "env-1",
                                                                  "contract_version": "2026.1"}), 201)
    ok(client.patch(f"/v1/clients/{cid}", json={"status": "archived"}))
    events = ok(client.get(f"/v1/clients/{cid}/events"))["items"]
    kinds = [e["kind"] for e in events]
    assert kinds == ["client.archived", "signature_request.registered", "override.revoked", "override.granted",
                     "grace.extended", "membership.put", "acceptance.signed", "client.updated", "client.created"]
    assert all(e["actor"] == "bootstrap-admin" for e in events)
    assert events[-2]["before"] == {"name": "Acme Dental"} and events[-2]["after"] == {"name": "Acme 2"}
    assert client.delete(f"/v1/clients/{cid}").status_code == 405  # never hard-deleted
    assert ok(client.get(f"/v1/clients/{cid}"))["status"] == "archived"


def test_import_json_and_csv_with_row_errors(client: TestClient) -> None:
    existing = create_client(client, "Old Name", emails=["office@acme.com"])
    csv_body = (
        "name,emails,domains,phones,external_system,external_id\n"
        "Acme Dental,office@acme.com,acme.com,(212) 555-0142,halopsa,1\n"
        "Globex,it@globex.com;boss@globex.com,,415-555-0100,halopsa,2\n"
        "Bad Phone,x@bad.com,,hello,,\n"
        ",nameless@x.com,,,,\n"
        "Clash,y@y.com,,212 555 0142,,\n"
    )
    dry = ok(client.post("/v1/clients/import?dry_run=true", content=csv_body, headers={"content-type": "text/csv"}))
    assert (dry["created"], dry["updated"], dry["unchanged"]) == (1, 1, 0) and dry["dry_run"] is True
    assert len(ok(client.get("/v1/clients"))["items"]) == 1
    result = ok(client.post("/v1/clients/import", content=csv_body, headers={"content-type": "text/csv"}))
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 1, 0)
    assert [e["row"] for e in result["errors"]] == [3, 4, 5]
    assert "phone" in result["errors"][0]["detail"] and "another client" in result["errors"][2]["detail"]
    acme = ok(client.get(f"/v1/clients/{existing['id']}"))
    assert acme["name"] == "Acme Dental" and acme["phones"] == ["+12125550142"]
    assert check(client, email="boss@globex.com")["client"]["name"] == "Globex"
    again = ok(client.post("/v1/clients/import", json=[
        {"name": "Globex", "external_refs": [{"system": "halopsa", "id": "2"}]},
        {"name": "Initech", "emails": ["help@initech.com"]},
        {"nope": 1},
    ]))
    assert (again["created"], again["updated"], again["unchanged"]) == (1, 0, 1)
    assert again["errors"][0]["row"] == 3
    assert client.post("/v1/clients/import", json={"not": "a list"}).status_code == 422
    assert client.post("/v1/clients/import", content="a,b\n1,2\n", headers={"content-type": "text/csv"}).status_code == 422


def test_coverage_report(client: TestClient) -> None:
    put_plans(client)
    publish_contract(client)
    a = create_client(client, "A")
    b = create_client(client, "B")
    create_client(client, "C")
    d = create_client(client, "D")
    sign(client, a["id"])
    sign(client, b["id"])
    sign(client, d["id"], decision="declined")
    ok(client.put(f"/v1/clients/{a['id']}/membership", json={"plan": "gold", "status": "active"}))
    ok(client.put(f"/v1/clients/{b['id']}/membership", json={"plan": "silver", "status": "trialing",
                                                             "current_period_end": iso(in_days(5))}))
    archived = create_client(client, "Gone")
    ok(client.patch(f"/v1/clients/{archived['id']}", json={"status": "archived"}))
    report = ok(client.get("/v1/reports/coverage"))
    assert report["clients_active"] == 4
    assert {k: report["contract"][k] for k in ("signed", "pending", "unsigned", "declined", "expired")} == {
        "signed": 2, "pending": 1, "unsigned": 0, "declined": 1, "expired": 0}
    assert report["signed_pct"] == 50.0
    assert report["members"] == {"gold": 1, "silver": 1}
    assert report["members_pct"] == 50.0
    assert report["rmr"] == {"amount_minor": 14900 + 4900, "currency": "USD"}


def test_contracts_lifecycle(client: TestClient) -> None:
    publish_contract(client, "2025.1")
    assert ok(client.get("/v1/contracts/current"))["version"] == "2025.1"
    ok(client.post("/v1/contracts", json={"version": "2026.1", "title": "t", "document_url": "https://x.test/a.pdf",
                                          "document_sha256": "a" * 64, "grace_days": 14}), 201)
    assert ok(client.get("/v1/contracts/current"))["version"] == "2025.1"
    dup = client.post("/v1/contracts", json={"version": "2026.1", "title": "t", "document_url": "https://x.test/a.pdf",
                                             "document_sha256": "a" * 64, "grace_days": 14})
    assert dup.status_code == 409
    ok(client.post("/v1/contracts/2026.1/publish", json={}))
    states = {c["version"]: c["status"] for c in ok(client.get("/v1/contracts"))["items"]}
    assert states == {"2025.1": "superseded", "2026.1": "current"}
    assert client.post("/v1/contracts/2026.1/publish", json={}).status_code == 409
    assert client.post("/v1/contracts/9.9/publish", json={}).status_code == 404
