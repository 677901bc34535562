"""The check's fast lane: the entitlement check answered straight from ASGI.

FastAPI's stack for one request (its middlewares, the router's match over every route, the
dependency solver, Request and Response objects) costs more than the cached check itself, and the
check is called on every support call and ticket update. So the app (SupportgateApp.__call__)
offers the check routes' usual requests to this lane first. The lane runs the same functions as
the routes in service.api.routes.checks (same auth, rate limit, parsing, decision, rendering,
errors, headers, metrics and access log) and steps aside for anything unusual — a malformed query
parameter, a multipart body, a batch body that fails validation, a browser request when CORS is
configured, a body over the limit — which then takes FastAPI's route as before, with any body
already read replayed. The routes stay the documented, validated form of the same operation.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from service.api import problems
from service.api.deps import AppState, presented_key_in
from service.api.middleware import Metrics, answer_headers, finish, length_from, request_id_from
from service.api.routes import checks
from service.api.schemas.checks import BatchRequest

if TYPE_CHECKING:
    from fastapi import FastAPI

CHECK = "/v1/entitlements/check"
BATCH = "/v1/entitlements/check-batch"
PATHS = frozenset({CHECK, BATCH})
_JSON = b"application/json"
_WANTED = frozenset({b"authorization", b"x-api-key", b"content-type", b"content-length", b"x-request-id", b"origin"})


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


def _replaying(chunks: list[bytes], more: bool, receive: Receive) -> Receive:
    """A receive that hands out the body read so far, then whatever the client still sends."""
    pending = [b"".join(chunks)]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": more}
        return await receive()

    return replay


class CheckLane:
    def __init__(self, app: FastAPI, metrics: Metrics, *, max_body: int, cors: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """None when the lane answered; otherwise the receive with which FastAPI's stack should."""
        state: AppState | None = getattr(self.app.state, "sg", None)
        method = scope["method"]
        if state is None or method not in ("GET", "POST"):
            return receive
        path = scope["path"]
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:  # names arrive lower-cased (ASGI); the first of each counts
            if name in _WANTED and name not in headers:
                headers[name] = value
        if self.cors and b"origin" in headers:
            return receive  # CORSMiddleware answers browsers
        raw_query = scope["query_string"]
        query = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)) if raw_query else {}
        fmt = query.get("format", "json")
        if fmt not in checks.FORMATS:
            return receive
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if method == "GET":
            if path != CHECK or not checks.get_is_usual(query):
                return receive
        elif content_type.startswith("multipart/") or (path == BATCH and content_type != "application/json"):
            return receive

        started = time.perf_counter()
        request_id = request_id_from(headers.get(b"x-request-id"))
        content_length = length_from(headers.get(b"content-length"))
        body = b""
        if method == "POST":
            if content_length is not None and content_length > self.max_body:
                return receive  # the gateway's 413
            chunks: list[bytes] = []
            size, more = 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return _replaying(chunks, True, receive) if chunks else receive  # a disconnect: the stack sees it
                chunk = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                more = message.get("more_body", False)
                if size > self.max_body:
                    return _replaying(chunks, more, receive)
            body = b"".join(chunks)
        batch: BatchRequest | None = None
        if path == BATCH:
            try:
                batch = BatchRequest.model_validate_json(body)
            except ValidationError:
                return _replaying([body], False, receive)  # FastAPI's 422 (after the key check)

        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        try:
            extra: list[tuple[bytes, bytes]] = []
            try:
                now = datetime.now(UTC)
                key = presented_key_in(_text(headers.get(b"authorization")), _text(headers.get(b"x-api-key")))
                await checks.admit_checker(key, scope, state, now)
                if batch is not None:
                    answer = await checks.answer_batch(state, now, batch)
                elif method == "POST":
                    answer = await checks.answer_fields(state, now, checks.body_fields(body, content_type), query, fmt)
                else:
                    answer = await checks.answer_query(state, now, query, fmt)
                status, media = 200, _JSON
            except Exception as exc:  # rendered exactly as the app's exception handlers do
                response = problems.error_response(self.app, method, path, exc)
                status, answer, media = response.status_code, bytes(response.body), problems.PROBLEM.encode()
                extra = [h for h in response.raw_headers if h[0] not in (b"content-type", b"content-length")]
            await send({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", media), (b"content-length", str(len(answer)).encode()), *extra, *answer_headers(request_id.encode()),
            ]})
            await send({"type": "http.response.body", "body": answer})
        finally:
            finish(self.metrics, scope, path, status, started, request_id)
        return None
