"""Mail delivery as a periodic job: every runner drains the due mail outbox off the request loop."""

from __future__ import annotations

import time
from typing import Any

from service.usecases.jobs import JobContext, job_handler, periodic
from service.usecases.mail import deliver_due_mail

MAIL_KIND = "mail.deliver"
BATCH = 100
# One run keeps sending while batches come back full, for about this long; the next slot continues.
RUN_BUDGET_SECONDS = 20.0


@job_handler(MAIL_KIND)
def deliver_mail(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    attempted = 0
    while True:
        batch = deliver_due_mail(ctx.db, ctx.settings, ctx.now(), limit=BATCH)
        attempted += batch
        if batch < BATCH or time.monotonic() - started > RUN_BUDGET_SECONDS:
            return {"attempted": attempted}


periodic(MAIL_KIND, lambda settings: settings.mail_poll_seconds)
