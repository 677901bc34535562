"""Small helpers for API tests: build the catalog and clients through the HTTP API (a TestClient or a real httpx.Client)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api.deps import AppState
from tests.scenarios import PLANS, plan_sla

SHA = hashlib.sha256(b"contract text").hexdigest()


def iso(value: datetime) -> str:
    return value.isoformat()


def now() -> datetime:
    return datetime.now(UTC)


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of an answer that has the expected status (a JSON value: its shape is the test's to know)."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def app_state(client: TestClient) -> AppState:
    """The service's state behind a test client (TestClient.app is typed as any ASGI app)."""
    app = client.app
    assert isinstance(app, FastAPI)
    state: AppState = app.state.sg
    return state


def mail_body(message: EmailMessage, subtype: str = "plain") -> str:
    """The text of a received message's text/<subtype> part (get_body answers None when there is none)."""
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part in {message['Subject']!r}"
    return str(part.get_content())


def put_plans(client: httpx.Client) -> None:
    """The plans of tests/scenarios.py (silver, gold)."""
    for code, (name, rank, price, priority, queue) in PLANS.items():
        first_response, onsite = plan_sla(rank)
        body = {
            "name": name, "rank": rank, "monthly_price": {"amount_minor": price, "currency": "USD"},
            "routing": {"priority": priority, "queue": queue},
            "sla": {"first_response_minutes": first_response, "onsite_response_hours": onsite}, "active": True,
        }
        ok(client.put(f"/v1/plans/{code}", json=body), 201)


def publish_contract(
    client: httpx.Client, version: str = "2026.1", *, grace_days: int = 30, term_days: int | None = None,
    at: datetime | None = None,
) -> None:
    ok(client.post("/v1/contracts", json={
        "version": version, "title": f"Contract {version}", "document_url": f"https://example.com/{version}.pdf",
        "document_sha256": SHA, "grace_days": grace_days, "term_days": term_days,
    }), 201)
    ok(client.post(f"/v1/contracts/{version}/publish", json={"at": iso(at)} if at else {}))


def create_client(client: httpx.Client, name: str = "Acme Dental", **identifiers: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, **identifiers}
    return cast(dict[str, Any], ok(client.post("/v1/clients", json=body), 201))


def sign(client: httpx.Client, client_id: str, version: str = "2026.1", *, decision: str = "signed",
         signed_at: datetime | None = None) -> dict[str, Any]:
    return cast(dict[str, Any], ok(client.post(f"/v1/clients/{client_id}/acceptances", json={
        "contract_version": version, "decision": decision, "method": "paper", "signer_name": "Ada",
        "signer_email": "ada@example.com", "signed_at": iso(signed_at or now()),
    }), 201))


def check(client: httpx.Client, service: str = "advanced_support", **selector: Any) -> dict[str, Any]:
    at = selector.pop("at", None)
    body: dict[str, Any] = {"client": selector, "service": service}
    if at is not None:
        body["at"] = iso(at)
    return cast(dict[str, Any], ok(client.post("/v1/entitlements/check", json=body)))


def codes(decision: dict[str, Any]) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


def in_days(days: float) -> datetime:
    return now() + timedelta(days=days)


def simultaneously(calls: Sequence[Callable[..., Any]], timeout: float = 120) -> list[Any]:
    """Run every call at once (a barrier releases the threads together) and keep the answers in order.

    Each call is made without arguments (`...`: a lambda that binds its loop variable as a default argument is one).
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
