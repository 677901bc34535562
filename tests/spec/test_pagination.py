"""API.md: every list takes `?limit=` (default 50, max 500) and `?cursor=` and answers
`{"items": [...], "next_cursor": ... | null}`; walked page by page, each row comes exactly once, in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import create_client, in_days, iso, ok, publish_contract, put_plans, sign
from tests.integrations.zendesk_helpers import PATH as ZENDESK_PATH
from tests.integrations.zendesk_helpers import SECRET as ZENDESK_SECRET
from tests.integrations.zendesk_helpers import signed, ticket_body
from tests.integrations.zendesk_stub import ZendeskStub
from tests.webhooks import providers as p
from tests.webhooks.conftest import settle

pytestmark = pytest.mark.storage

PROBLEM = "application/problem+json"


def walk(client: TestClient, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, read `limit` at a time by following next_cursor; checks the page shape."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(200):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(path, params=query))
        assert "items" in page and "next_cursor" in page, page
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert isinstance(cursor, str) and cursor
        assert len(page["items"]) == limit, "a page short of the limit must be the last one"
    raise AssertionError(f"{path}: more than 200 pages")


def one_page(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    page = ok(client.get(path, params={**params, "limit": 500}))
    assert page["next_cursor"] is None
    return cast(list[dict[str, Any]], page["items"])


def assert_walks(client: TestClient, path: str, expected: list[Any], key: str = "id", **params: Any) -> None:
    """Walked with several page sizes (one that divides the count exactly too), the list is `expected`."""
    assert len(expected) > 3, "the test needs more rows than a page"
    assert len(set(expected)) == len(expected)
    assert [item[key] for item in one_page(client, path, **params)] == expected
    for limit in (1, 2, 3, len(expected) - 1, len(expected)):
        assert [item[key] for item in walk(client, path, limit, **params)] == expected, (path, limit)
    # A last page exactly full still answers null (no empty page after it).
    assert ok(client.get(path, params={**params, "limit": len(expected)}))["next_cursor"] is None


def assert_problem(response: Any, loc: list[str]) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 422 and body["type"] and body["title"] and body["detail"]
    assert any(error["loc"] == loc and error["msg"] for error in body["errors"]), body


def assert_rejects_bad_pages(client: TestClient, path: str, foreign_cursor: str, **params: Any) -> None:
    for limit in ("0", "501", "-1", "ten"):
        assert_problem(client.get(path, params={**params, "limit": limit}), ["query", "limit"])
    assert ok(client.get(path, params={**params, "limit": 500}))["items"] is not None
    for cursor in ("garbage!", "%%%", "bm90LWEtY3Vyc29y", "x" * 401, foreign_cursor):
        assert_problem(client.get(path, params={**params, "cursor": cursor}), ["query", "cursor"])


def newest_first(items: list[dict[str, Any]], stamp: str) -> list[str]:
    return [item["id"] for item in sorted(items, key=lambda i: (datetime.fromisoformat(i[stamp]), i["id"]), reverse=True)]


# ---- clients and a client's own lists ------------------------------------------------------------
def test_client_search_pages_by_id_and_defaults_to_fifty(client: TestClient) -> None:
    body = [{"name": f"Bulk Co {n:02}", "emails": [f"it{n}@bulk{n}.example"]} for n in range(57)]
    assert ok(client.post("/v1/clients/import", json=body))["created"] == 57
    other = create_client(client, "Someone Else")
    everyone = sorted(item["id"] for item in one_page(client, "/v1/clients"))
    assert other["id"] in everyone and len(everyone) == 58
    first = ok(client.get("/v1/clients"))
    assert len(first["items"]) == 50 and first["next_cursor"]
    rest = ok(client.get("/v1/clients", params={"cursor": first["next_cursor"]}))
    assert [c["id"] for c in first["items"] + rest["items"]] == everyone and rest["next_cursor"] is None
    for limit in (7, 29, 57):
        assert [c["id"] for c in walk(client, "/v1/clients", limit)] == everyone
    # Filters hold on every page; every existing field is still there.
    bulk = sorted(c["id"] for c in one_page(client, "/v1/clients", q="bulk co"))
    assert len(bulk) == 57 and other["id"] not in bulk
    walked = walk(client, "/v1/clients", 10, q="bulk co")
    assert [c["id"] for c in walked] == bulk
    assert {"id", "name", "status", "emails", "contract", "membership", "created_at"} <= set(walked[0])


def test_events_newest_first(client: TestClient) -> None:
    acme = create_client(client, "Acme Dental")
    create_client(client, "Noise Co")  # another client's events stay out
    for n in range(6):
        ok(client.patch(f"/v1/clients/{acme['id']}", json={"name": f"Acme Dental {n}"}))
    events = one_page(client, f"/v1/clients/{acme['id']}/events")
    seqs = [int(e["id"]) for e in events]
    assert len(seqs) == 7 and seqs == sorted(seqs, reverse=True)
    assert events[-1]["kind"] == "client.created"
    assert_walks(client, f"/v1/clients/{acme['id']}/events", [e["id"] for e in events])


def test_acceptances_newest_signature_first_ties_by_id(client: TestClient) -> None:
    publish_contract(client, at=datetime.now(UTC) - timedelta(days=2))  # a signature cannot predate its contract
    acme = create_client(client, "Acme Dental")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    created = [sign(client, acme["id"], signed_at=base - timedelta(hours=n % 4)) for n in range(7)]  # equal times
    created.append(sign(client, acme["id"], decision="declined", signed_at=base - timedelta(minutes=30, microseconds=1)))
    expected = newest_first(created, "signed_at")
    assert_walks(client, f"/v1/clients/{acme['id']}/acceptances", expected)


def test_signature_requests_newest_first(client: TestClient) -> None:
    publish_contract(client)
    acme = create_client(client, "Acme Dental")
    created = [
        ok(client.post(f"/v1/clients/{acme['id']}/signature-requests",
                       json={"provider": "docusign", "external_id": f"env-{n}", "contract_version": "2026.1"}), 201)
        for n in range(6)
    ]
    assert_walks(client, f"/v1/clients/{acme['id']}/signature-requests", newest_first(created, "created_at"))


def test_overrides_newest_first_and_the_active_filter_holds_on_every_page(client: TestClient) -> None:
    acme = create_client(client, "Acme Dental")
    created = [
        ok(client.post(f"/v1/clients/{acme['id']}/overrides",
                       json={"service": "advanced_support", "expires_at": iso(in_days(n + 1)), "reason": f"goodwill {n}"}), 201)
        for n in range(8)
    ]
    revoked = {created[1]["id"], created[4]["id"], created[5]["id"]}
    for override_id in revoked:
        assert ok(client.delete(f"/v1/overrides/{override_id}"))["active"] is False
    path = f"/v1/clients/{acme['id']}/overrides"
    expected = newest_first(created, "created_at")
    assert_walks(client, path, expected)
    assert_walks(client, path, [i for i in expected if i not in revoked], active="true")
    assert [o["id"] for o in walk(client, path, 2, active="false")] == [i for i in expected if i in revoked]
    assert all(o["active"] for o in walk(client, path, 2, active="true"))


def test_entitlements_card_pages_through_the_catalog(client: TestClient) -> None:
    for n, (rank, contract) in enumerate([(0, False), (0, True), (1, False), (2, True), (0, False)]):
        ok(client.put(f"/v1/services/extra_{n}", json={"name": f"Extra {n}", "requires_contract": contract, "min_rank": rank}), 201)
    acme = create_client(client, "Acme Dental")
    services = {s["code"]: s for s in one_page(client, "/v1/services")}
    expected = sorted(services, key=lambda c: (services[c]["min_rank"], services[c]["requires_contract"], c))
    path = f"/v1/clients/{acme['id']}/entitlements"
    assert_walks(client, path, expected, key="service")
    page = ok(client.get(path, params={"limit": 2}))
    assert page["client"]["id"] == acme["id"] and page["evaluated_at"] and page["next_cursor"]
    assert ok(client.get(path))["next_cursor"] is None


# ---- catalog and contracts -----------------------------------------------------------------------
def test_services_by_rank_then_code(client: TestClient) -> None:
    for n, rank in enumerate([3, 0, 1, 1, 0, 7]):
        ok(client.put(f"/v1/services/svc_{n}", json={"name": f"Service {n}", "requires_contract": n % 2 == 0, "min_rank": rank}), 201)
    services = one_page(client, "/v1/services")
    expected = [s["code"] for s in sorted(services, key=lambda s: (s["min_rank"], s["code"]))]
    assert {f"svc_{n}" for n in range(6)} <= set(expected)
    assert_walks(client, "/v1/services", expected, key="code")


def test_plans_by_rank_then_code(client: TestClient) -> None:
    put_plans(client)
    for n, rank in enumerate([5, 1, 3, 3, 9]):
        ok(client.put(f"/v1/plans/plan_{n}", json={
            "name": f"Plan {n}", "rank": rank, "monthly_price": {"amount_minor": 100 * n, "currency": "USD"},
            "routing": {"priority": "normal", "queue": "standard"},
            "sla": {"first_response_minutes": 60, "onsite_response_hours": 24}, "active": True,
        }), 201)
    plans = one_page(client, "/v1/plans")
    expected = [p["code"] for p in sorted(plans, key=lambda p: (p["rank"], p["code"]))]
    assert len(expected) == 7
    assert_walks(client, "/v1/plans", expected, key="code")


def test_contracts_newest_first_and_the_current_one_is_marked_on_any_page(client: TestClient) -> None:
    publish_contract(client, "2025.1", at=datetime.now(UTC) - timedelta(days=400))
    for n in range(5):
        ok(client.post("/v1/contracts", json={
            "version": f"2026.{n}", "title": f"Draft {n}", "document_url": f"https://example.com/{n}.pdf",
            "document_sha256": "a" * 64, "grace_days": 30,
        }), 201)
    versions = one_page(client, "/v1/contracts")
    expected = [v["version"] for v in sorted(versions, key=lambda v: (v["created_at"], v["version"]), reverse=True)]
    assert len(expected) == 6 and expected[-1] == "2025.1"
    assert_walks(client, "/v1/contracts", expected, key="version")
    assert walk(client, "/v1/contracts", 2)[-1]["status"] == "current"


# ---- the webhook inbox and the outbox ------------------------------------------------------------
@pytest.fixture
def inbox_api(db_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(db_url, standard_webhook_secret=p.STANDARD_SECRET))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        yield api


def test_webhook_inbox_newest_first_with_filters(inbox_api: TestClient) -> None:
    publish_contract(inbox_api)
    acme = create_client(inbox_api, "Acme Dental")
    for n in range(7):
        # Every other event names nobody known: it waits, unmatched, in the inbox.
        target = {"client_id": acme["id"]} if n % 2 else {"client_id": f"cli_nobody_{n}"}
        raw = p.standard_body(contract_version="2026.1", signed_at="2026-11-24T10:00:00+00:00", **target)
        ok(inbox_api.post("/v1/webhooks/standard", content=raw, headers=p.standard_headers(raw)))
    settle(inbox_api)  # stored at once, matched (or not) by the processing job
    events = one_page(inbox_api, "/v1/webhooks/events")
    expected = [e["id"] for e in events]
    assert len(expected) == 7 and expected == sorted(expected, reverse=True)
    assert_walks(inbox_api, "/v1/webhooks/events", expected)
    unmatched = [e["id"] for e in events if e["status"] == "unmatched"]
    assert len(unmatched) == 4
    assert_walks(inbox_api, "/v1/webhooks/events", unmatched, status="unmatched")
    assert_walks(inbox_api, "/v1/webhooks/events", expected, provider="standard")


def test_outbox_newest_first_keeps_its_counts(db_url: str) -> None:
    stub = ZendeskStub().start()
    try:
        settings = make_settings(db_url, zendesk_webhook_secret=ZENDESK_SECRET, zendesk_api_url=stub.url,
                                 zendesk_email="agent@acme.example", zendesk_api_token="token")
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
            put_plans(api)
            for n in range(6):
                body = ticket_body(str(100 + n), email=f"someone{n}@nowhere.example")
                ok(api.post(ZENDESK_PATH, content=body, headers=signed(body, invocation=f"inv-{n}")))
            first = ok(api.get("/v1/integrations/outbox", params={"limit": 2}))
            assert set(first["counts"]) == {"pending", "delivered", "failed"} and sum(first["counts"].values()) == 6
            messages = one_page(api, "/v1/integrations/outbox")
            assert_walks(api, "/v1/integrations/outbox", newest_first(messages, "created_at"))
    finally:
        stub.stop()


# ---- bad limits and cursors ----------------------------------------------------------------------
def test_bad_limits_and_cursors_are_422_problems_on_every_list(db_url: str) -> None:
    app = create_app(make_settings(db_url, standard_webhook_secret=p.STANDARD_SECRET))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        acme, other = create_client(api, "Acme Dental"), create_client(api, "Other Co")
        create_client(api, "Third Co")
        foreign = ok(api.get("/v1/clients", params={"limit": 1}))["next_cursor"]
        assert foreign
        paths = [
            "/v1/clients", "/v1/services", "/v1/plans", "/v1/contracts", "/v1/webhooks/events", "/v1/integrations/outbox",
            "/v1/reports/unsigned",
            *(f"/v1/clients/{acme['id']}/{name}"
              for name in ("events", "acceptances", "signature-requests", "overrides", "entitlements")),
        ]
        for path in paths:
            cursor = foreign if path != "/v1/clients" else ok(api.get("/v1/services", params={"limit": 1}))["next_cursor"]
            assert_rejects_bad_pages(api, path, cursor)
        # A cursor of one client's list is not a cursor of another client's.
        for n in range(3):
            ok(api.patch(f"/v1/clients/{acme['id']}", json={"name": f"Acme {n}"}))
        theirs = ok(api.get(f"/v1/clients/{acme['id']}/events", params={"limit": 1}))["next_cursor"]
        assert theirs
        assert ok(api.get(f"/v1/clients/{acme['id']}/events", params={"cursor": theirs}))["items"]
        assert_problem(api.get(f"/v1/clients/{other['id']}/events", params={"cursor": theirs}), ["query", "cursor"])
        # An empty cursor is the first page, as before.
        assert len(ok(api.get("/v1/clients", params={"cursor": ""}))["items"]) == 3
