"""Fixtures for billing tests: Stripe deliveries signed as Stripe signs them, and a stub of Stripe's list API."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import ok, put_plans
from tests.webhooks.conftest import settle

SECRET = "whsec_test_current_0123456789abcdef"
OLD_SECRET = "whsec_test_previous_fedcba9876543210"
API_KEY = "sk_test_supportgate"
_ids = itertools.count(1)


def signature(body: bytes, secret: str, at: int) -> str:
    """The v1 signature: hex HMAC-SHA256 keyed with the endpoint secret as is, over "{t}.{body}"."""
    return hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def stripe_header(body: bytes, *secrets: str, at: int | None = None) -> str:
    """`Stripe-Signature: t=…,v1=…[,v1=…]` — one v1 per secret, as during a secret roll."""
    at = int(time.time()) if at is None else at
    return ",".join([f"t={at}", *(f"v1={signature(body, s, at)}" for s in (secrets or (SECRET,)))])


def subscription(customer: str = "cus_ACME", *, sub_id: str = "sub_1", status: str = "active", price: str = "price_gold",
                 lookup_key: str | None = None, period_end: int | None = None, legacy: bool = False,
                 metadata: dict[str, str] | None = None, price_metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """A subscription as Stripe's API renders it (basil: the period on the item; legacy: on the subscription)."""
    end = period_end if period_end is not None else int(time.time()) + 30 * 86400
    item: dict[str, Any] = {"id": f"si_{sub_id}", "object": "subscription_item",
                            "price": {"id": price, "object": "price", "lookup_key": lookup_key,
                                      "metadata": price_metadata or {}}}
    body: dict[str, Any] = {"id": sub_id, "object": "subscription", "customer": customer, "status": status,
                            "metadata": metadata or {}, "created": int(time.time()) - 86400,
                            "items": {"object": "list", "data": [item], "has_more": False}}
    if legacy:
        body["current_period_end"] = end
    else:
        item["current_period_end"] = end
    return body


def event(obj: dict[str, Any], kind: str = "customer.subscription.updated", *, created: int | None = None,
          event_id: str | None = None) -> dict[str, Any]:
    return {"id": event_id or f"evt_{next(_ids):06d}", "object": "event", "api_version": "2025-03-31.basil",
            "created": created if created is not None else int(time.time()), "type": kind,
            "data": {"object": obj}, "livemode": False}


def deliver(client: TestClient, body: dict[str, Any] | bytes, *secrets: str, at: int | None = None,
            header: str | None = None) -> Any:
    """Stripe delivers `body`; once stored it is applied by the app's job, which this waits for."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sig = header if header is not None else stripe_header(raw, *secrets, at=at)
    response = client.post("/v1/webhooks/stripe", content=raw,
                           headers={"Stripe-Signature": sig, "Content-Type": "application/json"})
    if response.status_code == 200:
        settle(client)
    return response


def billing_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"stripe_webhook_secret": SECRET, "stripe_api_key": API_KEY,
                              "billing_sync_interval_seconds": 0, "job_poll_seconds": 0.05}
    values.update(overrides)
    return make_settings(db_url, **values)


@pytest.fixture
def stripe_api() -> Iterator[StripeStub]:
    stub = StripeStub()
    yield stub
    stub.close()


@pytest.fixture
def bill(db_url: str, stripe_api: StripeStub) -> Iterator[TestClient]:
    """An app with Stripe configured (webhook secret, API pointed at the stub), plans silver and gold."""
    app = create_app(billing_settings(db_url, stripe_api_url=stripe_api.url))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        put_priced_plans(test_client)
        yield test_client


def put_priced_plans(client: TestClient) -> None:
    """Plans silver and gold, sold as the Stripe prices price_silver and price_gold."""
    put_plans(client)
    for plan in ok(client.get("/v1/plans"))["items"]:
        ok(map_price(client, plan, f"price_{plan['code']}"))


def map_price(client: TestClient, plan: dict[str, Any], *price_ids: str) -> Any:
    body = {k: plan[k] for k in ("name", "rank", "monthly_price", "routing", "sla", "active")}
    return client.put(f"/v1/plans/{plan['code']}",
                      json={**body, "external_prices": [{"system": "stripe", "id": p} for p in price_ids]})


class StripeStub:
    """`GET /v1/subscriptions` as Stripe answers it: pages of `limit`, has_more, starting_after."""

    def __init__(self, page_size: int = 2) -> None:
        self.subscriptions: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.page_size = page_size
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                stub.requests.append({"path": url.path, "query": query, "authorization": self.headers.get("Authorization")})
                if url.path != "/v1/subscriptions":
                    return self._send(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}})
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    return self._send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
                ended = ("canceled", "incomplete_expired")
                subs = [s for s in stub.subscriptions if query.get("status") == "all" or s["status"] not in ended]
                start = 0
                if "starting_after" in query:
                    start = next(i for i, s in enumerate(subs) if s["id"] == query["starting_after"]) + 1
                size = min(int(query.get("limit", "10")), stub.page_size)
                page = subs[start:start + size]
                self._send(200, {"object": "list", "url": "/v1/subscriptions", "data": page,
                                 "has_more": start + size < len(subs)})

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_stub")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
