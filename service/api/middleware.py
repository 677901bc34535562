"""Pure ASGI middleware (cheap on the hot path): request ids, access log, metrics, body limits,
security headers."""

from __future__ import annotations

import logging
import re
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import PROBLEM, crash_response, problem_body
from service.ids import random_hex
from service.logs import log_fast

access_log = logging.getLogger("supportgate.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_BUCKET_LABELS = (*map(floatToGoString, LATENCY_BUCKETS), "+Inf")  # as prometheus_client writes them: "1.0"


class RequestStats:
    """Request counts, latencies and decisions as plain numbers, turned into Prometheus metrics
    when scraped. Counted on the event loop for every request: a prometheus_client child takes a
    lock per increment (five a check), this takes none."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        # (method, route) -> a count per bucket of LATENCY_BUCKETS, one for +Inf, then the sum
        self.latency: dict[tuple[str, str], list[float]] = {}
        self.decisions: dict[tuple[str, str], int] = {}

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("supportgate_http_requests", "HTTP requests", labels=["method", "route", "status"])
        for (method, route, status), count in list(self.requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "supportgate_http_request_duration_seconds", "HTTP request latency", labels=["method", "route"]
        )
        for (method, route), row in list(self.latency.items()):
            buckets, running = [], 0.0
            for bound, in_bucket in zip(_BUCKET_LABELS, row[:-1], strict=True):
                running += in_bucket
                buckets.append((bound, running))
            latency.add_metric([method, route], buckets=buckets, sum_value=row[-1])
        yield latency
        decisions = CounterMetricFamily("supportgate_decisions", "Entitlement decisions", labels=["service", "outcome"])
        for (service, outcome), count in list(self.decisions.items()):
            decisions.add_metric([service, outcome], count)
        yield decisions


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stats = RequestStats()
        self.registry.register(self.stats)
        self.webhooks = Counter(
            "supportgate_webhook_deliveries", "Webhook deliveries", ["provider", "outcome"], registry=self.registry
        )
        self.webhook_processed = Counter(
            "supportgate_webhook_processed", "Stored webhook events processed by this process's job runner",
            ["provider", "outcome"], registry=self.registry,
        )
        self.webhook_retries = Counter(
            "supportgate_webhook_retries", "Failed webhook events retried by this process's job runner",
            ["provider", "outcome"], registry=self.registry,
        )
        self.outbox_attempts = Counter(
            "supportgate_outbox_attempts", "Outbound update attempts (delivered, pending = retry later, failed)",
            ["target", "outcome"], registry=self.registry,
        )

    def job_counters(self) -> dict[str, Counter]:
        """The counters that job handlers of the embedded runner count into (JobContext.counters)."""
        return {"webhook_processed": self.webhook_processed, "webhook_retries": self.webhook_retries,
                "outbox_attempts": self.outbox_attempts}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        stats = self.stats
        key = (method, route, status)
        stats.requests[key] = stats.requests.get(key, 0) + 1
        row = stats.latency.get((method, route))
        if row is None:
            row = stats.latency[(method, route)] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        row[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # le: a value on a bound counts in that bucket
        row[-1] += seconds

    def count_decision(self, service: str, allowed: bool) -> None:
        key = (service, "allowed" if allowed else "refused")
        decisions = self.stats.decisions
        decisions[key] = decisions.get(key, 0) + 1


class GatewayMiddleware:
    """Outermost layer: request id, body-size limit, security headers, metrics and the access log."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int, large_body_paths: dict[str, int]) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        # Exact paths, and templates with one `*` segment (e.g. /v1/contracts/*/document).
        self.large_body_paths = {path: n for path, n in large_body_paths.items() if "*" not in path}
        self.large_body_templates: list[tuple[str, str, int]] = []
        for path, n in large_body_paths.items():
            if "*" in path:
                head, tail = path.split("*", 1)
                self.large_body_templates.append((head, tail, n))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, content_length = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.body_limit(scope["path"])
        status_holder = [500]
        started_holder = [False]
        request_id_header = request_id.encode()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0], started_holder[0] = message["status"], True
                headers = list(message.get("headers", []))
                if any(h[0] == b"cache-control" for h in headers):  # the web page's own caching
                    headers += answer_headers(request_id_header)[:-1]
                else:
                    headers += answer_headers(request_id_header)
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
                try:
                    await self.app(scope, receive_wrapper, send_wrapper)
                except Exception as exc:
                    # Answered here and not re-raised: Starlette's outermost layer would answer too, then
                    # re-raise to the server, which logs a plain-text traceback with the error's message
                    # (an SQL error's bound parameters: phones, e-mails, signer names).
                    response = crash_response(scope["method"], scope["path"], exc)
                    if not started_holder[0]:
                        await response(scope, receive, send_wrapper)
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

    def body_limit(self, path: str) -> int:
        limit = self.large_body_paths.get(path)
        if limit is not None:
            return limit
        for head, tail, n in self.large_body_templates:
            middle = path[len(head):len(path) - len(tail)] if len(path) > len(head) + len(tail) else ""
            if middle and "/" not in middle and path.startswith(head) and path.endswith(tail):
                return n
        return self.max_body


def answer_headers(request_id: bytes) -> list[tuple[bytes, bytes]]:
    """What every answer carries; Cache-Control last (a route may set its own)."""
    return [(b"x-request-id", request_id), (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]


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
