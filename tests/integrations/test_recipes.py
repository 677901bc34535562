"""Issue 8, point 5: every recipe under integrations/ is loaded and proven to fit a real answer of the service."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi.testclient import TestClient

from tests.helpers import ok
from tests.integrations.fixtures import US_PHONE, gold_member, make_key
from tests.integrations.test_caller_forms import FLAT_KEYS
from tests.integrations.zendesk_helpers import PATH as ZENDESK_PATH
from tests.integrations.zendesk_helpers import SECRET, signed
from tests.integrations.zendesk_stub import ZendeskStub, wait_for

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "integrations"

# Every recipe file, and the test below that loads it. A new file without a test fails here.
LOADED_BY = {
    "twilio-studio/flow.json": "test_twilio_studio_flow_routes_real_answers",
    "amazon-connect/lambda_function.py": "test_connect_lambda_on_the_documented_sample_event (test_recipes_live.py)",
    "genesys-cloud/data-action.json": "test_genesys_data_action_resolves_on_a_real_answer",
    "3cx/supportgate.xml": "test_3cx_template_resolves_for_every_number_format",
    "jira-service-management/README.md": "test_jira_and_freshdesk_rules_name_real_keys",
    "freshdesk/README.md": "test_jira_and_freshdesk_rules_name_real_keys",
    "zendesk/trigger.json": "test_zendesk_trigger_and_webhook_fit_the_endpoint",
    "zendesk/webhook.json": "test_zendesk_trigger_and_webhook_fit_the_endpoint",
    "zendesk/body-template.json": "test_zendesk_trigger_and_webhook_fit_the_endpoint",
}


def test_every_recipe_is_tested_documented_and_linked_from_the_readme() -> None:
    on_disk = {str(p.relative_to(RECIPES)) for p in RECIPES.rglob("*") if p.is_file() and p.name != "README.md"}
    tested = {name for name in LOADED_BY if not name.endswith("README.md")}
    assert on_disk == tested
    index = (RECIPES / "README.md").read_text()
    main_readme = (ROOT / "README.md").read_text()
    integrations_section = main_readme.split("## Integrations", 1)[1].split("\n## ", 1)[0]
    for folder in sorted(p for p in RECIPES.iterdir() if p.is_dir()):
        readme = folder / "README.md"
        assert readme.is_file(), f"{folder.name} has no README"
        for recipe in folder.iterdir():
            if recipe.name != "README.md":
                assert f"]({recipe.name})" in readme.read_text(), f"{folder.name}/README.md does not link {recipe.name}"
        assert f"({folder.name}/)" in index
        assert f"(integrations/{folder.name}/)" in integrations_section, f"README Integrations section misses {folder.name}"


# ---- Twilio Studio -----------------------------------------------------------------------------
LIQUID = re.compile(r"\{\{\s*([^}|]+?)\s*(?:\|[^}]*)?\}\}")


def liquid(template: str, context: dict[str, Any]) -> str:
    """Studio's Liquid variables, resolved strictly: a name the context lacks is an error."""

    def value(match: re.Match[str]) -> str:
        node: Any = context
        for part in match.group(1).split("."):
            assert isinstance(node, dict) and part in node, f"{match.group(0)} does not resolve"
            node = node[part]
        assert isinstance(node, str)
        return node

    return LIQUID.sub(value, template)


