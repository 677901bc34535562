"""The check's fast lane answers exactly as FastAPI's routes do, and steps aside for the unusual.

Every request below is sent twice to one app: once with the lane (the usual way) and once with
the lane switched off (FastAPI's route, dependencies and exception handlers). Status, body (less
the per-request decision id and time) and the headers a caller relies on must be the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from service.api.app import SupportgateApp
from service.settings import Settings
from tests.api.test_auth import make_key
from tests.helpers import app_state, create_client, publish_contract, put_plans, sign

KEYED = {"Authorization": "Bearer test-admin-key"}
CASES: list[tuple[str, str, str, dict[str, Any], bool]] = [
    # (name, method, url, httpx kwargs, answered by the lane)
    ("json-flat", "POST", "/v1/entitlements/check", {"json": {"phone": "(212) 555-0142", "service": "advanced_support"}}, True),
    ("json-structured", "POST", "/v1/entitlements/check",
     {"json": {"client": {"email": "office@acme.com"}, "service": "premium_onsite"}}, True),
    ("flat-answer", "POST", "/v1/entitlements/check?format=flat", {"json": {"ani": "tel:+12125550142", "service": "triage"}}, True),
    ("form-with-query", "POST", "/v1/entitlements/check?service=advanced_support", {"data": {"From": "+12125550142"}}, True),
    ("withheld", "POST", "/v1/entitlements/check", {"json": {"phone": "anonymous", "service": "advanced_support"}}, True),
    ("unknown-caller", "POST", "/v1/entitlements/check", {"json": {"phone": "+14155550000", "service": "advanced_support"}}, True),
    ("at-in-future", "POST", "/v1/entitlements/check",
     {"json": {"phone": "2125550142", "service": "advanced_support", "at": "2031-01-01T00:00:00Z"}}, True),
    ("unknown-service", "POST", "/v1/entitlements/check", {"json": {"phone": "2125550142", "service": "teleport"}}, True),
    ("not-a-phone", "POST", "/v1/entitlements/check", {"json": {"phone": "call me", "service": "triage"}}, True),
    ("two-identifiers", "POST", "/v1/entitlements/check",
     {"json": {"phone": "2125550142", "email": "a@b.co", "service": "triage"}}, True),
    ("bad-json", "POST", "/v1/entitlements/check", {"content": b"{nope", "headers": {"content-type": "application/json"}}, True),
    ("array-body", "POST", "/v1/entitlements/check", {"json": [1, 2]}, True),
    ("bad-at", "POST", "/v1/entitlements/check", {"json": {"phone": "2125550142", "service": "triage", "at": "soon"}}, True),
    ("no-key", "POST", "/v1/entitlements/check",
     {"json": {"phone": "2125550142", "service": "triage"}, "headers": {"Authorization": ""}}, True),
    ("unknown-key", "POST", "/v1/entitlements/check",
     {"json": {"phone": "2125550142", "service": "triage"}, "headers": {"Authorization": "Bearer nope"}}, True),
    ("x-api-key", "GET", "/v1/entitlements/check?service=triage&phone=2125550142",
     {"headers": {"Authorization": "", "X-API-Key": "test-admin-key"}}, True),
    ("get", "GET", "/v1/entitlements/check?service=advanced_support&From=%2B12125550142", {}, True),
    ("get-flat", "GET", "/v1/entitlements/check?service=advanced_support&email=office@acme.com&format=flat", {}, True),
    ("get-no-identifier", "GET", "/v1/entitlements/check?service=triage", {}, True),
    ("batch", "POST", "/v1/entitlements/check-batch", {"json": {"items": [
        {"phone": "2125550142", "service": "advanced_support"},
        {"client": {"email": "office@acme.com"}, "service": "premium_onsite"},
        {"phone": "2125550142", "service": "teleport"},
    ]}}, True),
    # contacts and channels (issue 18)
    ("contact-beside", "POST", "/v1/entitlements/check", {"json": {
        "client": {"phone": "+14155550123"}, "contact": {"email": "eve@restricted.com"}, "service": "advanced_support",
        "channel": "phone"}}, True),
    ("contact-phone", "POST", "/v1/entitlements/check", {"json": {"phone": "415 555 0199", "service": "advanced_support",
                                                                  "channel": "email"}}, True),
    ("contact-domain", "POST", "/v1/entitlements/check?format=flat",
     {"json": {"email": "dave@restricted.com", "service": "onsite_support"}}, True),
    ("get-contact", "GET", "/v1/entitlements/check?service=advanced_support&email=office@restricted.com"
     "&contact_phone=4155550199&channel=phone&format=flat", {}, True),
    ("post-bad-channel", "POST", "/v1/entitlements/check", {"json": {"phone": "2125550142", "service": "triage",
                                                                     "channel": "fax"}}, True),
    ("post-bad-contact", "POST", "/v1/entitlements/check", {"json": {
        "client": {"phone": "2125550142"}, "contact": {"phone": "x", "email": "y"}, "service": "triage"}}, True),
    ("batch-contacts", "POST", "/v1/entitlements/check-batch", {"json": {"items": [
        {"phone": "4155550199", "service": "advanced_support", "channel": "phone"},
        {"client": {"email": "office@restricted.com"}, "contact": {"email": "bo@restricted.com"}, "service": "onsite_support"},
        {"email": "zed@restricted.com", "service": "triage", "channel": "chat"},
        {"phone": "2125550142", "service": "triage", "channel": "fax"},
    ]}}, True),
    # the unusual: FastAPI's route answers (validation, limits) in both runs
    ("get-bad-channel", "GET", "/v1/entitlements/check?service=triage&phone=2125550142&channel=fax", {}, False),
    ("get-bad-format", "GET", "/v1/entitlements/check?service=triage&phone=2125550142&format=xml", {}, False),
    ("get-no-service", "GET", "/v1/entitlements/check?phone=2125550142", {}, False),
    ("get-long-phone", "GET", "/v1/entitlements/check?service=triage&phone=" + "1" * 101, {}, False),
    ("post-bad-format", "POST", "/v1/entitlements/check?format=xml", {"json": {"phone": "2125550142", "service": "triage"}}, False),
    ("multipart", "POST", "/v1/entitlements/check", {"files": {"x": ("a.txt", b"a")}, "data": {"phone": "2125550142",
                                                                                           "service": "triage"}}, False),
    ("batch-invalid", "POST", "/v1/entitlements/check-batch", {"json": {"items": "all"}}, False),
    ("batch-too-many", "POST", "/v1/entitlements/check-batch", {"json": {"items": [{"phone": "1", "service": "x"}] * 101}}, False),
    ("batch-no-key-invalid", "POST", "/v1/entitlements/check-batch", {"json": {"items": 1}, "headers": {"Authorization": ""}}, False),
    ("too-large", "POST", "/v1/entitlements/check",
     {"content": b'{"phone": "' + b"1" * (1024 * 1024) + b'"}', "headers": {"content-type": "application/json"}}, False),
    ("put", "PUT", "/v1/entitlements/check", {"json": {}}, False),
]


PER_REQUEST = ("decision_id", "evaluated_at", "first_response_due_at", "onsite_due_at", "next_open_at")


def _comparable(body: Any) -> Any:
    """The answer without what differs per request (decision id, evaluation time and the deadlines counted from it)."""
    if isinstance(body, dict):
        return {k: _comparable(v) for k, v in body.items() if k not in PER_REQUEST}
    if isinstance(body, list):
        return [_comparable(v) for v in body]
    return body


class LaneClient(TestClient):
    """What lane_client is: the `client` fixture (its app a SupportgateApp), with the paths that reached FastAPI's stack."""

    app: SupportgateApp
    stack_calls: list[str]


