"""Shared set-up for the integration tests: a member client reachable by phone, e-mail and external id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from service.storage.database import Database
from service.usecases.keys import create_key
from tests.helpers import create_client, in_days, iso, ok, publish_contract, put_plans, sign

US_PHONE = "+13175550125"
UK_PHONE = "+442079460958"


def gold_member(client: httpx.Client) -> dict[str, Any]:
    """Acme: signed, Gold (priority queue, high priority), phone +1 317 555 0125."""
    put_plans(client)
    publish_contract(client)
    acme = create_client(
        client, "Acme Dental", phones=["(317) 555-0125"], emails=["office@acmedental.com"], domains=["acmedental.com"],
        external_refs=[{"system": "zendesk", "id": "org-1042"}],
    )
    sign(client, acme["id"])
    ok(client.put(f"/v1/clients/{acme['id']}/membership", json={
        "plan": "gold", "status": "active", "current_period_end": iso(in_days(30))}))
    return acme


def london_client(client: TestClient) -> dict[str, Any]:
    """Brixton Books: no contract signed, reachable at +44 20 7946 0958 only."""
    return create_client(client, "Brixton Books", phones=["+44 20 7946 0958"])


def make_key(db_url: str, name: str, scopes: list[str]) -> str:
    """A new API key with `scopes`, written straight to the database; returns the secret."""
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.writer() as session:
            _, secret = create_key(session, name=name, scopes=scopes, expires_at=None, actor="test", now=datetime.now(UTC))
            session.commit()
    finally:
        db.dispose()
    return secret
