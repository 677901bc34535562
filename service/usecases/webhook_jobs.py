"""Processing the webhook inbox as a job: stored events applied, confirmed with their provider, retried.

A delivery stores its events and requests a run of `webhooks.process` (service/usecases/webhooks.py);
the kind is also periodic (every SUPPORTGATE_WEBHOOK_RETRY_POLL_SECONDS), which takes up failed events
when their retry is due and events left half-done by a processor that died. A run takes up due
events one at a time until none is left (or for about RUN_BUDGET_SECONDS, then asks for another run
so that other jobs get their turn). Beside a request loop it gives way while the loop is busy.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.storage.webhook_inbox import InboxRepository
from service.usecases.jobs import JobContext, job_handler, periodic, request_run
from service.usecases.pacing import SharePacer
from service.usecases.webhook_worker import confirm_client, inbox_for
from service.usecases.webhooks import PROCESS_KIND

log = logging.getLogger("supportgate.webhooks")

RUN_BUDGET_SECONDS = 20.0
# While the request loop of this process is busy, processing takes at most this share of the time.
PROCESS_SHARE = 0.15


@job_handler(PROCESS_KIND)
def process_webhooks(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    processed = retried = 0
    outcomes: dict[str, int] = {}
    pacer = SharePacer(ctx.loop_clock, PROCESS_SHARE)
    counted = ctx.counters.get("webhook_processed")
    retries = ctx.counters.get("webhook_retries")
    with confirm_client(ctx.settings) as http:
        inbox = inbox_for(ctx.settings, ctx.db, http, ctx.clock)
        while True:
            if time.monotonic() - started > RUN_BUDGET_SECONDS:
                with ctx.db.writer() as session:
                    request_run(session, PROCESS_KIND, now=ctx.now())
                    session.commit()
                break
            with pacer.turn():
                done = inbox.process_next()
            if done is None:
                break
            provider, outcome, retry = done
            processed += 1
            outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
            if counted is not None:
                counted.labels(provider, outcome.outcome).inc()
            if retry:
                retried += 1
                if retries is not None:
                    retries.labels(provider, outcome.outcome).inc()
            if outcome.outcome == "failed":
                log.warning("webhook event not processed", extra={"event_id": outcome.event_id, "provider": provider,
                                                                  "detail": (outcome.detail or "")[:200]})
    return {"processed": processed, "retried": retried, "outcomes": outcomes}


def _anything_due(session: Session, now: datetime) -> bool:
    return InboxRepository(session).any_due(now)


periodic(PROCESS_KIND, lambda settings: settings.webhook_retry_poll_seconds, when=_anything_due)
