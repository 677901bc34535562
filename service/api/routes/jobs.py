"""Background jobs as the API shows them: newest first, and one job with its progress and result."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from service.api.deps import Reader, ReadSessionDep
from service.api.paging import Cursor, Keyset, Limit
from service.api.schemas.common import Problem
from service.errors import NotFound
from service.storage import tables as t
from service.usecases import jobs as uc

router = APIRouter(tags=["jobs"])

JobStatus = Literal["queued", "running", "succeeded", "failed"]

JOB_EXAMPLE: dict[str, Any] = {
    "id": "job_agrbd7tbg4frynlpzqgq4vy", "kind": "clients.import", "status": "running",
    "progress": {"done": 12000, "total": 50000}, "error": None, "result": None, "attempts": 1, "max_attempts": 3,
    "created_at": "2026-12-01T10:00:00+00:00", "run_after": "2026-12-01T10:00:00+00:00",
    "started_at": "2026-12-01T10:00:01+00:00", "finished_at": None, "updated_at": "2026-12-01T10:00:03+00:00",
}


class JobProgress(BaseModel):
    done: int
    total: int | None


class JobOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [JOB_EXAMPLE]})
    id: str
    kind: str
    status: JobStatus
    progress: JobProgress
    error: str | None
    result: dict[str, Any] | None
    attempts: int
    max_attempts: int
    created_at: datetime
    run_after: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: t.Job) -> JobOut:
        return cls(
            id=row.id, kind=row.kind, status=row.status,  # the column holds one of JobStatus
            progress=JobProgress(done=row.progress_done, total=row.progress_total), error=row.error, result=row.result,
            attempts=row.attempts, max_attempts=row.max_attempts, created_at=row.created_at, run_after=row.run_after,
            started_at=row.started_at, finished_at=row.finished_at, updated_at=row.updated_at,
        )


class JobPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [JOB_EXAMPLE], "counts": {"queued": 0, "running": 1, "succeeded": 12, "failed": 0}, "next_cursor": None}]})
    items: list[JobOut]
    counts: dict[str, int]
    next_cursor: str | None = None


ALL_OR_NOTHING = ("The file is imported by a background job in one transaction: all of its good rows are written, or none "
                  "(a crash retries the job from the start). Follow Location for progress; the job's result is "
                  "{created, updated, unchanged, errors}, with a bad row reported there without blocking the good ones.")


class ImportQueued(BaseModel):
    """The answer to an import too big to run during the request."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "job_agrbd7tbg4frynlpzqgq4vy", "status": "queued", "location": "/v1/jobs/job_agrbd7tbg4frynlpzqgq4vy",
        "dry_run": False, "all_or_nothing": True, "detail": ALL_OR_NOTHING}]})
    job_id: str
    status: Literal["queued"] = "queued"
    location: str
    dry_run: bool
    all_or_nothing: bool = True
    detail: str = ALL_OR_NOTHING


@router.get(
    "/v1/jobs",
    response_model=JobPage,
    summary="Background jobs (imports, retries, mail, billing sync), newest first, with progress and errors",
    responses={
        401: {"model": Problem, "description": "Missing or unknown API key"},
        403: {"model": Problem, "description": "The key lacks the scope `clients:read`"},
        422: {"model": Problem, "description": "Invalid filter, limit or cursor"},
    },
)
def job_listing(
    session: ReadSessionDep, caller: Reader,
    status: JobStatus | None = Query(None),
    kind: str | None = Query(None, max_length=64),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> JobPage:
    keyset = Keyset("jobs", datetime, str)
    rows = uc.list_jobs(session, status=status, kind=kind, limit=limit + 1, before=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.created_at, r.id))
    return JobPage(items=[JobOut.from_row(row) for row in page], counts=uc.job_counts(session), next_cursor=next_cursor)


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    summary="One job: status, progress {done, total}, attempts, error, and its result once it succeeded",
    responses={
        401: {"model": Problem, "description": "Missing or unknown API key"},
        403: {"model": Problem, "description": "The key lacks the scope `clients:read`"},
        404: {"model": Problem, "description": "No such job"},
    },
)
def job_detail(job_id: str, session: ReadSessionDep, caller: Reader) -> JobOut:
    row = uc.get_job(session, job_id)
    if row is None:
        raise NotFound(f"no job {job_id!r}")
    return JobOut.from_row(row)
