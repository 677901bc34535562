"""The billing reconciliation as jobs: on demand (POST /v1/billing/sync) and scheduled (catches lost webhooks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.settings import Settings
from service.usecases.billing_sync import run_sync, stripe_client
from service.usecases.jobs import JobContext, enqueue, job_handler, periodic

SYNC = "billing.sync"
SCHEDULED = "billing.sync.scheduled"
# Progress is written in its own transaction: once per this many subscriptions is plenty.
PROGRESS_EVERY = 50


def _sync(ctx: JobContext, *, dry_run: bool, trigger: str) -> dict[str, Any]:
    def progress(done: int, total: int | None) -> None:
        if total is not None or done % PROGRESS_EVERY == 0:
            ctx.progress(done, total)

    report = run_sync(ctx.db, stripe_client(ctx.settings), dry_run=dry_run, trigger=trigger, clock=ctx.now,
                      progress=progress)
    return report.as_dict()


@job_handler(SYNC)
def sync_job(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    return _sync(ctx, dry_run=bool(payload.get("dry_run")), trigger=str(payload.get("trigger") or "api")[:100])


@job_handler(SCHEDULED)
def scheduled_sync_job(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    settings = ctx.settings
    if not settings.billing_sync_interval_seconds:
        return {"skipped": "SUPPORTGATE_BILLING_SYNC_INTERVAL_SECONDS is 0"}
    if settings.stripe_api_key is None:
        return {"skipped": "SUPPORTGATE_STRIPE_API_KEY is not set"}
    return _sync(ctx, dry_run=False, trigger="schedule")


def _interval(settings: Settings) -> float:
    """Off (0) when set to 0 or when there is no Stripe API key to list subscriptions with."""
    return settings.billing_sync_interval_seconds if settings.stripe_api_key is not None else 0.0


periodic(SCHEDULED, _interval)


def enqueue_sync(session: Session, *, dry_run: bool, trigger: str) -> str:
    """Queue a reconciliation; one live run of each kind (real or dry) at a time."""
    return enqueue(session, SYNC, {"dry_run": dry_run, "trigger": trigger}, dedupe_key=f"{SYNC}:{'dry' if dry_run else 'apply'}",
                   max_attempts=3)
