"""POST /v1/billing/sync: the Stripe reconciliation as a job; the answer waits a little for its result."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from service.api.deps import Admin, StateDep
from service.api.routes.jobs import JobOut
from service.api.schemas.billing import BillingSyncIn, BillingSyncOut
from service.api.schemas.common import Problem
from service.errors import ServiceError, Unavailable
from service.usecases import jobs
from service.usecases.billing_jobs import enqueue_sync
from service.usecases.billing_sync import BillingNotConfigured, BillingUnreachable, stripe_client

router = APIRouter(tags=["billing"])
# A sync of a few thousand subscriptions finishes within this; a longer one is followed at /v1/jobs/{id}.
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.1

SYNC_ERRORS: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Still running: follow the job (Location: /v1/jobs/{id})"},
    401: {"model": Problem, "description": "Missing or unknown API key"},
    403: {"model": Problem, "description": "The key lacks the scope `admin`"},
    409: {"model": Problem, "description": "SUPPORTGATE_STRIPE_API_KEY is not set"},
    422: {"model": Problem, "description": "Invalid input"},
    502: {"model": Problem, "description": "Stripe could not be listed (the job retries)"},
    503: {"model": Problem, "description": "Database unavailable; retry later"},
}


class SyncFailed(ServiceError):
    code = "billing-sync-failed"
    http_status = 502
    title = "The billing sync failed"


def _enqueue(state: Any, dry_run: bool, trigger: str) -> str:
    with state.db.writer() as session:
        job_id = enqueue_sync(session, dry_run=dry_run, trigger=trigger)
        session.commit()
    return job_id


def _job(state: Any, job_id: str) -> JobOut | None:
    with state.db.reader() as session:
        row = jobs.get_job(session, job_id)
        return JobOut.from_row(row) if row is not None else None


@router.post("/v1/billing/sync", response_model=BillingSyncOut, responses=SYNC_ERRORS,
             summary="Reconcile memberships with Stripe's subscriptions (dry_run only reports)")
async def billing_sync(state: StateDep, caller: Admin, body: BillingSyncIn | None = None) -> Any:
    dry_run = body.dry_run if body is not None else False
    if not state.cache.db_available:
        raise Unavailable("the database cannot be reached; retry later")
    stripe_client(state.settings)  # 409 now, rather than a failed job, when no API key is set
    job_id = await run_in_threadpool(_enqueue, state, dry_run, caller.name)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        job = await run_in_threadpool(_job, state, job_id)
        if job is None:
            raise SyncFailed(f"the job {job_id} disappeared")
        if job.status == "succeeded":
            return {**(job.result or {"checked": 0, "changed": []}), "job_id": job_id}
        if job.status == "failed":
            error = job.error or "the job failed"
            raise (BillingNotConfigured(error) if "not set" in error else SyncFailed(error))
        if job.status == "queued" and job.error:
            # An attempt failed and waits for its retry (Stripe did not answer): say so now.
            raise BillingUnreachable(f"{job.error} (job {job_id} retries)")
        if loop.time() >= deadline:
            return Response(job.model_dump_json(), status_code=202, media_type="application/json",
                            headers={"Location": f"/v1/jobs/{job_id}"})
        await asyncio.sleep(POLL_SECONDS)