def run_studio_call(client: TestClient, flow: dict[str, Any], key: str, caller: str) -> list[str]:
    """Walk the flow for one incoming call; the widgets visited, ending at an Enqueue."""
    states: dict[str, dict[str, Any]] = {s["name"]: s for s in flow["states"]}
    context: dict[str, Any] = {"trigger": {"call": {"From": caller, "To": "+18005550100"}}, "widgets": {}}

    def follow(state: dict[str, Any], event: str) -> dict[str, Any]:
        [transition] = [t for t in state["transitions"] if t["event"] == event and "next" in t][:1]
        return states[transition["next"]]

    state, visited = follow(states[flow["initial_state"]], "incomingCall"), []
    while True:
        visited.append(state["name"])
        props = state["properties"]
        if state["type"] == "make-http-request":
            url = urlsplit(props["url"])
            assert url.username and url.password == "YOUR_SUPPORTGATE_API_KEY"
            params = {p["key"]: liquid(p["value"], context) for p in props["parameters"]}
            response = client.request(props["method"], url.path, params=params, auth=(url.username, key))
            assert response.status_code == 200 and len(response.content) < 64 * 1024
            parsed = response.json()
            assert isinstance(parsed, dict)  # Studio parses only a JSON object into variables
            context["widgets"][state["name"]] = {"parsed": parsed, "status_code": "200"}
            state = follow(state, "success")
        elif state["type"] == "split-based-on":
            subject = liquid(props["input"], context)
            chosen = "noMatch"
            for transition in state["transitions"]:
                for condition in transition.get("conditions", []):
                    assert condition["type"] == "equal_to"
                    assert liquid(condition["arguments"][0], context) == subject
                    if subject == condition["value"]:
                        chosen = transition["next"]
                        break
                if chosen != "noMatch":
                    break
            state = states[chosen] if chosen != "noMatch" else follow(state, "noMatch")
        elif state["type"] == "say-play":
            assert props["say"]
            state = follow(state, "audioComplete")
        else:
            assert state["type"] == "enqueue-call"
            visited.append(f"queue:{props['queue_name']}")
            return visited


def test_twilio_studio_flow_routes_real_answers(client: TestClient, db_url: str) -> None:
    flow = json.loads((RECIPES / "twilio-studio/flow.json").read_text())
    gold_member(client)
    key = make_key(db_url, "twilio", ["entitlements:check"])
    assert run_studio_call(client, flow, key, US_PHONE)[-2:] == ["enqueue_priority", "queue:priority"]
    for refused in ("+19995550100", "anonymous", "+266696687"):
        path = run_studio_call(client, flow, key, refused)
        assert path == ["check_entitlement", "split_on_route", "say_refused", "enqueue_standard", "queue:standard"], refused
    # the Fail path exists and leads to a queue
    http = next(s for s in flow["states"] if s["type"] == "make-http-request")
    assert any(t["event"] == "failed" and t.get("next") == "enqueue_standard" for t in http["transitions"])


# ---- Genesys Cloud -----------------------------------------------------------------------------
def velocity(template: str, inputs: dict[str, str], credentials: dict[str, str]) -> str:
    text = re.sub(r"\$esc\.url\(\$\{input\.(\w+)\}\)", lambda m: quote(inputs[m.group(1)], safe=""), template)
    text = re.sub(r"\$\{input\.(\w+)\}", lambda m: inputs[m.group(1)], text)
    text = re.sub(r"\$\{credentials\.(\w+)\}", lambda m: credentials[m.group(1)], text)
    assert "${" not in text and "$esc" not in text, text
    return text


def jsonpath(document: dict[str, Any], path: str) -> Any:
    """The JSONPath forms a translation map uses on a flat object: `$.key` and `$['key']`."""
    match = re.fullmatch(r"\$\.(\w+)|\$\['([^']+)'\]", path)
    assert match, f"unsupported JSONPath {path}"
    key = match.group(1) or match.group(2)
    assert key in document, f"{path} finds nothing in a real answer"
    return document[key]


