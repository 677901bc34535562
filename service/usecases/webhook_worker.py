"""The serving process's webhook machinery: storing verified deliveries, and replays on request.

Deliveries are stored on one thread of their own, one at a time and paced beside the request loop
(service/usecases/pacing.py): a burst of deliveries then waits a little for its answers instead of
taking the interpreter from the checks. Processing the stored events is a job
(service/usecases/webhook_jobs.py), in the embedded runner or a `supportgate worker`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from service.settings import Settings
from service.storage.database import Database
from service.usecases.pacing import SharePacer
from service.usecases.webhooks import Inbox, Outcome, RetryPolicy
from service.webhooks import NormalisedEvent
from service.webhooks.confirm import ProviderApi

# While the request loop is busy, storing deliveries takes at most this share of the time (of one core).
RECEIPT_SHARE = 0.15


def _utc_now() -> datetime:
    return datetime.now(UTC)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_seconds=settings.webhook_retry_base_seconds,
        max_seconds=settings.webhook_retry_max_seconds,
        max_attempts=settings.webhook_retry_max_attempts,
        lease_seconds=max(60.0, 4 * settings.webhook_confirm_timeout_seconds),
    )


def inbox_for(settings: Settings, db: Database, http: httpx.Client, clock: Callable[[], datetime] = _utc_now) -> Inbox:
    return Inbox(db, ProviderApi(settings, http).confirm, clock, retry_policy(settings))


def confirm_client(settings: Settings) -> httpx.Client:
    """The HTTP client that asks providers to confirm an event (no redirects: the URL is a setting)."""
    return httpx.Client(timeout=settings.webhook_confirm_timeout_seconds, follow_redirects=False)


class WebhookIntake:
    """Built in the app's lifespan (on the request loop's thread, whose CPU clock the pacer reads)."""

    def __init__(self, settings: Settings, db: Database, *, loop_clock: int | None = None) -> None:
        self.settings = settings
        self.http = confirm_client(settings)
        self.inbox = inbox_for(settings, db, self.http)
        self.pacer = SharePacer(loop_clock, RECEIPT_SHARE)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supportgate-webhook-intake")

    async def receive(self, event: NormalisedEvent, *, body: str, headers: dict[str, Any]) -> Outcome:
        """Store one verified event (or find it stored already); answered once its transaction committed."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._receive, event, body, headers)

    def _receive(self, event: NormalisedEvent, body: str, headers: dict[str, Any]) -> Outcome:
        with self.pacer.turn():
            return self.inbox.receive(event, body=body, headers=headers)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self.http.close()