@pytest.fixture
def lane_client(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> LaneClient:
    put_plans(client)
    publish_contract(client)
    acme = create_client(client, phones=["(212) 555-0142"], emails=["office@acme.com"])
    sign(client, acme["id"])
    create_client(client, "Restricted Co", phones=["+14155550123"], emails=["office@restricted.com"],
                  domains=["restricted.com"], restrict_to_contacts=True,
                  contacts=[{"name": "Ann", "phone": "4155550199", "roles": ["requester"]},
                            {"name": "Bo", "email": "bo@restricted.com", "roles": ["approver"]}])
    stack_calls: list[str] = []
    original = FastAPI.__call__

    async def counting(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            stack_calls.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(FastAPI, "__call__", counting)
    lane = cast(LaneClient, client)  # the same object, typed with the attribute it gets here
    lane.stack_calls = stack_calls
    return lane


@pytest.mark.parametrize(("method", "url", "kwargs", "in_lane"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_lane_answers_as_the_route_does(
    lane_client: LaneClient, method: str, url: str, kwargs: dict[str, Any], in_lane: bool,
) -> None:
    app = lane_client.app
    assert app.lane is not None
    lane = app.lane
    lane_client.stack_calls.clear()
    with_lane = lane_client.request(method, url, **kwargs)
    reached_stack = bool(lane_client.stack_calls)
    app.lane = None
    try:
        lane_client.stack_calls.clear()
        without = lane_client.request(method, url, **kwargs)
        assert lane_client.stack_calls, "with the lane off, FastAPI answers"
    finally:
        app.lane = lane
    assert reached_stack is not in_lane
    assert with_lane.status_code == without.status_code, with_lane.text
    assert with_lane.headers["content-type"] == without.headers["content-type"]
    assert _comparable(json.loads(with_lane.content)) == _comparable(json.loads(without.content))
    for header in ("x-content-type-options", "cache-control", "www-authenticate", "retry-after", "allow"):
        assert with_lane.headers.get(header) == without.headers.get(header), header
    assert len(with_lane.headers["x-request-id"]) == 32
    assert with_lane.status_code < 500


def test_the_lane_honours_the_request_id_and_counts_in_the_metrics(lane_client: LaneClient) -> None:
    answer = lane_client.post("/v1/entitlements/check", json={"phone": "2125550142", "service": "advanced_support"},
                              headers={"X-Request-ID": "call-42.abc"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "call-42.abc"
    assert answer.json()["allowed"] is True
    assert not lane_client.stack_calls
    metrics = lane_client.get("/metrics").text
    assert 'supportgate_http_requests_total{method="POST",route="/v1/entitlements/check",status="200"}' in metrics
    assert 'supportgate_decisions_total{outcome="allowed",service="advanced_support"}' in metrics


def test_the_lane_enforces_the_scope_and_the_rate_limit(
    lane_client: LaneClient, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = make_key(settings.database_url, "reader", ["clients:read"])
    refused = lane_client.post("/v1/entitlements/check", json={"phone": "2125550142", "service": "triage"},
                               headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    limiter = app_state(lane_client).limiter
    monkeypatch.setattr(limiter, "acquire", lambda name, now=None: 2.5)
    limited = lane_client.post("/v1/entitlements/check", json={"phone": "2125550142", "service": "triage"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert not lane_client.stack_calls


def test_a_chunked_body_over_the_limit_is_refused_whole(lane_client: LaneClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the lane finds the size while reading, then hands over what it read
        yield b'{"phone": "2125550142", "service": "triage", "pad": "'
        for _ in range(40):
            yield b"x" * 32768
        yield b'"}'

    answer = lane_client.post("/v1/entitlements/check", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
