"""Background jobs: the kinds a runner knows, enqueueing one, and what a handler is given.

A handler is a plain function registered with `@job_handler("kind")`; it runs in a runner thread
(service/usecases/job_runner.py), never on the request loop. It opens its own sessions from
`ctx.db` and must not hold a write transaction while calling `ctx.progress` (on SQLite the
progress write would wait for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from service.settings import Settings
from service.storage import jobs as store
from service.storage import tables as t
from service.storage.database import Database

JobHandler = Callable[["JobContext", dict[str, Any]], dict[str, Any] | None]

# A handler's CPU-heavy loop pauses after this much work, between these bounds (see JobContext.pace).
PACE_WORK = 0.002
PACE_MIN = 0.0001
PACE_MAX = 0.008
LOOP_BUSY = 0.1

_handlers: dict[str, JobHandler] = {}
_periodic: dict[str, Callable[[Settings], float]] = {}
_periodic_when: dict[str, Callable[[Session, datetime], bool]] = {}


class RetryLater(Exception):
    """Raised by a handler: try again after `delay_seconds` (default: the runner's backoff); counts as an attempt."""

    def __init__(self, reason: str, delay_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds


class LeaseLost(Exception):
    """The job's lease ran out and another runner took it over: this run must stop without writing."""


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Register the handler of `kind` (one per kind; registering again replaces it, for tests)."""

    def register(handler: JobHandler) -> JobHandler:
        _handlers[kind] = handler
        return handler

    return register


def periodic(kind: str, every: Callable[[Settings], float], *,
             when: Callable[[Session, datetime], bool] | None = None) -> None:
    """Make `kind` recurring: runners enqueue it once per slot of `every(settings)` seconds (payload {}); 0 = off.
    With `when` (a cheap read: is there anything to do at `now`?) a slot with nothing to do queues no job."""
    _periodic[kind] = every
    if when is not None:
        _periodic_when[kind] = when
    else:
        _periodic_when.pop(kind, None)


def handler_for(kind: str) -> JobHandler | None:
    return _handlers.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_handlers)


def periodic_kinds() -> dict[str, Callable[[Settings], float]]:
    return dict(_periodic)


def periodic_condition(kind: str) -> Callable[[Session, datetime], bool] | None:
    return _periodic_when.get(kind)


@dataclass
class JobContext:
    job_id: str
    kind: str
    attempt: int
    settings: Settings
    db: Database
    worker_id: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    on_progress: Callable[[int, int | None], None] | None = None
    # The CPU clock of the request loop's thread when this runner shares its process with one (the
    # embedded runner of `serve`): pace() then pauses while the loop is busy.
    loop_clock: int | None = None
    # The metrics of the process running the job, by name (the app's, for the embedded runner; none
    # in `supportgate worker`, which serves no /metrics).
    counters: Mapping[str, Any] = field(default_factory=dict)
    _worked_since: float = field(default_factory=time.perf_counter)
    _loop_seen: tuple[float, float] | None = None
    _pause: float = PACE_MIN

    def pace(self) -> None:
        """Call often from CPU-heavy loops. Beside a request loop (which shares the interpreter lock
        with this thread), after PACE_WORK seconds of work: if the loop used more than LOOP_BUSY of
        the CPU since the last look, pause, twice as long as the last pause (up to PACE_MAX); if not,
        the shortest pause. So a job takes what the requests leave, and runs at almost full speed
        alone. A runner of its own (`supportgate worker`, the CLI) never pauses."""
        if self.loop_clock is None:
            return
        now = time.perf_counter()
        if now - self._worked_since < PACE_WORK:
            return
        loop_cpu = time.clock_gettime(self.loop_clock)
        seen, self._loop_seen = self._loop_seen, (now, loop_cpu)
        busy = seen is not None and (loop_cpu - seen[1]) > LOOP_BUSY * (now - seen[0])
        self._pause = min(self._pause * 2, PACE_MAX) if busy else PACE_MIN
        time.sleep(self._pause)
        self._worked_since = time.perf_counter()

    def now(self) -> datetime:
        return self.clock()

    def progress(self, done: int, total: int | None = None) -> None:
        """Commit progress at once in its own short transaction (it also renews the lease)."""
        now = self.clock()
        with self.db.writer() as session:
            owned = store.record_progress(
                session, self.job_id, self.worker_id, done=done, total=total,
                lease_until=store.lease_deadline(now, self.settings.job_lease_seconds), now=now,
            )
            session.commit()
        if not owned:
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.worker_id}")
        if self.on_progress is not None:
            self.on_progress(done, total)

    def complete_in(self, session: Session, result: dict[str, Any] | None, *, done: int | None = None,
                    total: int | None = None) -> None:
        """Mark the job succeeded inside the caller's transaction, so its effects and its outcome
        commit together (a crash after the commit never re-runs the work). Raises LeaseLost."""
        if not store.complete(session, self.job_id, self.worker_id, result=result, done=done, total=total, now=self.clock()):
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.worker_id}")
        if self.on_progress is not None and done is not None:
            self.on_progress(done, total)


def enqueue(
    session: Session, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None,
    run_after: datetime | None = None, max_attempts: int = 5, now: datetime | None = None,
) -> str:
    """Queue a job in the caller's transaction (flushed, committed by the caller). A live job with the
    same dedupe key is not duplicated: its id is returned."""
    now = now or datetime.now(UTC)
    job_id, _created = store.insert(
        session, kind=kind, payload=payload, dedupe_key=dedupe_key, run_after=run_after or now,
        max_attempts=max(1, max_attempts), now=now,
    )
    return job_id


def request_run(session: Session, kind: str, *, now: datetime, max_attempts: int = 3) -> None:
    """Make sure a run of `kind` (a job that drains a queue of its own, payload {}) starts after this
    transaction commits: queue one unless one is queued already. The queued job is locked until the
    commit, so no runner claims it in between and drains before this transaction's rows are visible
    (PostgreSQL; SQLite's writers hold the database lock anyway)."""
    if store.lock_queued_of_kind(session, kind, now=now) is not None:
        return
    store.insert(session, kind=kind, payload={}, dedupe_key=None, run_after=now, max_attempts=max_attempts, now=now)


def enqueue_periodic(session: Session, kind: str, slot_start: datetime, *, now: datetime) -> bool:
    """Queue the slot's run of a periodic kind unless any replica already did (in any state)."""
    key = f"{kind}@{slot_start.isoformat()}"
    store.lock_dedupe_key(session, key)
    if store.any_by_dedupe_key(session, key):
        return False
    _job_id, created = store.insert(session, kind=kind, payload={}, dedupe_key=key, run_after=now, max_attempts=3, now=now)
    return created


def get_job(session: Session, job_id: str) -> t.Job | None:
    return store.get(session, job_id)


def list_jobs(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 50,
    before: tuple[datetime, str] | None = None,
) -> list[t.Job]:
    """Newest first; `before` is the (created_at, id) of the last job of the previous page."""
    return store.listing(session, status=status, kind=kind, limit=limit, before=before)


def job_counts(session: Session) -> dict[str, int]:
    return store.counts(session)


def known_kinds(kinds: Sequence[str] | None) -> list[str]:
    """The kinds a runner claims: the given ones, or every registered kind."""
    return sorted(kinds) if kinds is not None else registered_kinds()
