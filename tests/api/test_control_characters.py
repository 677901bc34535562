"""Control characters (NUL included) are refused in every text field, through every door: the API's
bodies, the check's flat fields, the import and the web page's forms."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import SHA, create_client, in_days, iso, ok, publish_contract, put_plans
from tests.ui.ui_helpers import csrf_of, make_key, sign_in

CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\x85"]


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_the_api_refuses_control_characters_in_every_text_field(client: TestClient, control: str) -> None:
    put_plans(client)
    publish_contract(client)
    acme = create_client(client)
    cid = acme["id"]
    bad = f"A{control}B"
    attempts = {
        "client name": client.post("/v1/clients", json={"name": bad}),
        "client phone": client.post("/v1/clients", json={"name": "X", "phones": [f"212555{control}0142"]}),
        "client external ref": client.post("/v1/clients", json={"name": "X", "external_refs": [{"system": bad, "id": "1"}]}),
        "patch name": client.patch(f"/v1/clients/{cid}", json={"name": bad}),
        "membership ref": client.put(f"/v1/clients/{cid}/membership",
                                     json={"plan": "gold", "status": "active", "external_ref": bad}),
        "signer name": client.post(f"/v1/clients/{cid}/acceptances", json={
            "contract_version": "2026.1", "decision": "signed", "signer_name": bad, "signed_at": iso(in_days(0))}),
        "envelope id": client.post(f"/v1/clients/{cid}/signature-requests",
                                   json={"provider": "docusign", "external_id": bad, "contract_version": "2026.1"}),
        "override reason": client.post(f"/v1/clients/{cid}/overrides",
                                       json={"service": "triage", "expires_at": iso(in_days(1)), "reason": bad}),
        "service name": client.put("/v1/services/s1", json={"name": bad, "requires_contract": False, "min_rank": 0}),
        "contract title": client.post("/v1/contracts", json={
            "version": "2030.1", "title": bad, "document_url": "https://example.com/c.pdf", "document_sha256": SHA,
            "grace_days": 1}),
        "check (structured)": client.post("/v1/entitlements/check", json={"client": {"phone": bad}, "service": "triage"}),
        "check (flat)": client.post("/v1/entitlements/check", json={"phone": bad, "service": "triage"}),
        "check (form)": client.post("/v1/entitlements/check", data={"From": bad, "service": "triage"}),
        "check (GET)": client.get("/v1/entitlements/check", params={"ani": bad, "service": "triage"}),
    }
    for where, response in attempts.items():
        assert response.status_code == 422, (where, response.status_code, response.text)
    assert ok(client.get(f"/v1/clients/{cid}"))["membership"]["plan"] is None


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_the_import_refuses_the_row_with_a_control_character(client: TestClient, control: str) -> None:
    rows: list[dict[str, Any]] = [{"name": f"Bad{control}Row"}, {"name": "Good row", "emails": ["ok@example.com"]},
                                  {"name": "Bad phone", "phones": [f"212555{control}0142"]}]
    result = client.post("/v1/clients/import", json=rows)
    if control == "\x00":  # NUL: the whole body is refused before any row is read
        assert result.status_code == 422
        return
    body = ok(result)
    assert body["created"] == 1 and [e["row"] for e in body["errors"]] == [1, 3]
    csv = f"name,emails\nCSV{control}Bad,\nCSV good,good@example.com\n"
    body = ok(client.post("/v1/clients/import", content=csv.encode(), headers={"content-type": "text/csv"}))
    assert body["created"] == 1 and len(body["errors"]) == 1


def test_the_web_page_refuses_control_characters(client: TestClient, settings: Any) -> None:
    publish_contract(client)
    acme = create_client(client)
    browser = TestClient(client.app)
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read", "clients:write"))
    token = csrf_of(browser.get(f"/ui/clients/{acme['id']}").text)
    override = browser.post(f"/ui/clients/{acme['id']}/override", data={
        "csrf_token": token, "service": "triage", "hours": "2", "reason": "because\x1b[31m"})
    assert override.status_code == 422 and "Not saved" in override.text
    signature = browser.post(f"/ui/clients/{acme['id']}/signature", data={
        "csrf_token": token, "contract_version": "2026.1", "signer_name": "Ada\x07", "signed_on": iso(in_days(0))[:10]})
    assert signature.status_code == 422 and "Not saved" in signature.text
    fine = browser.post(f"/ui/clients/{acme['id']}/override", data={
        "csrf_token": token, "service": "triage", "hours": "2", "reason": "line one\r\nline two"})
    assert fine.status_code == 200