def test_genesys_data_action_resolves_on_a_real_answer(client: TestClient, db_url: str) -> None:
    action = json.loads((RECIPES / "genesys-cloud/data-action.json").read_text())
    acme = gold_member(client)
    key = make_key(db_url, "genesys", ["entitlements:check"])
    request, response_config = action["config"]["request"], action["config"]["response"]
    output_schema = action["contract"]["output"]["successSchema"]
    assert set(action["contract"]["input"]["inputSchema"]["required"]) == {"phone", "service"}
    for ani, expected in (("tel:+13175550125", acme["id"]), ("tel:+19995550100", "")):
        url = urlsplit(velocity(request["requestUrlTemplate"], {"phone": ani, "service": "advanced_support"}, {}))
        headers = {k: velocity(v, {}, {"apiKey": key}) for k, v in request["headers"].items()}
        answer = ok(client.request(request["requestType"], f"{url.path}?{url.query}", headers=headers))
        values = {name: jsonpath(answer, path) for name, path in response_config["translationMap"].items()}
        assert all(isinstance(v, str) for v in values.values())  # no null: Genesys would not apply the default
        for name, default in response_config["translationMapDefaults"].items():
            assert isinstance(json.loads(default), str) and name in values

        def value_of(m: re.Match[str], v: dict[str, Any] = values) -> str:
            return json.dumps(v[m.group(1)])

        rendered = re.sub(r"\$\{(\w+)\}", value_of, response_config["successTemplate"])
        output = json.loads(rendered)
        assert set(output) == set(output_schema["properties"]) and FLAT_KEYS <= set(output)
        assert all(isinstance(v, str) for v in output.values())  # no nested arrays or objects
        assert output["client_id"] == expected


# ---- 3CX ---------------------------------------------------------------------------------------
def test_3cx_template_resolves_for_every_number_format(client: TestClient, db_url: str) -> None:
    crm = ET.parse(RECIPES / "3cx/supportgate.xml").getroot()  # noqa: S314 (our own file)
    acme = gold_member(client)
    key = make_key(db_url, "3cx", ["entitlements:check"])
    parameters = {p.get("Name") or "": p.get("Default") or "" for p in crm.iter("Parameter")}
    parameters["ApiKey"] = key
    scenario = crm.find("Scenarios/Scenario")
    assert scenario is not None
    request = scenario.find("Request")
    assert request is not None and request.get("RequestType") == "Get" and request.get("ResponseType") == "Json"
    variables = {v.get("Name") or "": v.get("Path") for v in scenario.iter("Variable")}

    def fill(template: str, values: dict[str, str]) -> str:
        def one(match: re.Match[str]) -> str:
            assert match.group(1) in values, f"[{match.group(1)}] is not defined"
            return values[match.group(1)]

        return re.sub(r"\[(\w+)\]", one, template)

    # 3CX's [Number] formats, inserted into the URL as they are (a raw '+' arrives as a space).
    for prefix, number in (("AsIs", "+13175550125"), ("Plus", "+13175550125"), ("Zeros", "0013175550125"), ("Off", "13175550125")):
        values = {**parameters, "Number": number}
        url = urlsplit(fill(request.get("Url") or "", values))
        headers = {h.get("Key") or "": fill(h.text or "", values) for h in request.iter("Value")}
        answer = ok(client.get(f"{url.path}?{url.query}", headers=headers))
        for rule in scenario.iter("Rule"):
            assert answer[rule.text or ""], (prefix, rule.text)
        resolved = {name: answer[path] for name, path in variables.items()}  # every Path is a key of the answer
        outputs = {o.get("Type"): fill(o.get("Value") or "", {**values, **resolved}) for o in scenario.iter("Output")}
        assert outputs["ContactID"] == acme["id"] and outputs["CompanyName"] == "Acme Dental", prefix
        assert outputs["PhoneBusiness"] == US_PHONE and "priority / gold / contract signed" in outputs["LastName"]
        contact = urlsplit(outputs["ContactUrl"])
        assert client.get(contact.path, follow_redirects=False).status_code in (200, 303)  # the web page's client card
    unknown = ok(client.get("/v1/entitlements/check", params={"format": "flat", "service": "advanced_support", "phone": "+19995550100"},
                            headers={"X-API-Key": key}))
    assert all(not unknown[rule.text or ""] for rule in scenario.iter("Rule"))  # no match shown for strangers


