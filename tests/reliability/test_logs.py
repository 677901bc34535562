"""Structured JSON logs: one object a line with request id, key name, route, status and latency —
and never a key or a webhook secret, whatever the run did with them."""

from __future__ import annotations

import base64
import io
import logging
import re
import secrets

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api.app import create_app
from service.api.route_table import app_routes
from service.cli import app as cli_app
from service.logs import JsonFormatter
from service.settings import get_settings
from tests.conftest import make_settings
from tests.reliability.test_route_walk import SIGNED


def secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(24)


def test_a_run_with_keys_and_webhook_secrets_logs_none_of_them(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:
    webhook_secrets = {
        "docusign_hmac_keys": secret() + "," + secret(),
        "dropbox_sign_api_key": secret(),
        "pandadoc_webhook_key": secret(),
        "standard_webhook_secret": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        "zendesk_webhook_secret": secret(),
        "zendesk_api_token": secret(),
        "adobe_sign_api_token": secret(),
        "ui_secret": secret(),
    }
    admin_key = secret("boot-")
    monkeypatch.setenv("SUPPORTGATE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    created = CliRunner().invoke(cli_app, ["keys", "create", "--name", "helpdesk", "--scope", "entitlements:check",
                                           "--scope", "clients:read"])
    get_settings.cache_clear()
    assert created.exit_code == 0, created.output
    helpdesk_key = created.output.strip().splitlines()[-1]
    forged_key = "sg_" + secrets.token_urlsafe(32)  # looks real, is not

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        settings = make_settings(db_url, bootstrap_admin_key=admin_key, log_level="DEBUG", **webhook_secrets)
        app = create_app(settings)
        with TestClient(app, raise_server_exceptions=False) as client:
            admin = {"Authorization": f"Bearer {admin_key}"}
            check = {"service": "advanced_support", "phone": "2125550142"}
            answer = client.get("/v1/entitlements/check", params=check,
                                headers={"Authorization": f"Bearer {helpdesk_key}", "X-Request-ID": "call-4711"})
            assert answer.status_code == 200 and answer.headers["x-request-id"] == "call-4711"
            basic = base64.b64encode(f"twilio:{helpdesk_key}".encode()).decode()
            client.get("/v1/entitlements/check", params=check, headers={"Authorization": f"Basic {basic}"})
            client.get("/v1/entitlements/check", params=check, headers={"X-API-Key": helpdesk_key})
            client.get("/v1/entitlements/check", params={**check, "api_key": helpdesk_key})  # never read from the query
            client.get("/v1/clients", headers={"Authorization": f"Bearer {forged_key}"})
            client.get("/v1/clients", headers={"Authorization": f"Bearer {helpdesk_key}"})
            client.post("/v1/clients", headers=admin, json={"name": "Acme Dental", "phones": ["(212) 555-0142"]})
            client.post("/v1/clients", headers=admin, content=b"{broken")
            login = client.get("/ui/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
            client.post("/ui/login", data={"api_key": helpdesk_key, "csrf_token": csrf.group(1) if csrf else ""})
            client.post("/ui/login", data={"api_key": forged_key, "csrf_token": csrf.group(1) if csrf else ""})
            # every webhook endpoint there is (found on the app, so new ones count), with forged signatures
            webhooks = 0
            for route in app_routes(app):
                if (route.path.startswith("/v1/webhooks/") or route.path in SIGNED) and "POST" in route.methods:
                    webhooks += 1
                    url = re.sub(r"\{[^}]+\}", "x", route.path)
                    for key_material in webhook_secrets.values():
                        client.post(url, content=b'{"event": "envelope-completed"}', headers={
                            "content-type": "application/json", "X-DocuSign-Signature-1": key_material,
                            "webhook-signature": f"v1,{key_material}", "X-PandaDoc-Signature": key_material,
                            "X-Zendesk-Webhook-Signature": key_material, "Authorization": f"Bearer {helpdesk_key}",
                        })
            assert webhooks >= 1, "no webhook endpoint found to exercise"
        handler.flush()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out, err = capfd.readouterr()
    text = captured.getvalue() + out + err

    lines = [orjson.loads(line) for line in captured.getvalue().splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry["logger"] == "supportgate.access"]
    assert len(access) >= 8, "the access log is missing"
    first = next(entry for entry in access if entry["request_id"] == "call-4711")
    assert first["key_name"] == "helpdesk" and first["route"] == "/v1/entitlements/check"
    assert first["status"] == 200 and first["method"] == "GET" and isinstance(first["latency_ms"], float | int)
    assert any(entry["key_name"] == "bootstrap-admin" and entry["status"] == 201 for entry in access)
    assert all(re.fullmatch(r"[A-Za-z0-9._:\-]+", entry["request_id"]) for entry in access)

    leaked = {name: value for name, value in [("admin key", admin_key), ("helpdesk key", helpdesk_key),
                                              ("forged key", forged_key), *webhook_secrets.items()]
              if any(part and part in text for part in value.split(","))}
    where = [text[max(0, text.find(v.split(",")[0]) - 300):text.find(v.split(",")[0]) + 50] for v in leaked.values()]
    assert not leaked, f"secrets found in the logs: {sorted(leaked)} {where}"
    # and the key's hash is no better: it identifies the key
    from service.usecases.keys import hash_key

    assert hash_key(helpdesk_key) not in text


def test_an_unsafe_request_id_is_replaced(client: TestClient) -> None:
    for unsafe in ("two words", "x" * 200, "a;b=c"):
        answer = client.get("/healthz", headers={"X-Request-ID": unsafe})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"]), unsafe
    assert client.get("/healthz", headers={"X-Request-ID": "zendesk:ticket-88.1"}).headers["x-request-id"] == "zendesk:ticket-88.1"
