"""Issue 8, point 4: Zendesk write-back through the durable outbox, against a local stub of the Zendesk API."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.usecases.outbox import backoff, classify, retry_after
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import create_client, ok
from tests.integrations.fixtures import gold_member, make_key
from tests.integrations.zendesk_helpers import PATH, SECRET, signed, ticket_body
from tests.integrations.zendesk_stub import ZendeskStub, wait_for

API_EMAIL, API_TOKEN = "agent@acme.example", "zd-api-token"


@pytest.fixture
def stub() -> Iterator[ZendeskStub]:
    server = ZendeskStub().start()
    yield server
    server.stop()


def zendesk_app(db_url: str, stub_url: str, **overrides: Any) -> TestClient:
    settings = make_settings(
        db_url, zendesk_webhook_secret=SECRET, zendesk_api_url=stub_url, zendesk_email=API_EMAIL,
        zendesk_api_token=API_TOKEN, outbox_poll_seconds=0.05, outbox_max_backoff_seconds=1, **overrides,
    )
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def outbox(client: TestClient, status: str | None = None) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], ok(client.get("/v1/integrations/outbox", params={"status": status} if status else {}))["items"])


def test_a_signed_delivery_updates_the_ticket_once_with_tags_priority_and_note(db_url: str, stub: ZendeskStub) -> None:
    with zendesk_app(db_url, stub.url) as client:
        acme = gold_member(client)
        body = ticket_body("4711", email="someone@acmedental.com", phone="not a phone")
        answer = ok(client.post(PATH, content=body, headers=signed(body)))
        assert answer["allowed"] is True and answer["duplicate"] is False
        wait_for(lambda: outbox(client, "delivered"), what="delivery")
        assert len(stub.received) == 1
        put = stub.received[0]
        assert (put.method, put.path) == ("PUT", "/api/v2/tickets/4711.json")
        assert put.headers["authorization"] == "Basic " + base64.b64encode(f"{API_EMAIL}/token:{API_TOKEN}".encode()).decode()
        ticket = put.body["ticket"]
        assert ticket["additional_tags"] == ["supportgate_checked", "supportgate_allowed", "supportgate_tier_gold"]
        assert ticket["priority"] == "high"
        assert ticket["comment"]["public"] is False
        note = ticket["comment"]["body"]
        assert "advanced_support ALLOWED" in note and answer["decision_id"] in note
        assert f"Acme Dental ({acme['id']}), matched by requester e-mail" in note
        assert "Ignored: requester phone 'not a phone' is not usable" in note
        assert "Reasons: none.\nPlan: gold; queue priority, priority high, first response within 60 minutes." in note
        assert "No plan is required for this service." in note
        [message] = outbox(client)
        assert (message["status"], message["attempts"], message["last_error"]) == ("delivered", 1, None)
        events = ok(client.get(f"/v1/clients/{acme['id']}/events"))
        kinds = [e["kind"] for e in (events["items"] if isinstance(events, dict) else events)]
        assert "zendesk.ticket_checked" in kinds


def test_a_refused_requester_gets_the_refusal_reasons_and_the_plans_that_would_grant(db_url: str, stub: ZendeskStub) -> None:
    with zendesk_app(db_url, stub.url) as client:
        gold_member(client)
        create_client(client, "Brixton Books", phones=["+44 20 7946 0958"], external_refs=[{"system": "zendesk", "id": "org-7"}])
        # organization external id first (the e-mail would match Acme), priority_onsite needs rank 2
        body = ticket_body("12", email="office@acmedental.com", org="org-7", service="priority_onsite")
        assert ok(client.post(PATH, content=body, headers=signed(body)))["allowed"] is False
        body = ticket_body("13", email="x@unknown.example")
        assert ok(client.post(PATH, content=body, headers=signed(body, invocation="inv-13")))["allowed"] is False
        wait_for(lambda: len(outbox(client, "delivered")) == 2, what="two deliveries")
        by_ticket = {r.path: r.body["ticket"] for r in stub.received}
        brixton = by_ticket["/api/v2/tickets/12.json"]
        assert brixton["additional_tags"] == ["supportgate_checked", "supportgate_refused"]
        assert brixton["priority"] == "normal"
        assert "Brixton Books" in brixton["comment"]["body"] and "matched by organization external id" in brixton["comment"]["body"]
        assert "Plans that would grant this service: Gold (gold)." in brixton["comment"]["body"]
        assert "Reasons: TIER_REQUIRED" in brixton["comment"]["body"]
        unknown = by_ticket["/api/v2/tickets/13.json"]
        assert unknown["additional_tags"] == ["supportgate_checked", "supportgate_refused"]
        assert "UNKNOWN_CLIENT" in unknown["comment"]["body"] and "no client matched" in unknown["comment"]["body"]


def test_domain_fallback_and_phone_identify_the_requester(db_url: str, stub: ZendeskStub) -> None:
    with zendesk_app(db_url, stub.url) as client:
        acme = gold_member(client)
        for ticket_id, kwargs in (("21", {"email": "new.hire@acmedental.com"}), ("22", {"phone": "(317) 555-0125"})):
            body = ticket_body(ticket_id, **kwargs)
            assert ok(client.post(PATH, content=body, headers=signed(body, invocation=ticket_id)))["allowed"] is True
        wait_for(lambda: len(stub.received) == 2, what="two updates")
        for received in stub.received:
            assert acme["id"] in received.body["ticket"]["comment"]["body"]
            assert "supportgate_tier_gold" in received.body["ticket"]["additional_tags"]


def test_forged_stale_or_unsigned_deliveries_get_401_and_change_nothing(db_url: str, stub: ZendeskStub) -> None:
    with zendesk_app(db_url, stub.url) as client:
        gold_member(client)
        body = ticket_body("31", email="office@acmedental.com")
        tampered = signed(body)
        attempts = [
            (body, signed(body, secret="not-the-secret")),
            (body, signed(body, age=timedelta(minutes=6))),
            (body, signed(body, age=-timedelta(minutes=6))),
            (body.replace(b"31", b"32"), tampered),
            (body, {"Content-Type": "application/json"}),
            (body, {**signed(body), "X-Zendesk-Webhook-Signature-Timestamp": "yesterday"}),
        ]
        for content, headers in attempts:
            response = client.post(PATH, content=content, headers=headers)
            assert response.status_code == 401, response.text
            assert response.headers["content-type"] == "application/problem+json"
        assert outbox(client) == [] and stub.received == []
        metrics = client.get("/metrics").text
        assert 'supportgate_webhook_deliveries_total{outcome="rejected",provider="zendesk"} 6.0' in metrics
        # a correctly signed body that is not the recipe's: 422, still nothing queued
        bad = b'{"ticket_id": "abc"}'
        assert client.post(PATH, content=bad, headers=signed(bad)).status_code == 422
        assert outbox(client) == []


def test_repeated_deliveries_update_the_ticket_once(db_url: str, stub: ZendeskStub) -> None:
    with zendesk_app(db_url, stub.url) as client:
        gold_member(client)
        body = ticket_body("41", email="office@acmedental.com")
        first = ok(client.post(PATH, content=body, headers=signed(body, invocation="inv-41")))
        again = ok(client.post(PATH, content=body, headers=signed(body, invocation="inv-41")))
        assert again["duplicate"] is True and again["outbox_id"] == first["outbox_id"]
        metrics = client.get("/metrics").text
        assert 'supportgate_webhook_deliveries_total{outcome="duplicate",provider="zendesk"} 1.0' in metrics
        assert 'supportgate_webhook_deliveries_total{outcome="queued",provider="zendesk"} 1.0' in metrics
        # without the invocation id header, the same body is the same delivery
        other = ticket_body("42", email="office@acmedental.com")
        one = ok(client.post(PATH, content=other, headers=signed(other, invocation=None)))
        two = ok(client.post(PATH, content=other, headers=signed(other, invocation=None)))
        assert two["duplicate"] is True and two["outbox_id"] == one["outbox_id"]
        wait_for(lambda: len(outbox(client, "delivered")) == 2, what="deliveries")
        assert sorted(r.path for r in stub.received) == ["/api/v2/tickets/41.json", "/api/v2/tickets/42.json"]


def test_429_and_5xx_are_retried_honouring_retry_after_other_4xx_fail_for_good(db_url: str, stub: ZendeskStub) -> None:
    stub.script = [(503, {}), (429, {"Retry-After": "1"}), (200, {}), (404, {})]
    with zendesk_app(db_url, stub.url) as client:
        gold_member(client)
        body = ticket_body("51", email="office@acmedental.com")
        ok(client.post(PATH, content=body, headers=signed(body, invocation="inv-51")))
        [message] = wait_for(lambda: outbox(client, "delivered"), what="delivery after retries")
        assert message["attempts"] == 3 and len(stub.received) == 3
        body = ticket_body("52", email="office@acmedental.com")
        ok(client.post(PATH, content=body, headers=signed(body, invocation="inv-52")))
        [failed] = wait_for(lambda: outbox(client, "failed"), what="the failure")
        assert failed["attempts"] == 1 and failed["last_error"].startswith("HTTP 404")
        assert failed["payload"]["ticket"]["additional_tags"][0] == "supportgate_checked"
        assert ok(client.get("/v1/integrations/outbox"))["counts"] == {"pending": 0, "delivered": 1, "failed": 1}
        metrics = client.get("/metrics").text
        for outcome, count in (("pending", 2), ("delivered", 1), ("failed", 1)):
            assert f'supportgate_outbox_attempts_total{{outcome="{outcome}",target="zendesk"}} {count}.0' in metrics


def test_the_endpoint_is_404_without_a_secret_and_the_outbox_needs_clients_read(db_url: str) -> None:
    with TestClient(create_app(make_settings(db_url)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        body = ticket_body("61")
        assert client.post(PATH, content=body, headers=signed(body)).status_code == 404
        assert client.get("/v1/integrations/outbox", headers={"Authorization": "Bearer nope"}).status_code == 401
        checker = make_key(db_url, "ivr", ["entitlements:check"])
        reader = make_key(db_url, "tech", ["clients:read"])
        assert client.get("/v1/integrations/outbox", headers={"Authorization": f"Bearer {checker}"}).status_code == 403
        assert ok(client.get("/v1/integrations/outbox", headers={"Authorization": f"Bearer {reader}"})) == {
            "items": [], "counts": {"pending": 0, "delivered": 0, "failed": 0}, "next_cursor": None}
        assert client.get("/v1/integrations/outbox", params={"status": "lost"}).status_code == 422
        ok(client.post("/v1/entitlements/check", json={"phone": "+13175550125", "service": "triage"}))


def test_backoff_and_retry_after_rules() -> None:
    from datetime import UTC, datetime

    import httpx

    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert [backoff(n, 300) for n in (1, 2, 3, 4, 9, 10, 50)] == [1, 2, 4, 8, 256, 300, 300]
    assert retry_after("7", now) == 7 and retry_after("Wed, 25 Nov 2026 10:00:30 GMT", now) == 30
    assert retry_after("soon", now) is None and retry_after(None, now) is None
    unreachable = classify(None, httpx.ConnectError("refused"), 3, 300, now)
    assert (unreachable.status, unreachable.delay) == ("pending", 4) and "ConnectError" in (unreachable.error or "")
    limited = classify(httpx.Response(429, headers={"Retry-After": "120"}), None, 1, 300, now)
    assert (limited.status, limited.delay) == ("pending", 120)
    assert classify(httpx.Response(502), None, 2, 300, now).delay == 2
    assert classify(httpx.Response(422, text="invalid"), None, 1, 300, now).status == "failed"
    assert classify(httpx.Response(201), None, 1, 300, now).status == "delivered"


def test_simultaneous_repeats_queue_one_update(db_url: str, stub: ZendeskStub) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with zendesk_app(db_url, stub.url) as client:
        gold_member(client)
        body = ticket_body("81", email="office@acmedental.com")
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: client.post(PATH, content=body, headers=signed(body, invocation="inv-81")), range(6)))
        assert [a.status_code for a in answers] == [200] * 6
        assert len({a.json()["outbox_id"] for a in answers}) == 1
        assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 5
        wait_for(lambda: outbox(client, "delivered"), what="delivery")
        assert len(outbox(client)) == 1 and len(stub.received) == 1