# ---- Jira Service Management and Freshdesk -----------------------------------------------------
def test_jira_and_freshdesk_rules_name_real_keys(client: TestClient, db_url: str) -> None:
    gold_member(client)
    key = make_key(db_url, "helpdesk", ["entitlements:check"])
    jira = (RECIPES / "jira-service-management/README.md").read_text()
    freshdesk = (RECIPES / "freshdesk/README.md").read_text()
    for text, placeholder in ((jira, "{{reporter.emailAddress.urlEncode}}"), (freshdesk, "{{ticket.requester.email}}")):
        [url] = re.findall(r"`(https://supportgate\.example\.com/v1/entitlements/check\?[^`]+)`", text)
        assert placeholder in url
        parts = urlsplit(url.replace(placeholder, quote("someone@acmedental.com")))
        answer = ok(client.get(f"{parts.path}?{parts.query}", headers={"X-API-Key": key}))
        assert answer["allowed"] == "true" and answer["plan"] == "gold"
        if text is jira:
            smart_values = set(re.findall(r"\{\{webResponse\.body\.(\w+)\}\}", text))
            assert "allowed" in smart_values and smart_values <= set(answer), smart_values - set(answer)
        else:
            [fields_line] = [line for line in text.splitlines() if "Add the fields" in line]
            fields = set(re.findall(r"`(\w+)`", fields_line + text.split(fields_line, 1)[1].split("\n", 1)[0]))
            assert "allowed" in fields and fields <= set(answer), fields - set(answer)
    assert "Delay execution of subsequent rule actions" in jira


# ---- Zendesk -----------------------------------------------------------------------------------
def test_zendesk_trigger_and_webhook_fit_the_endpoint(db_url: str) -> None:
    from fastapi.testclient import TestClient as Client

    from service.api.app import create_app
    from tests.conftest import ADMIN_KEY, make_settings

    webhook = json.loads((RECIPES / "zendesk/webhook.json").read_text())["webhook"]
    trigger = json.loads((RECIPES / "zendesk/trigger.json").read_text())["trigger"]
    template = json.loads((RECIPES / "zendesk/body-template.json").read_text())
    assert urlsplit(webhook["endpoint"]).path == ZENDESK_PATH
    assert (webhook["http_method"], webhook["request_format"]) == ("POST", "json")
    [action] = trigger["actions"]
    assert action["field"] == "notification_webhook"
    body_template = action["value"][1]
    assert json.loads(body_template) == template
    skip_tag = next(c["value"] for c in trigger["conditions"]["all"] if c["field"] == "current_tags")
    # Zendesk renders the placeholders (an organization without external id renders as empty)
    ticket = {"{{ticket.id}}": "9001", "{{ticket.requester.email}}": "someone@acmedental.com",
              "{{ticket.requester.phone}}": "", "{{ticket.organization.external_id}}": "", "{{ticket.via}}": "Mail"}
    rendered = body_template
    for placeholder, value in ticket.items():
        rendered = rendered.replace(placeholder, value)
    assert "{{" not in rendered
    body = rendered.encode()
    stub = ZendeskStub().start()
    try:
        settings = make_settings(db_url, zendesk_webhook_secret=SECRET, zendesk_api_url=stub.url, zendesk_email="a@b.example",
                                 zendesk_api_token="t", outbox_poll_seconds=0.05)
        with Client(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            gold_member(client)
            assert ok(client.post(ZENDESK_PATH, content=body, headers=signed(body)))["allowed"] is True
            wait_for(lambda: stub.received, what="the ticket update")
        [update] = stub.received
        assert update.path == "/api/v2/tickets/9001.json"
        # the update carries the tag the trigger excludes: it never fires twice for one ticket
        assert skip_tag in update.body["ticket"]["additional_tags"]
    finally:
        stub.stop()


def test_recipe_urls_never_put_the_key_in_the_query_string() -> None:
    for path in RECIPES.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for url in re.findall(r"https?://[^\s\"'`<>]+", text):
                query = urlsplit(url.replace("&amp;", "&")).query
                assert not re.search(r"(^|&)(api_?key|key|token)=", query, re.IGNORECASE), (path, url)
