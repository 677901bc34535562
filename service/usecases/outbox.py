"""Delivering the durable outbox: one loop per process, retries with exponential backoff, Retry-After honoured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from prometheus_client import Counter

from service.settings import Settings
from service.storage import outbox
from service.storage.database import Database
from service.usecases import audit

log = logging.getLogger("supportgate.outbox")

# A claimed message is skipped by other workers for this long (longer than one HTTP attempt).
LEASE = timedelta(seconds=60)
HTTP_TIMEOUT = 10.0
MAX_RETRY_AFTER = 24 * 3600.0


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


class OutboxWorker:
    """Claims due messages, sends them with httpx and records each attempt on the row."""

    def __init__(self, db: Database, settings: Settings, *, poll_seconds: float = 1.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), attempts: Counter | None = None) -> None:
        self.db = db
        self.attempts = attempts
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="supportgate-outbox")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=HTTP_TIMEOUT + 1)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._http is not None:
            await self._http.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive a database outage; the rows keep their state
                log.warning("outbox delivery round failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()

    def _claim(self) -> list[tuple[str, str, str, dict[str, object], str, int]]:
        # Look with a reader first: on SQLite a writer takes the database's write lock.
        with self.db.reader() as session:
            if not outbox.any_due(session, now=self.clock()):
                return []
        with self.db.writer() as session:
            rows = outbox.claim_due(session, now=self.clock(), lease=LEASE, limit=20)
            claimed = [(r.id, r.method, r.url, dict(r.payload), r.target, r.attempts) for r in rows]
            session.commit()
        return claimed

    def _auth(self, target: str) -> httpx.BasicAuth | None:
        token = self.settings.zendesk_api_token
        if target == "zendesk" and self.settings.zendesk_email and token is not None:
            return httpx.BasicAuth(f"{self.settings.zendesk_email}/token", token.get_secret_value())
        return None

    def _record(self, message_id: str, target: str, outcome: Outcome) -> None:
        now = self.clock()
        with self.db.writer() as session:
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

    async def deliver_due(self) -> int:
        """One round: send every due message once. Returns how many were attempted."""
        assert self._http is not None
        claimed = await asyncio.to_thread(self._claim)
        for message_id, method, url, payload, target, attempts in claimed:
            response: httpx.Response | None = None
            error: Exception | None = None
            try:
                response = await self._http.request(method, url, json=payload, auth=self._auth(target) or httpx.USE_CLIENT_DEFAULT)
            except httpx.HTTPError as exc:
                error = exc
            outcome = classify(response, error, attempts + 1, self.settings.outbox_max_backoff_seconds, self.clock())
            if self.attempts is not None:
                self.attempts.labels(target, outcome.status).inc()
            if outcome.status != outbox.DELIVERED:
                log.warning("outbox %s to %s: %s", message_id, target, outcome.error)
            await asyncio.to_thread(self._record, message_id, target, outcome)
        return len(claimed)
