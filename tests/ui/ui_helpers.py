"""Helpers for the web page tests: API keys, sign-in with the CSRF token, a small data set."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from service.storage.database import Database
from service.usecases import keys
from tests.helpers import create_client, ok, publish_contract, put_plans, sign

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_key(db_url: str, name: str, *scopes: str) -> str:
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.writer() as session:
            _row, secret = keys.create_key(session, name=name, scopes=list(scopes), expires_at=None, actor="test",
                                           now=datetime.now(UTC))
            session.commit()
    finally:
        db.dispose()
    return secret


def found(pattern: str, html: str, flags: int = 0) -> re.Match[str]:
    """re.search on a page, failing the test (naming the pattern) when the page does not hold it."""
    match = re.search(pattern, html, flags)
    assert match is not None, f"{pattern!r} not found in the page"
    return match


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(browser: TestClient, key: str) -> Any:
    page = browser.get("/ui/login")
    return browser.post("/ui/login", data={"api_key": key, "csrf_token": csrf_of(page.text), "next": "/ui/search"},
                        follow_redirects=False)


def seed(api: TestClient) -> dict[str, str]:
    """Gold member who signed, a pending newcomer, one who declined, one who never signed."""
    put_plans(api)
    publish_contract(api, grace_days=30, at=datetime.now(UTC) - timedelta(days=40))
    globex = create_client(api, "Globex Law", phones=["+1 415 555 0100"], emails=["it@globexlaw.com"],
                           external_refs=[{"system": "halopsa", "id": "HX-77"}])["id"]
    sign(api, globex)
    ok(api.put(f"/v1/clients/{globex}/membership", json={
        "plan": "gold", "status": "active", "current_period_end": (datetime.now(UTC) + timedelta(days=20)).isoformat()}))
    acme = create_client(api, "Acme Dental", phones=["(212) 555-0142"], emails=["office@acmedental.com"])["id"]
    hooli = create_client(api, "Hooli Studio", phones=["(718) 555-0177"], emails=["ops@hooli.com"])["id"]
    sign(api, hooli, decision="declined")
    return {"globex": globex, "acme": acme, "hooli": hooli}
