"""The process's webhook machinery: the HTTP client for confirmations and the retry loop (a thread)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry, Counter

from service.settings import Settings
from service.storage.database import Database
from service.usecases.webhooks import Inbox, RetryPolicy
from service.webhooks.confirm import ProviderApi

log = logging.getLogger("supportgate.webhooks")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookWorker:
    """Built and stopped in the app's lifespan; several processes may run one (events are claimed)."""

    def __init__(self, settings: Settings, db: Database, retries: Counter | None = None) -> None:
        """`retries` counts the loop's attempts by provider and outcome (the app's metrics)."""
        self.settings = settings
        self.retries = retries or Counter(
            "supportgate_webhook_retries", "Webhook retries", ["provider", "outcome"], registry=CollectorRegistry()
        )
        self.http = httpx.Client(timeout=settings.webhook_confirm_timeout_seconds, follow_redirects=False)
        policy = RetryPolicy(
            base_seconds=settings.webhook_retry_base_seconds,
            max_seconds=settings.webhook_retry_max_seconds,
            max_attempts=settings.webhook_retry_max_attempts,
            lease_seconds=max(60.0, 4 * settings.webhook_confirm_timeout_seconds),
        )
        self.inbox = Inbox(db, ProviderApi(settings, self.http).confirm, _utc_now, policy)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="supportgate-webhook-retry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_confirm_timeout_seconds + 5)
        self.http.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.webhook_retry_poll_seconds):
            try:
                for provider, outcome in self.inbox.retry_due():
                    self.retries.labels(provider, outcome.outcome).inc()
                    log.info("webhook retried", extra={"event_id": outcome.event_id, "status": outcome.status})
            except Exception as exc:  # the loop must outlive a database outage
                log.warning("webhook retry pass failed", extra={"error": type(exc).__name__})
