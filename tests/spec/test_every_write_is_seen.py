"""Every write operation of the OpenAPI document, walked: the next check sees its change, in this process
and in another one on the same database (invalidation is derived from the rows written, see
service/storage/changes.py). An operation added later fails here until it has a case or a reason."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage import changes
from service.storage import tables as t
from service.storage.database import Database
from service.storage.tables import Base
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import SHA, create_client, in_days, iso, now, ok, publish_contract, put_plans, sign
from tests.webhooks import providers as p
from tests.webhooks.conftest import settle

pytestmark = pytest.mark.storage
PHONE = "+12125550142"


@dataclass
class World:
    here: TestClient
    there: TestClient
    client_id: str


def decision(api: TestClient, service: str = "advanced_support", phone: str = PHONE) -> dict[str, Any]:
    return cast(dict[str, Any], ok(api.post("/v1/entitlements/check", json={"client": {"phone": phone}, "service": service})))


def reasons(d: dict[str, Any]) -> list[str]:
    return [r["code"] for r in d["reasons"]]


def gold(queue: str = "priority", **extra: Any) -> dict[str, Any]:
    return {"name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 14900, "currency": "USD"},
            "routing": {"priority": "high", "queue": queue}, "sla": {"first_response_minutes": 60, "onsite_response_hours": 16},
            **extra}


def member(w: World) -> dict[str, Any]:
    return cast(dict[str, Any], ok(w.here.put(f"/v1/clients/{w.client_id}/membership", json={"plan": "gold", "status": "active"})))


def override(w: World) -> str:
    body = {"service": "advanced_support", "expires_at": iso(in_days(1)), "reason": "signing now"}
    return cast(str, ok(w.here.post(f"/v1/clients/{w.client_id}/overrides", json=body), 201)["id"])


def grant(w: World) -> str:
    body = {"service": "advanced_support", "unit": "incidents", "amount": 5, "reason": "prepaid block"}
    return cast(str, ok(w.here.post(f"/v1/clients/{w.client_id}/allowance-grants", json=body), 201)["id"])


def use(w: World) -> str:
    body = {"service": "advanced_support", "units": 1, "idempotency_key": "ticket-1"}
    return cast(str, ok(w.here.post(f"/v1/clients/{w.client_id}/usage", json=body), 201)["usage_id"])


# (setup, write, probe on the decision after the write) for each write that changes a decision input.
CASES: dict[str, tuple[Callable[[World], Any], Callable[[World, Any], Any], Callable[[TestClient], bool]]] = {
    "POST /v1/clients": (
        lambda w: None,
        lambda w, _: create_client(w.here, "Newco", phones=["+12125550999"]),
        lambda api: decision(api, phone="+12125550999")["client"] is not None,
    ),
    "PATCH /v1/clients/{client_id}": (
        lambda w: None,
        lambda w, _: ok(w.here.patch(f"/v1/clients/{w.client_id}", json={"status": "archived"})),
        lambda api: reasons(decision(api)) == ["CLIENT_INACTIVE"],
    ),
    "POST /v1/clients/import": (
        lambda w: None,
        lambda w, _: ok(w.here.post("/v1/clients/import", json=[{"name": "Imported", "phones": ["+12125550888"]}])),
        lambda api: decision(api, phone="+12125550888")["client"] is not None,
    ),
    "POST /v1/clients/{client_id}/acceptances": (
        lambda w: None,
        lambda w, _: sign(w.here, w.client_id),
        lambda api: decision(api)["contract"]["status"] == "signed",
    ),
    "POST /v1/clients/{client_id}/grace": (
        lambda w: None,
        lambda w, _: ok(w.here.post(f"/v1/clients/{w.client_id}/grace", json={"until": iso(in_days(10))})),
        lambda api: decision(api)["contract"]["status"] == "pending",
    ),
    "PUT /v1/clients/{client_id}/membership": (
        lambda w: sign(w.here, w.client_id),
        lambda w, _: member(w),
        lambda api: decision(api)["membership"]["rank"] == 2,
    ),
    "DELETE /v1/clients/{client_id}/membership": (
        lambda w: member(w),
        lambda w, _: ok(w.here.delete(f"/v1/clients/{w.client_id}/membership")),
        lambda api: decision(api)["membership"]["rank"] == 0,
    ),
    "POST /v1/clients/{client_id}/overrides": (
        lambda w: None,
        lambda w, _: override(w),
        lambda api: reasons(decision(api)) == ["OVERRIDE"],
    ),
    "DELETE /v1/overrides/{override_id}": (
        override,
        lambda w, override_id: ok(w.here.delete(f"/v1/overrides/{override_id}")),
        lambda api: "OVERRIDE" not in reasons(decision(api)),
    ),
    "PUT /v1/services/{code}": (
        lambda w: sign(w.here, w.client_id),
        lambda w, _: ok(w.here.put("/v1/services/advanced_support",
                                   json={"name": "Advanced support", "requires_contract": True, "min_rank": 1})),
        lambda api: reasons(decision(api)) == ["TIER_REQUIRED"],
    ),
    "PUT /v1/plans/{code}": (
        member,
        lambda w, _: ok(w.here.put("/v1/plans/gold", json=gold("gold-desk"))),
        lambda api: decision(api, "triage")["routing"]["queue"] == "gold-desk",
    ),
    "POST /v1/contracts/{version}/publish": (
        lambda w: (sign(w.here, w.client_id), ok(w.here.post("/v1/contracts", json={
            "version": "2027.1", "title": "Contract 2027.1", "document_url": "https://example.com/2027.1.pdf",
            "document_sha256": SHA, "grace_days": 30}), 201)),
        lambda w, _: ok(w.here.post("/v1/contracts/2027.1/publish", json={})),
        lambda api: decision(api)["contract"]["current_version"] == "2027.1",
    ),
    "PUT /v1/calendars/{code}": (
        lambda w: (member(w), ok(w.here.put("/v1/calendars/nyc", json={"name": "NY", "time_zone": "America/New_York"}), 201),
                   ok(w.here.put("/v1/plans/gold", json=gold(calendar="nyc", sla={
                       "first_response_minutes": 60, "onsite_response_hours": 16, "first_response_business_minutes": 60})))),
        lambda w, _: ok(w.here.put("/v1/calendars/nyc", json={"name": "NY", "time_zone": "America/Chicago"})),
        lambda api: decision(api, "triage")["sla"]["calendar"] == {"code": "nyc", "version": 2},
    ),
    "POST /v1/clients/{client_id}/allowance-grants": (
        lambda w: None,
        lambda w, _: grant(w),
        lambda api: decision(api)["allowance"] is not None,
    ),
    "POST /v1/clients/{client_id}/usage": (
        grant,
        lambda w, _: use(w),
        lambda api: (decision(api)["allowance"] or {}).get("used") == 1,
    ),
    "POST /v1/usage/{usage_id}/reverse": (
        lambda w: (grant(w), use(w))[1],
        lambda w, usage_id: ok(w.here.post(f"/v1/usage/{usage_id}/reverse", json={"reason": "booked twice"}), 201),
        lambda api: (decision(api)["allowance"] or {}).get("used") == 0,
    ),
    # A delivery is stored and answered; the job of either process applies it (then the writer is that job).
    "POST /v1/webhooks/standard": (
        lambda w: None,
        lambda w, _: (ok(w.here.post("/v1/webhooks/standard", content=(raw := p.standard_body(
            client_id=w.client_id, contract_version="2026.1", signed_at=iso(now()))), headers=p.standard_headers(raw))),
            settled(w.here), wait_until(lambda: decision(w.here)["contract"]["status"] == "signed")),
        lambda api: decision(api)["contract"]["status"] == "signed",
    ),
}

# Writes that change no decision input, or reach it through a use case walked above.
NO_DECISION_INPUT = {
    "POST /v1/entitlements/check": "a read",
    "POST /v1/entitlements/check-batch": "a read",
    "POST /v1/contracts": "a draft changes nothing until it is published",
    "POST /v1/clients/{client_id}/signature-requests": "registers an envelope; the decision moves when its webhook is applied",
    "POST /v1/integrations/zendesk/tickets": "queues a ticket update (outbox); reads the decision",
    "POST /v1/webhooks/docusign": "applies acceptances through the same use case as /v1/webhooks/standard",
    "POST /v1/webhooks/dropbox-sign": "applies acceptances through the same use case as /v1/webhooks/standard",
    "POST /v1/webhooks/pandadoc": "applies acceptances through the same use case as /v1/webhooks/standard",
    "POST /v1/webhooks/adobe-sign": "applies acceptances through the same use case as /v1/webhooks/standard",
    "POST /v1/webhooks/events/{event_id}/replay": "processes a stored event through the same use case as the webhooks",
    "POST /v1/webhooks/stripe": "puts memberships through the same use case as PUT .../membership (tests/billing check the answer)",
    "POST /v1/billing/sync": "queues a job that corrects memberships through the same use case as PUT .../membership",
    "POST /sign/{token}": "records the acceptance through the same use case as POST .../acceptances (tests/signing check the answer)",
    "POST /u/{token}": "mutes a campaign's reminders; never the contract requirement",
    "POST /v1/clients/{client_id}/signing-links": "a link; the decision moves when it is used",
    "DELETE /v1/signing-links/{link_id}": "revokes a link; the decision moves only when one is used",
    "PUT /v1/contracts/{version}/document": "a draft's document changes nothing until the draft is published",
    "POST /v1/campaigns": "a campaign mails clients; it changes no decision input",
    "POST /v1/campaigns/{campaign_id}/start": "a campaign mails clients; it changes no decision input",
    "POST /v1/campaigns/{campaign_id}/pause": "a campaign mails clients; it changes no decision input",
    "POST /v1/campaigns/{campaign_id}/resume": "a campaign mails clients; it changes no decision input",
    "POST /v1/campaigns/{campaign_id}/preview": "renders a letter; writes nothing",
}


def write_operations(api: TestClient) -> set[str]:
    document = api.get("/openapi.json").json()
    return {f"{m.upper()} {path}" for path, ops in document["paths"].items() for m in ops if m in ("post", "put", "patch", "delete")}


def test_every_write_operation_is_walked_or_says_why_not(client: TestClient) -> None:
    ops = write_operations(client)
    missing = ops - set(CASES) - set(NO_DECISION_INPUT)
    assert not missing, f"write operations with no invalidation case and no reason: {sorted(missing)}"
    assert not (set(CASES) | set(NO_DECISION_INPUT)) - ops, "cases for operations the document no longer has"


def test_every_table_says_what_it_invalidates() -> None:
    unclassified = [name for name, table in Base.metadata.tables.items() if changes.classify(name, table.columns.keys()) == "unclassified"]
    assert not unclassified, f"classify these tables in service/storage/changes.py: {unclassified}"


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    settings = make_settings(db_url, standard_webhook_secret=p.STANDARD_SECRET, new_client_grace_days=0)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(settings), headers=headers) as here, TestClient(create_app(settings), headers=headers) as there:
        put_plans(here)
        publish_contract(here, grace_days=30, at=now() - timedelta(days=60))
        client_id = create_client(here, "Acme Dental", phones=[PHONE])["id"]
        assert wait_until(lambda: decision(there)["contract"]["status"] == "unsigned")
        yield World(here, there, client_id)


def settled(client: TestClient) -> bool:
    """settle() as an expression: the processing job has taken up every stored event."""
    settle(client)
    return True


def wait_until(probe: Callable[..., bool], seconds: float = 5.0) -> bool:
    """Whether probe() (called without arguments) turns true within the time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.05)
    return probe()


