"""The job runner: a thread that claims due jobs under a lease, runs their handlers, records the outcome.

Any number of runners (threads, processes, replicas) may share one database: a job is claimed in a
short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's single writer), leased to one
runner, and the lease is renewed while the handler runs. A runner that dies stops renewing; once
the lease has run out the job is queued again (that attempt counted) or failed after max_attempts.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from service.errors import ServiceError
from service.settings import Settings
from service.storage import jobs as store
from service.storage.database import Database
from service.usecases import audit, job_kinds  # noqa: F401  # job_kinds registers the built-in handlers
from service.usecases.jobs import (
    JobContext,
    LeaseLost,
    RetryLater,
    enqueue_periodic,
    handler_for,
    known_kinds,
    periodic_condition,
    periodic_kinds,
)

log = logging.getLogger("supportgate.jobs")

ERROR_CHARS = 2000
SWITCH_INTERVAL = 0.0005


def backoff(attempts: int, base: float, cap: float) -> float:
    """`base` after the first failed attempt, doubling, at most `cap`."""
    return float(min(cap, base * 2.0 ** min(max(attempts - 1, 0), 40)))


def slot_start(now: datetime, every: float) -> datetime:
    """The start of the time slot of length `every` seconds holding `now` (slots counted from the epoch)."""
    every = max(every, 1.0)
    return datetime.fromtimestamp(math.floor(now.timestamp() / every) * every, UTC)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ServiceError):
        return exc.detail[:ERROR_CHARS]
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


class JobRunner:
    """Built and stopped by its owner (the app's lifespan, `supportgate worker`, a test)."""

    def __init__(self, db: Database, settings: Settings, kinds: Iterable[str] | None = None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), worker_id: str | None = None,
                 on_progress: Callable[[str, int, int | None], None] | None = None,
                 beside_requests: bool = False, counters: Mapping[str, Any] | None = None) -> None:
        """`beside_requests`: this process also answers requests (the embedded runner of `serve`);
        `counters`: the process's metrics that handlers count into (JobContext.counters)."""
        self.db = db
        self.settings = settings
        self.kinds = list(kinds) if kinds is not None else None
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.on_progress = on_progress
        self.beside_requests = beside_requests
        self.counters = dict(counters or {})
        self._loop_clock: int | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat: threading.Thread | None = None
        self._running: set[str] = set()
        self._running_lock = threading.Lock()
        self._slots: dict[str, datetime] = {}

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self.beside_requests:
            if sys.getswitchinterval() > SWITCH_INTERVAL:
                # A busy handler thread keeps the interpreter lock for a whole switch interval (5 ms by
                # default) whenever the request loop asks for it: every answer would wait that long.
                sys.setswitchinterval(SWITCH_INTERVAL)
            # start() runs on the request loop's thread (the app's lifespan): its CPU clock tells
            # handlers when the loop is busy (JobContext.pace).
            with contextlib.suppress(AttributeError, OSError):
                self._loop_clock = time.pthread_getcpuclockid(threading.get_ident())
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="supportgate-jobs", daemon=True)
        self._heartbeat = threading.Thread(target=self._renew_loop, name="supportgate-jobs-lease", daemon=True)
        self._thread.start()
        self._heartbeat.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; wait for the running handler (up to `timeout`, then its lease runs out instead)."""
        self._stop.set()
        self._wake.set()
        for thread in (self._thread, self._heartbeat):
            if thread is not None:
                thread.join(timeout=timeout)

    def wake(self) -> None:
        """Look for due jobs now rather than at the next poll (after enqueueing one)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            ran = False
            try:
                ran = self.run_once()
            except Exception:  # the loop must outlive a database outage; the rows keep their state
                log.warning("job round failed", exc_info=True)
            if not ran:
                self._wake.wait(self.settings.job_poll_seconds)
                self._wake.clear()

    def _renew_loop(self) -> None:
        interval = max(self.settings.job_lease_seconds / 3, 0.05)
        while not self._stop.wait(interval):
            with self._running_lock:
                running = list(self._running)
            if not running:
                continue
            try:
                with self.db.writer() as session:
                    store.renew_leases(session, running, self.worker_id,
                                       lease_until=store.lease_deadline(self.clock(), self.settings.job_lease_seconds))
                    session.commit()
            except Exception:
                log.warning("job lease renewal failed", exc_info=True)

    # -- one round ---------------------------------------------------------------------------------
    def _claim_kinds(self) -> list[str]:
        return known_kinds(self.kinds)

    def enqueue_periodic_due(self) -> int:
        """Queue each periodic kind's current slot once (across replicas: the slot's dedupe key)."""
        now = self.clock()
        kinds = set(self._claim_kinds())
        queued = 0
        for kind, every in periodic_kinds().items():
            interval = every(self.settings)
            if kind not in kinds or interval <= 0:  # 0 = switched off by its setting
                continue
            start = slot_start(now, interval)
            if self._slots.get(kind) == start:
                continue
            when = periodic_condition(kind)
            if when is not None:
                # Nothing to do in this slot: no job (and on SQLite, no write lock taken).
                with self.db.reader() as session:
                    if not when(session, now):
                        self._slots[kind] = start
                        continue
            with self.db.writer() as session:
                queued += enqueue_periodic(session, kind, start, now=now)
                session.commit()
            self._slots[kind] = start
        return queued

    def run_once(self) -> bool:
        """Claim and run one due job; False when none was due."""
        self.enqueue_periodic_due()
        claimed = self.claim()
        if claimed is None:
            return False
        self._run(*claimed)
        return True

    def claim(self) -> tuple[str, str, int, dict[str, Any]] | None:
        """Lease the next due job (id, kind, attempt, payload) without running it; run_once runs what it claims.

        A runner that stops after claiming leaves the lease to run out: the job is then retried or failed."""
        kinds = self._claim_kinds()
        if not kinds:
            return None
        now = self.clock()
        # Look with a reader first: on SQLite a writer takes the database's write lock.
        with self.db.reader() as session:
            if not store.any_due(session, now=now, kinds=kinds):
                return None
        with self.db.writer() as session:
            self._reap(session, now, kinds)
            job = store.next_due(session, now=now, kinds=kinds)
            if job is None:
                session.commit()
                return None
            job.status, job.attempts, job.worker_id = store.RUNNING, job.attempts + 1, self.worker_id
            job.lease_until = store.lease_deadline(now, self.settings.job_lease_seconds)
            job.started_at = job.started_at or now
            job.updated_at = now
            claimed = (job.id, job.kind, job.attempts, dict(job.payload))
            session.commit()
        with self._running_lock:
            self._running.add(claimed[0])
        return claimed

    def _reap(self, session: Any, now: datetime, kinds: list[str]) -> None:
        """Jobs whose runner died: queued again (the lost attempt counted), or failed after max_attempts."""
        for job in store.expired_leases(session, now=now, kinds=kinds):
            lost = (f"the worker {job.worker_id} stopped while running attempt {job.attempts} of {job.max_attempts} "
                    "(its lease ran out)")
            job.lease_until, job.worker_id, job.updated_at = None, None, now
            if job.attempts >= job.max_attempts:
                job.status, job.error, job.finished_at = store.FAILED, lost, now
                self._audit_failed(session, job.id, job.kind, job.attempts, lost, now)
            else:
                job.status, job.error, job.run_after = store.QUEUED, lost + "; retried", now
            log.warning("job lease expired", extra={"job_id": job.id, "kind": job.kind, "status": job.status})

    def _run(self, job_id: str, kind: str, attempt: int, payload: dict[str, Any]) -> None:
        handler = handler_for(kind)
        report = self.on_progress
        progress = (lambda done, total: report(job_id, done, total)) if report is not None else None
        ctx = JobContext(job_id=job_id, kind=kind, attempt=attempt, settings=self.settings, db=self.db,
                         worker_id=self.worker_id, clock=self.clock, on_progress=progress,
                         loop_clock=self._loop_clock, counters=self.counters)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r} in this runner")
            result = handler(ctx, payload)
        except LeaseLost:
            log.warning("job lease lost; another runner owns it now", extra={"job_id": job_id, "kind": kind})
        except RetryLater as exc:
            self._failed_attempt(job_id, kind, attempt, exc.reason[:ERROR_CHARS], exc.delay_seconds, permanent=False)
        except Exception as exc:
            # A 4xx-style service error (bad input) does not get better by retrying.
            permanent = isinstance(exc, ServiceError) and exc.http_status < 500
            if not permanent:
                log.warning("job attempt failed", exc_info=True, extra={"job_id": job_id, "kind": kind})
            self._failed_attempt(job_id, kind, attempt, _describe(exc), None, permanent=permanent)
        else:
            self._finish(job_id, store.SUCCEEDED, result if isinstance(result, dict) else None, None)
        finally:
            with self._running_lock:
                self._running.discard(job_id)

    def _finish(self, job_id: str, status: str, result: dict[str, Any] | None, error: str | None) -> None:
        with self.db.writer() as session:
            store.finish(session, job_id, self.worker_id, status=status, result=result, error=error, now=self.clock())
            session.commit()

    def _failed_attempt(self, job_id: str, kind: str, attempt: int, error: str, delay: float | None, *,
                        permanent: bool) -> None:
        now = self.clock()
        with self.db.writer() as session:
            job = store.get(session, job_id)
            if job is None or job.worker_id != self.worker_id or job.status != store.RUNNING:
                return
            if permanent or attempt >= job.max_attempts:
                if not permanent:
                    error = f"{error} (gave up after {attempt} attempts)"[:ERROR_CHARS]
                store.finish(session, job_id, self.worker_id, status=store.FAILED, result=None, error=error, now=now)
                self._audit_failed(session, job_id, kind, attempt, error, now)
            else:
                wait = delay if delay is not None else backoff(
                    attempt, self.settings.job_retry_base_seconds, self.settings.job_retry_max_seconds)
                store.requeue(session, job_id, self.worker_id, run_after=now + timedelta(seconds=wait), error=error, now=now)
            session.commit()

    @staticmethod
    def _audit_failed(session: Any, job_id: str, kind: str, attempts: int, error: str, now: datetime) -> None:
        audit.record(session, kind="job.failed", actor="jobs", at=now, scope="none", subject=f"{kind} {job_id}"[:200],
                     after={"job_id": job_id, "kind": kind, "attempts": attempts, "error": error})
