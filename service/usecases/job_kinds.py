"""The modules whose `@job_handler`s every runner knows: importing this registers them all.

A feature with its own job kinds adds its module to the import list below (one line each).
"""

from __future__ import annotations

import service.usecases.billing_jobs  # noqa: F401  # billing.sync, billing.sync.scheduled
from service.usecases import (
    campaign_scheduler,  # noqa: F401  # campaigns.schedule (periodic)
    import_job,  # noqa: F401  # clients.import
    mail_job,  # noqa: F401  # mail.deliver
    outbox,  # noqa: F401  # outbox.deliver (also periodic)
    webhook_jobs,  # noqa: F401  # webhooks.process (also periodic)
)
