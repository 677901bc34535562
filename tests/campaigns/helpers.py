"""A small rollout to campaign on: one published version, clients in every situation, a live SMTP server."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from fastapi.testclient import TestClient

from service.settings import Settings
from service.storage.database import Database
from service.usecases.campaign_scheduler import run_pass
from service.usecases.mail import deliver_due_mail

DOCUMENT = b"# Service contract\n\nTriage is open to everyone.\n"
GRACE_DAYS = 30


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.text
    return response.json()


@dataclass
class Rollout:
    api: TestClient
    db: Database
    settings: Settings
    published_at: datetime
    clients: dict[str, str]

    @property
    def deadline(self) -> datetime:
        return self.published_at + timedelta(days=GRACE_DAYS)

    def tick(self, now: datetime) -> int:
        """One scheduler pass and one delivery pass at `now`: the steps written."""
        written = run_pass(self.db, self.settings, now)
        deliver_due_mail(self.db, self.settings, now)
        return written


def make_rollout(api: TestClient, db: Database, settings: Settings) -> Rollout:
    ok(api.post("/v1/contracts", json={
        "version": "2026.1", "title": "Service contract 2026", "document_url": "https://example.com/contract",
        "document_sha256": hashlib.sha256(DOCUMENT).hexdigest(), "grace_days": GRACE_DAYS,
    }), 201)
    clients = {}
    for name, emails, phones in (
        ("Ann's Dental", ["ann@example.com"], []), ("Bob's Bakery", ["bob@example.com"], []),
        ("Carol (phone only)", [], ["+12125550142"]), ("Dave (signed on paper)", ["dave@example.com"], []),
        ("Erin (archived)", ["erin@example.com"], []),
    ):
        clients[name.split("'")[0].split(" ")[0].lower()] = ok(api.post("/v1/clients", json={
            "name": name, "emails": emails, "phones": phones}), 201)["id"]
    # Clients that exist at publication share the version's deadline (later ones get their own).
    published = ok(api.post("/v1/contracts/2026.1/publish", json={}))
    now = datetime.now(UTC)
    ok(api.post(f"/v1/clients/{clients['dave']}/acceptances", json={
        "contract_version": "2026.1", "decision": "signed", "method": "paper", "signer_name": "Dave",
        "signer_email": "dave@example.com", "signed_at": now.isoformat()}), 201)
    ok(api.patch(f"/v1/clients/{clients['erin']}", json={"status": "archived"}))
    return Rollout(api, db, settings, datetime.fromisoformat(published["published_at"]), clients)


def start_campaign(api: TestClient, **body: Any) -> dict[str, Any]:
    campaign = ok(api.post("/v1/campaigns", json={"contract_version": "2026.1", **body}), 201)
    assert campaign["status"] == "draft"
    started = ok(api.post(f"/v1/campaigns/{campaign['id']}/start"))
    assert started["status"] == "running"
    return cast(dict[str, Any], started)


def to(received: list[EmailMessage]) -> list[str]:
    return sorted(str(m["To"]) for m in received)


def reminders(received: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in received if m["List-Unsubscribe"] is not None]
