"""Issue 18 in the recipes: the caller or requester goes as the contact, with the channel it really is."""

from __future__ import annotations

import json
import re
from typing import cast
from urllib.parse import quote, urlsplit

from fastapi.testclient import TestClient

from tests.helpers import ok
from tests.integrations.fixtures import US_PHONE, gold_member, make_key
from tests.integrations.test_recipes import RECIPES, run_studio_call

ADA_MOBILE, CAROL_MOBILE = "+13175550142", "+13175550143"


def restricted_member(client: TestClient) -> dict[str, object]:
    acme = gold_member(client)
    ok(client.patch(f"/v1/clients/{acme['id']}", json={"restrict_to_contacts": True, "contacts": [
        {"name": "Ada Molar", "phone": ADA_MOBILE, "email": "ada@acmedental.com", "roles": ["requester"]},
        {"name": "Carol Books", "phone": CAROL_MOBILE, "roles": ["billing", "approver"]},
    ]}))
    return acme


def test_studio_routes_the_main_line_and_a_requester_but_not_a_billing_contact(client: TestClient, db_url: str) -> None:
    flow = json.loads((RECIPES / "twilio-studio/flow.json").read_text())
    params = {p["key"]: p["value"] for s in flow["states"] if s["type"] == "make-http-request" for p in s["properties"]["parameters"]}
    assert params["channel"] == "phone" and params["contact_phone"] == params["From"]
    restricted_member(client)
    key = make_key(db_url, "twilio", ["entitlements:check"])
    # The main line names nobody (sent as both identifier and contact it is still the identifier alone).
    assert run_studio_call(client, flow, key, US_PHONE)[-1] == "queue:priority"
    assert run_studio_call(client, flow, key, ADA_MOBILE)[-1] == "queue:priority"
    assert run_studio_call(client, flow, key, CAROL_MOBILE)[-2:] == ["enqueue_standard", "queue:standard"]


def test_helpdesk_rules_refuse_a_colleague_the_client_has_not_named(client: TestClient, db_url: str) -> None:
    restricted_member(client)
    key = make_key(db_url, "helpdesk", ["entitlements:check"])
    for readme, placeholder, channel in (("jira-service-management/README.md", "{{reporter.emailAddress.urlEncode}}", "web"),
                                          ("freshdesk/README.md", "{{ticket.requester.email}}", "email")):
        [url] = re.findall(r"`(https://supportgate\.example\.com/v1/entitlements/check\?[^`]+)`", (RECIPES / readme).read_text())
        assert f"contact_email={placeholder}" in url and f"channel={channel}" in url

        def ask(email: str, url: str = url, placeholder: str = placeholder) -> dict[str, str]:
            parts = urlsplit(url.replace(placeholder, quote(email)))
            return cast(dict[str, str], ok(client.get(f"{parts.path}?{parts.query}", headers={"X-API-Key": key})))

        stranger = ask("new.hire@acmedental.com")
        assert (stranger["allowed"], stranger["reason"], stranger["route"]) == ("false", "CONTACT_NOT_AUTHORIZED", "triage")
        ada = ask("ada@acmedental.com")
        assert (ada["allowed"], ada["contact_name"]) == ("true", "Ada Molar")
