"""The modules whose `@job_handler`s every runner knows: importing this registers them all.

A feature with its own job kinds adds its module to the import list below (one line each).
"""

from __future__ import annotations

from service.usecases import billing_jobs  # noqa: F401  (billing.sync, billing.sync.scheduled)
