"""Queries on the jobs table: enqueue once per live dedupe key, claim with a lease, record the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.ids import new_id
from service.storage import tables as t
from service.storage.sql import keyset_page

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED)
LIVE = (QUEUED, RUNNING)


def get(session: Session, job_id: str) -> t.Job | None:
    return session.get(t.Job, job_id)


def live_by_dedupe_key(session: Session, dedupe_key: str) -> t.Job | None:
    query = sa.select(t.Job).where(t.Job.dedupe_key == dedupe_key, t.Job.status.in_(LIVE))
    return session.scalars(query).first()


def any_by_dedupe_key(session: Session, dedupe_key: str) -> bool:
    """Whether a job with this key exists in any state (a periodic slot runs once, even after it finished)."""
    return session.scalars(sa.select(t.Job.id).where(t.Job.dedupe_key == dedupe_key).limit(1)).first() is not None


def lock_dedupe_key(session: Session, dedupe_key: str) -> None:
    """Serialise enqueuers of one key until the transaction ends (SQLite's writer lock already does)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": dedupe_key})


def lock_queued_of_kind(session: Session, kind: str, *, now: datetime) -> t.Job | None:
    """A queued job of `kind` due by `now`, locked until this transaction ends (waiting for a runner that is claiming
    it: once claimed it is no longer queued, and none is returned)."""
    query = sa.select(t.Job).where(t.Job.kind == kind, t.Job.status == QUEUED, t.Job.run_after <= now).order_by(t.Job.run_after).limit(1)
    return session.scalars(query.with_for_update()).first()


def insert(
    session: Session, *, kind: str, payload: dict[str, Any], dedupe_key: str | None, run_after: datetime,
    max_attempts: int, now: datetime,
) -> tuple[str, bool]:
    """The id of the job, and whether this call created it (False: a live job held the dedupe key)."""
    if dedupe_key is not None:
        existing = live_by_dedupe_key(session, dedupe_key)
        if existing is not None:
            return existing.id, False
    job = t.Job(
        id=new_id("job"), kind=kind, status=QUEUED, payload=payload, result=None, progress_done=0, progress_total=None,
        attempts=0, max_attempts=max_attempts, run_after=run_after, lease_until=None, worker_id=None, error=None,
        dedupe_key=dedupe_key, created_at=now, started_at=None, finished_at=None, updated_at=now,
    )
    if dedupe_key is None:
        session.add(job)
        session.flush()
        return job.id, True
    try:
        # A concurrent enqueuer may take the live key between our read and this insert.
        with session.begin_nested():
            session.add(job)
            session.flush()
    except sa.exc.IntegrityError:
        winner = live_by_dedupe_key(session, dedupe_key)
        if winner is None:
            raise
        return winner.id, False
    return job.id, True


def _kinds(query: sa.Select[Any], kinds: Sequence[str] | None) -> sa.Select[Any]:
    return query.where(t.Job.kind.in_(kinds)) if kinds is not None else query


def any_due(session: Session, *, now: datetime, kinds: Sequence[str] | None) -> bool:
    """A queued job due now, or a running one whose lease ran out (its worker died)."""
    queued = _kinds(sa.select(t.Job.id).where(t.Job.status == QUEUED, t.Job.run_after <= now), kinds).limit(1)
    if session.scalars(queued).first() is not None:
        return True
    expired = _kinds(sa.select(t.Job.id).where(t.Job.status == RUNNING, t.Job.lease_until < now), kinds).limit(1)
    return session.scalars(expired).first() is not None


def expired_leases(session: Session, *, now: datetime, kinds: Sequence[str] | None, limit: int = 20) -> list[t.Job]:
    """Running jobs whose worker stopped renewing the lease, locked for this transaction (others skip them)."""
    query = _kinds(sa.select(t.Job).where(t.Job.status == RUNNING, t.Job.lease_until < now), kinds)
    return list(session.scalars(query.order_by(t.Job.lease_until).limit(limit).with_for_update(skip_locked=True)).all())


def next_due(session: Session, *, now: datetime, kinds: Sequence[str] | None) -> t.Job | None:
    """The oldest due queued job, row-locked; FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one writer)."""
    query = _kinds(sa.select(t.Job).where(t.Job.status == QUEUED, t.Job.run_after <= now), kinds)
    return session.scalars(query.order_by(t.Job.run_after, t.Job.id).limit(1).with_for_update(skip_locked=True)).first()


def _owned(job_id: str, worker_id: str) -> Any:
    return sa.and_(t.Job.id == job_id, t.Job.worker_id == worker_id, t.Job.status == RUNNING)


def _update(session: Session, condition: Any, **values: Any) -> bool:
    result = session.execute(sa.update(t.Job).where(condition).values(**values).execution_options(synchronize_session=False))
    return getattr(result, "rowcount", 0) == 1


def record_progress(session: Session, job_id: str, worker_id: str, *, done: int, total: int | None, lease_until: datetime,
                    now: datetime) -> bool:
    """False when the job is no longer this worker's (its lease ran out and it was reclaimed)."""
    values: dict[str, Any] = {"progress_done": done, "updated_at": now, "lease_until": lease_until}
    if total is not None:
        values["progress_total"] = total
    return _update(session, _owned(job_id, worker_id), **values)


def renew_leases(session: Session, job_ids: Sequence[str], worker_id: str, *, lease_until: datetime) -> int:
    if not job_ids:
        return 0
    result = session.execute(
        sa.update(t.Job).where(t.Job.id.in_(job_ids), t.Job.worker_id == worker_id, t.Job.status == RUNNING)
        .values(lease_until=lease_until).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def finish(session: Session, job_id: str, worker_id: str, *, status: str, result: dict[str, Any] | None,
           error: str | None, now: datetime) -> bool:
    return _update(session, _owned(job_id, worker_id), status=status, result=result, error=error, finished_at=now,
                   lease_until=None, updated_at=now)


def complete(session: Session, job_id: str, worker_id: str, *, result: dict[str, Any] | None, done: int | None,
             total: int | None, now: datetime) -> bool:
    values: dict[str, Any] = {"status": SUCCEEDED, "result": result, "error": None, "finished_at": now,
                              "lease_until": None, "updated_at": now}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    return _update(session, _owned(job_id, worker_id), **values)


def requeue(session: Session, job_id: str, worker_id: str, *, run_after: datetime, error: str, now: datetime) -> bool:
    return _update(session, _owned(job_id, worker_id), status=QUEUED, run_after=run_after, error=error, lease_until=None,
                   worker_id=None, updated_at=now)


def listing(
    session: Session, *, status: str | None, kind: str | None, limit: int, before: tuple[datetime, str] | None = None
) -> list[t.Job]:
    """Newest first; `before` is the (created_at, id) of the last job of the previous page."""
    query = sa.select(t.Job)
    if status is not None:
        query = query.where(t.Job.status == status)
    if kind is not None:
        query = query.where(t.Job.kind == kind)
    return list(session.scalars(keyset_page(query, (t.Job.created_at, t.Job.id), limit=limit, after=before,
                                            descending=True)).all())


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(sa.select(t.Job.status, sa.func.count()).group_by(t.Job.status)).all()
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}


def save_file(session: Session, *, content_type: str, body: bytes, now: datetime) -> str:
    row = t.JobFile(id=new_id("jfl"), content_type=content_type[:100], body=body, size=len(body), created_at=now)
    session.add(row)
    session.flush()
    return row.id


def load_file(session: Session, file_id: str) -> t.JobFile | None:
    return session.get(t.JobFile, file_id)


def lease_deadline(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
