"""Every route of the app, walked: scopes, body limit, security headers, rate limits and CORS.

The route list comes from the app itself (service.api.route_table.app_routes), so a route added later is
walked too; a route that takes no API key must be on the short public list below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.route_table import RouteInfo, app_routes
from service.storage.database import Database
from service.usecases.keys import SCOPES, create_key
from tests.conftest import make_settings
from tests.helpers import app_state

PUBLIC = {"/healthz", "/readyz", "/metrics"}
# Webhooks verify the provider's signature instead of an API key (the Zendesk trigger's too);
# the web page has its own signed session; a signing link's token is its own credential.
SIGNED = {"/v1/integrations/zendesk/tickets"}
PUBLIC_PREFIXES = ("/v1/webhooks/", "/ui", "/sign/", "/u/")
# Routes with their own, larger body limit (the contract document: 5 MiB).
OWN_LIMIT = {"/v1/contracts/{version}/document": 5 * 1024 * 1024}
# Every webhook endpoint switched on (an endpoint whose secret is unset answers 404 before reading).
WEBHOOKS_ON = {
    "docusign_hmac_keys": "docusign-secret", "dropbox_sign_api_key": "dropbox-key", "pandadoc_webhook_key": "panda-key",
    "standard_webhook_secret": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "adobe_sign_client_ids": "adobe-client",
    "zendesk_webhook_secret": "zendesk-secret", "zendesk_api_url": "http://127.0.0.1:9", "zendesk_email": "a@b.example",
    "zendesk_api_token": "zendesk-token", "stripe_webhook_secret": "whsec_route_walk",
}


def is_public(path: str) -> bool:
    return path in PUBLIC or path in SIGNED or path.startswith(PUBLIC_PREFIXES)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def make_keys(db_url: str) -> dict[str, str]:
    """One key per single scope, one already expired and one revoked (both with every scope)."""
    db = Database.connect(db_url, pool_size=1)
    keys: dict[str, str] = {}
    now = datetime.now(UTC)
    try:
        with db.writer() as session:
            for scope in SCOPES:
                keys[scope] = create_key(session, name=f"only-{scope}", scopes=[scope], expires_at=None, actor="test", now=now)[1]
            keys["expired"] = create_key(session, name="expired", scopes=list(SCOPES), expires_at=now - timedelta(seconds=1),
                                         actor="test", now=now)[1]
            row, keys["revoked"] = create_key(session, name="revoked", scopes=list(SCOPES), expires_at=None, actor="test", now=now)
            row.revoked_at = now
            session.commit()
    finally:
        db.dispose()
    return keys


def walk(app: FastAPI) -> Iterator[tuple[RouteInfo, str]]:
    routes = [r for r in app_routes(app) if r.path not in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")]
    assert len(routes) > 30, "the walk found too few routes: app_routes() no longer sees them"
    for route in routes:
        for method in sorted(route.methods - {"HEAD"}):
            yield route, method


def test_every_route_needs_a_key_and_its_scope(db_url: str) -> None:
    keys = make_keys(db_url)
    app = create_app(make_settings(db_url))
    walked = 0
    with TestClient(app) as anon:
        for route, method in walk(app):
            url = concrete(route.path)
            if not route.access.needs_key:
                assert is_public(route.path), f"{method} {route.path} takes no API key and is not a public route"
                continue
            walked += 1
            for headers in ({}, {"Authorization": "Bearer sg_unknown"}, {"Authorization": f"Bearer {keys['expired']}"},
                            {"Authorization": f"Bearer {keys['revoked']}"}, {"X-API-Key": keys["revoked"]}):
                answer = anon.request(method, url, headers=headers, json={})
                assert answer.status_code == 401, (method, route.path, headers, answer.status_code)
                assert answer.headers["content-type"] == "application/problem+json"
                assert "www-authenticate" in answer.headers
            required = set(route.access.scopes)
            assert required, f"{method} {route.path} needs a key but names no scope"
            for scope in SCOPES:
                if scope in required or scope == "admin":
                    continue
                answer = anon.request(method, url, headers={"Authorization": f"Bearer {keys[scope]}"}, json={})
                assert answer.status_code == 403, (method, route.path, scope, answer.status_code, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
            # a key holding the scope (or admin) gets past the gate: whatever it answers, it is not 401/403
            holder = keys[sorted(required - {"admin"})[0]] if required - {"admin"} else keys["admin"]
            answer = anon.request(method, url, headers={"Authorization": f"Bearer {holder}"}, json={})
            assert answer.status_code not in (401, 403, 500), (method, route.path, answer.status_code, answer.text)
    assert walked >= 30


def test_every_route_has_a_body_limit_and_security_headers(db_url: str) -> None:
    app = create_app(make_settings(db_url, max_body_bytes=1000, max_import_bytes=1500, **WEBHOOKS_ON))
    big = b"x" * 2000
    with TestClient(app, headers={"Authorization": "Bearer test-admin-key"}) as client:
        for route, method in walk(app):
            url = concrete(route.path)
            big = b"x" * (OWN_LIMIT[route.path] + 1) if route.path in OWN_LIMIT else b"x" * 2000
            answer = client.request(method, url, content=big, headers={"content-type": "application/json"})
            assert answer.status_code == 413, (method, route.path, answer.status_code)
            # and without a Content-Length (chunked): the stream is cut at the limit
            chunked = client.request(method, url, content=iter([big[:900], big[900:]]),
                                     headers={"content-type": "application/json"})
            if method in ("POST", "PUT", "PATCH") and not route.path.startswith("/ui"):  # API routes read the body
                # (a route on a resource that does not exist may answer 404 before it reads anything)
                allowed = (413, 303, 401, 403, 404) if "{" in route.path else (413, 303, 401, 403)
                assert chunked.status_code in allowed, (method, route.path, chunked.status_code)
            assert chunked.status_code < 500, (method, route.path, chunked.status_code)
            for response in (answer, chunked):
                assert response.headers["x-content-type-options"] == "nosniff"
                assert response.headers["x-request-id"]
                assert "access-control-allow-origin" not in response.headers
            if not route.path.startswith("/ui"):
                assert answer.headers["cache-control"] == "no-store", (method, route.path)
        ok = client.get("/v1/clients")
        assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
        assert ok.headers["x-content-type-options"] == "nosniff"


def test_no_cors_unless_configured(db_url: str) -> None:
    origin = {"Origin": "https://evil.example"}
    with TestClient(create_app(make_settings(db_url)), headers={"Authorization": "Bearer test-admin-key"}) as client:
        assert "access-control-allow-origin" not in client.get("/v1/clients", headers=origin).headers
        preflight = client.options("/v1/clients", headers={**origin, "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in preflight.headers
    settings = make_settings(db_url, cors_origins="https://desk.example.com")
    with TestClient(create_app(settings), headers={"Authorization": "Bearer test-admin-key"}) as client:
        allowed = client.get("/v1/clients", headers={"Origin": "https://desk.example.com"})
        assert allowed.headers["access-control-allow-origin"] == "https://desk.example.com"
        assert "access-control-allow-origin" not in client.get("/v1/clients", headers=origin).headers
        preflight = client.options("/v1/clients", headers={"Origin": "https://desk.example.com",
                                                           "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 200 and preflight.headers["x-content-type-options"] == "nosniff"


def test_rate_limits_are_per_key_with_retry_after(db_url: str) -> None:
    keys = make_keys(db_url)
    settings = make_settings(db_url, rate_limit_per_second=1, rate_limit_burst=5)
    with TestClient(create_app(settings)) as client:
        busy = {"Authorization": f"Bearer {keys['clients:read']}"}
        answers = [client.get("/v1/clients", headers=busy) for _ in range(8)]
        assert [a.status_code for a in answers[:5]] == [200] * 5
        limited = answers[-1]
        assert limited.status_code == 429 and limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["retry-after"]) <= 2
        # another key is not affected
        other = {"Authorization": f"Bearer {keys['entitlements:check']}"}
        params = {"service": "triage", "phone": "2125550142"}
        assert client.get("/v1/entitlements/check", params=params, headers=other).status_code == 200


def test_default_limits_never_touch_a_busy_phone_system(db_url: str) -> None:
    keys = make_keys(db_url)
    with TestClient(create_app(make_settings(db_url))) as client:
        ivr = {"Authorization": f"Bearer {keys['entitlements:check']}"}
        statuses = {client.get("/v1/entitlements/check", params={"service": "triage", "phone": f"21255501{i % 100:02d}"},
                               headers=ivr).status_code for i in range(600)}
        assert statuses == {200}


@pytest.mark.parametrize("scope", ["clients:read"])
def test_revocation_takes_effect_at_once_in_the_same_process(db_url: str, scope: str) -> None:
    keys = make_keys(db_url)
    with TestClient(create_app(make_settings(db_url))) as client:
        headers = {"Authorization": f"Bearer {keys[scope]}"}
        assert client.get("/v1/clients", headers=headers).status_code == 200
        db = Database.connect(db_url, pool_size=1)
        try:
            from service.usecases.keys import revoke_key

            with db.writer() as session:
                revoke_key(session, name=f"only-{scope}", actor="test", now=datetime.now(UTC))
                session.commit()
        finally:
            db.dispose()
        import time

        deadline = time.monotonic() + 2
        while client.get("/v1/clients", headers=headers).status_code != 401:
            assert time.monotonic() < deadline, "revocation not seen within the cache's staleness bound"
            time.sleep(0.02)


def test_cli_keys_expire_after_expires_in(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from service.cli import app as cli_app
    from service.settings import get_settings

    monkeypatch.setenv("SUPPORTGATE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        made = runner.invoke(cli_app, ["keys", "create", "--name", "temp", "--scope", "clients:read", "--expires-in", "12h"])
        assert made.exit_code == 0, made.output
        for bad in ("0", "-1", "soon", "5y"):
            refused = runner.invoke(cli_app, ["keys", "create", "--name", f"bad{bad}", "--scope", "clients:read",
                                              "--expires-in", bad])
            assert refused.exit_code == 2, (bad, refused.output)
        listing = runner.invoke(cli_app, ["keys", "list"]).output
        line = next(line for line in listing.splitlines() if line.startswith("temp\t"))
        expires = datetime.fromisoformat(line.rsplit("expires ", 1)[1])
        assert timedelta(hours=11, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=12)
        assert "active" in line and "bad0" not in listing
    finally:
        get_settings.cache_clear()
    key = made.output.strip().splitlines()[-1]
    with TestClient(create_app(make_settings(db_url))) as client:
        assert client.get("/v1/clients", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    # twelve hours later, the same key is refused
    import service.api.deps as deps

    app = create_app(make_settings(db_url))
    app.dependency_overrides[deps.utc_now] = lambda: datetime.now(UTC) + timedelta(hours=12, seconds=1)
    with TestClient(app) as client:
        assert client.get("/v1/clients", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_made_up_keys_cost_one_database_read_and_real_keys_still_get_in(db_url: str) -> None:
    import sqlalchemy as sa

    with TestClient(create_app(make_settings(db_url))) as client:
        state = app_state(client)
        reads: list[str] = []
        sa.event.listen(state.db.read_engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *args: reads.append(statement) if "api_keys" in statement else None)
        for _ in range(20):
            assert client.get("/v1/clients", headers={"Authorization": "Bearer sg_made_up"}).status_code == 401
        assert len(reads) == 1, reads
        # real keys created meanwhile (another process: the CLI) still get in
        keys = make_keys(db_url)
        deadline = datetime.now(UTC) + timedelta(seconds=3)
        while client.get("/v1/clients", headers={"Authorization": f"Bearer {keys['clients:read']}"}).status_code != 200:
            assert datetime.now(UTC) < deadline
