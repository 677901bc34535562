"""Pure ASGI middleware (cheap on the hot path): request ids, access log, metrics, body limits,
security headers."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import PROBLEM, problem_body
from service.ids import random_hex
from service.logs import log_fast

access_log = logging.getLogger("supportgate.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "supportgate_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "supportgate_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.decisions = Counter(
            "supportgate_decisions", "Entitlement decisions", ["service", "outcome"], registry=self.registry
        )
        self.webhooks = Counter(
            "supportgate_webhook_deliveries", "Webhook deliveries", ["provider", "outcome"], registry=self.registry
        )
        self.webhook_retries = Counter(
            "supportgate_webhook_retries", "Stored webhook events retried by the background loop", ["provider", "outcome"],
            registry=self.registry,
        )
        self.outbox_attempts = Counter(
            "supportgate_outbox_attempts", "Outbound update attempts (delivered, pending = retry later, failed)",
            ["target", "outcome"], registry=self.registry,
        )
        # labels() takes a lock and builds a key on every call; the children are few (route templates
        # x methods x statuses), so they are looked up once and kept.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._decision_children: dict[tuple[str, bool], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._request_children.get((method, route, status))
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._request_children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_decision(self, service: str, allowed: bool) -> None:
        child = self._decision_children.get((service, allowed))
        if child is None:
            child = self._decision_children[(service, allowed)] = self.decisions.labels(service, "allowed" if allowed else "refused")
        child.inc()


class GatewayMiddleware:
    """Outermost layer: request id, body-size limit, security headers, metrics and the access log."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int, large_body_paths: dict[str, int]) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.large_body_paths = large_body_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, content_length = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.large_body_paths.get(scope["path"], self.max_body)
        status_holder = [500]
        request_id_header = request_id.encode()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id_header))
                headers.append((b"x-content-type-options", b"nosniff"))
                if not any(h[0] == b"cache-control" for h in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPException from body reading as-is (others become 400).
                    raise HTTPException(413, f"the request body is larger than {limit} bytes")
            return message

        try:
            if content_length is None or content_length <= limit:
                await self.app(scope, receive_wrapper, send_wrapper)
                return
            body = orjson.dumps(
                problem_body(413, "Payload too large", f"the request body is larger than {limit} bytes", "payload-too-large")
            )
            await send_wrapper(
                {"type": "http.response.start", "status": 413,
                 "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]}
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            route = scope.get("route")
            template: str = getattr(route, "path", None) or "unmatched"
            finish(self.metrics, scope, template, status_holder[0], started, request_id)


def request_id_of(scope: Scope) -> tuple[str, int | None]:
    """The caller's X-Request-ID when it is sane (else a new one) and the declared Content-Length."""
    request_id: bytes | None = None
    content_length: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            request_id = value
        elif name == b"content-length":
            content_length = value
    return request_id_from(request_id), length_from(content_length)


def request_id_from(raw: bytes | None) -> str:
    if raw is not None:
        candidate = raw.decode("latin-1")
        if _REQUEST_ID.match(candidate):
            return candidate
    return random_hex(128)  # unique like uuid4().hex, a tenth of the cost


def length_from(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def finish(metrics: Metrics, scope: Scope, template: str, status: int, started: float, request_id: str) -> None:
    """Metrics and the access log line of one answered request."""
    elapsed = time.perf_counter() - started
    method = scope["method"]
    metrics.observe_request(method, template, status, elapsed)
    if access_log.isEnabledFor(logging.INFO):
        caller: Any = scope["state"].get("caller_name", "")
        log_fast(access_log, logging.INFO, "request", {
            "request_id": request_id, "method": method, "route": template, "status": status,
            "latency_ms": round(elapsed * 1000, 2), "key_name": caller,
        })
