"""Delivering the durable outbox as a job: retries with exponential backoff, Retry-After honoured.

Queueing a message requests a run of `outbox.deliver` in the same transaction (request_delivery);
the kind is also periodic (every SUPPORTGATE_OUTBOX_POLL_SECONDS, only when a message is due), which
sends the retries once their time has come and what an earlier process left pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from prometheus_client import Counter
from sqlalchemy.orm import Session

from service.settings import Settings
from service.storage import outbox
from service.storage.database import Database
from service.usecases import audit
from service.usecases.jobs import JobContext, job_handler, periodic, request_run

log = logging.getLogger("supportgate.outbox")

# A claimed message is skipped by other workers for this long (longer than one HTTP attempt).
LEASE = timedelta(seconds=60)
HTTP_TIMEOUT = 10.0
MAX_RETRY_AFTER = 24 * 3600.0
OUTBOX_KIND = "outbox.deliver"
BATCH = 20
# One run keeps sending while batches come back full, for about this long; the next run continues.
RUN_BUDGET_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # delivered | failed | pending (retry)
    error: str | None = None
    delay: float = 0.0


def backoff(attempts: int, max_seconds: float) -> float:
    """1 s after the first failed attempt, doubling, at most `max_seconds`."""
    return float(min(max_seconds, 2.0 ** min(max(attempts - 1, 0), 40)))


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def classify(response: httpx.Response | None, error: Exception | None, attempts: int, max_backoff: float, now: datetime) -> Outcome:
    """What one attempt means: delivered; retried later (unreachable, 429, 5xx); failed for good (other 4xx)."""
    if response is None:
        return Outcome("pending", f"{type(error).__name__}: {error}"[:2000], backoff(attempts, max_backoff))
    if 200 <= response.status_code < 300:
        return Outcome("delivered")
    detail = f"HTTP {response.status_code}: {response.text[:500]}"
    if response.status_code == 429 or response.status_code >= 500:
        wait = retry_after(response.headers.get("retry-after"), now)
        return Outcome("pending", detail, wait if wait is not None else backoff(attempts, max_backoff))
    return Outcome("failed", detail)


def _claim(db: Database, now: datetime, limit: int) -> list[tuple[str, str, str, dict[str, object], str, int]]:
    # Look with a reader first: on SQLite a writer takes the database's write lock.
    with db.reader() as session:
        if not outbox.any_due(session, now=now):
            return []
    with db.writer() as session:
        rows = outbox.claim_due(session, now=now, lease=LEASE, limit=limit)
        claimed = [(r.id, r.method, r.url, dict(r.payload), r.target, r.attempts) for r in rows]
        session.commit()
    return claimed


def _auth(settings: Settings, target: str) -> httpx.BasicAuth | None:
    token = settings.zendesk_api_token
    if target == "zendesk" and settings.zendesk_email and token is not None:
        return httpx.BasicAuth(f"{settings.zendesk_email}/token", token.get_secret_value())
    return None


def _record(db: Database, message_id: str, target: str, outcome: Outcome, now: datetime) -> None:
    with db.writer() as session:
        row = outbox.get(session, message_id)
        if row is None or row.status != outbox.PENDING:
            return
        row.attempts += 1
        row.last_error = outcome.error
        row.status = outcome.status
        row.next_attempt_at = now + timedelta(seconds=outcome.delay) if outcome.status == outbox.PENDING else None
        if outcome.status == outbox.DELIVERED:
            row.delivered_at = now
        if outcome.status != outbox.PENDING:
            audit.record(session, kind=f"outbox.{outcome.status}", actor="outbox", at=now, scope="none",
                         subject=f"{target} {row.method} {row.url}"[:200],
                         after={"outbox_id": row.id, "attempts": row.attempts, "last_error": row.last_error})
        session.commit()


def deliver_due(db: Database, settings: Settings, http: httpx.Client, *, clock: Callable[[], datetime],
                attempts: Counter | None = None, limit: int = BATCH) -> int:
    """One round: claim up to `limit` due messages (leased, so no other runner sends them meanwhile),
    send each once and record the attempt. Returns how many were attempted."""
    claimed = _claim(db, clock(), limit)
    for message_id, method, url, payload, target, tried in claimed:
        response: httpx.Response | None = None
        error: Exception | None = None
        try:
            response = http.request(method, url, json=payload, auth=_auth(settings, target) or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            error = exc
        outcome = classify(response, error, tried + 1, settings.outbox_max_backoff_seconds, clock())
        if attempts is not None:
            attempts.labels(target, outcome.status).inc()
        if outcome.status != outbox.DELIVERED:
            log.warning("outbox %s to %s: %s", message_id, target, outcome.error)
        _record(db, message_id, target, outcome, clock())
    return len(claimed)


def request_delivery(session: Session, now: datetime) -> None:
    """Called in the transaction that queues a message: a delivery run starts once it commits."""
    request_run(session, OUTBOX_KIND, now=now)


@job_handler(OUTBOX_KIND)
def deliver_outbox(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    attempted = 0
    counter = ctx.counters.get("outbox_attempts")
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as http:
        while True:
            batch = deliver_due(ctx.db, ctx.settings, http, clock=ctx.clock, attempts=counter)
            attempted += batch
            if batch < BATCH or time.monotonic() - started > RUN_BUDGET_SECONDS:
                return {"attempted": attempted}


def _anything_due(session: Session, now: datetime) -> bool:
    return outbox.any_due(session, now=now)


# Retries (and messages an earlier process left pending) are taken up at the next slot once due.
periodic(OUTBOX_KIND, lambda settings: settings.outbox_poll_seconds, when=_anything_due)