@pytest.mark.parametrize("operation", sorted(CASES))
def test_the_next_check_sees_the_write_here_and_in_another_process(world: World, operation: str) -> None:
    setup, write, probe = CASES[operation]
    made = setup(world)
    # Both processes have the client (and the unknown numbers) in their caches before the write.
    for api in (world.here, world.there):
        for phone in (PHONE, "+12125550999", "+12125550888"):
            decision(api, phone=phone)
            decision(api, "triage", phone=phone)
    assert not probe(world.here), f"{operation}: the probe holds before the write"
    assert wait_until(lambda: not probe(world.there)), f"{operation}: the other process never saw the setup"
    write(world, made)
    assert probe(world.here), f"{operation}: the writing process still answers from before the write"
    assert wait_until(lambda: probe(world.there)), f"{operation}: another process never saw the write"


def test_a_write_with_no_audit_event_still_reaches_both_caches(world: World, db_url: str) -> None:
    """The mechanism itself: a row written straight through the storage layer, with no audit event."""
    for api in (world.here, world.there):
        assert decision(api)["contract"]["status"] == "unsigned"
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.writer() as session:
            session.add(t.Acceptance(id="acc_direct", client_id=world.client_id, contract_version="2026.1", decision="signed",
                                     method="paper", signer_name="Ada", signed_at=now(), actor="test", created_at=now()))
            session.commit()
    finally:
        db.dispose()
    for name, api in (("here", world.here), ("there", world.there)):
        assert wait_until(lambda api=api: decision(api)["contract"]["status"] == "signed"), name
