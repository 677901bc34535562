"""The job runner on both databases: results, progress, retries with backoff, dead workers, periodic kinds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from service.errors import InvalidInput
from service.settings import Settings
from service.storage import tables as t
from service.storage.database import Database
from service.usecases import jobs
from service.usecases.job_runner import JobRunner, slot_start
from tests.conftest import make_settings


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.connect(db_url, pool_size=4)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url, job_retry_base_seconds=10, job_lease_seconds=30)


calls: list[tuple[str, int]] = []


@jobs.job_handler("test.echo")
def echo(ctx: jobs.JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    calls.append((ctx.job_id, ctx.attempt))
    for done in range(1, 4):
        ctx.progress(done, 3)
    return {"echo": payload, "attempt": ctx.attempt}


@jobs.job_handler("test.flaky")
def flaky(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
    calls.append((ctx.job_id, ctx.attempt))
    if payload.get("retry_later"):
        raise jobs.RetryLater("the provider said 503", delay_seconds=payload.get("delay"))
    if payload.get("bad_input"):
        raise InvalidInput("row 3: not a CSV")
    raise RuntimeError("boom")


def queue(db: Database, kind: str, payload: dict[str, Any], clock: Clock, **options: Any) -> str:
    with db.writer() as session:
        job_id = jobs.enqueue(session, kind, payload, now=clock(), **options)
        session.commit()
    return job_id


def job(db: Database, job_id: str) -> t.Job:
    with db.reader() as session:
        row = jobs.get_job(session, job_id)
        assert row is not None
        return row


def test_a_job_runs_once_with_its_progress_and_result(db: Database, settings: Settings) -> None:
    clock = Clock()
    seen: list[tuple[int, int | None]] = []
    runner = JobRunner(db, settings, kinds=["test.echo"], clock=clock, on_progress=lambda _id, d, n: seen.append((d, n)))
    job_id = queue(db, "test.echo", {"n": 1}, clock)
    assert job(db, job_id).status == "queued"
    assert runner.run_once() is True
    assert runner.run_once() is False
    row = job(db, job_id)
    assert (row.status, row.result, row.attempts, row.error) == ("succeeded", {"echo": {"n": 1}, "attempt": 1}, 1, None)
    assert (row.progress_done, row.progress_total) == (3, 3)
    assert row.started_at == row.finished_at == clock()
    assert row.lease_until is None
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_live_dedupe_key_is_not_queued_twice_but_a_finished_one_is(db: Database, settings: Settings) -> None:
    clock = Clock()
    first = queue(db, "test.echo", {}, clock, dedupe_key="k1")
    assert queue(db, "test.echo", {}, clock, dedupe_key="k1") == first
    JobRunner(db, settings, kinds=["test.echo"], clock=clock).run_once()
    assert job(db, first).status == "succeeded"
    again = queue(db, "test.echo", {}, clock, dedupe_key="k1")
    assert again != first


def test_a_run_after_in_the_future_waits(db: Database, settings: Settings) -> None:
    clock = Clock()
    runner = JobRunner(db, settings, kinds=["test.echo"], clock=clock)
    job_id = queue(db, "test.echo", {}, clock, run_after=clock() + timedelta(seconds=60))
    assert runner.run_once() is False
    clock.advance(61)
    assert runner.run_once() is True
    assert job(db, job_id).status == "succeeded"


def test_errors_are_stored_and_retried_with_exponential_backoff_then_failed(db: Database, settings: Settings) -> None:
    clock = Clock()
    runner = JobRunner(db, settings, kinds=["test.flaky"], clock=clock)
    job_id = queue(db, "test.flaky", {}, clock, max_attempts=3)
    assert runner.run_once() is True
    row = job(db, job_id)
    assert (row.status, row.attempts, row.error) == ("queued", 1, "RuntimeError: boom")
    assert row.run_after == clock() + timedelta(seconds=10)
    assert runner.run_once() is False  # not due yet
    clock.advance(10)
    assert runner.run_once() is True
    assert job(db, job_id).run_after == clock() + timedelta(seconds=20)  # doubled
    clock.advance(20)
    assert runner.run_once() is True
    row = job(db, job_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == "RuntimeError: boom (gave up after 3 attempts)"
    with db.reader() as session:
        events = session.scalars(sa.select(t.Event).where(t.Event.kind == "job.failed")).all()
    assert [e.after["job_id"] for e in events if e.after] == [job_id]


def test_retry_later_waits_the_delay_asked_for(db: Database, settings: Settings) -> None:
    clock = Clock()
    runner = JobRunner(db, settings, kinds=["test.flaky"], clock=clock)
    job_id = queue(db, "test.flaky", {"retry_later": True, "delay": 90}, clock)
    runner.run_once()
    row = job(db, job_id)
    assert (row.status, row.attempts, row.error, row.run_after) == ("queued", 1, "the provider said 503", clock() + timedelta(seconds=90))


def test_bad_input_fails_at_once_with_its_message_and_the_runner_goes_on(db: Database, settings: Settings) -> None:
    clock = Clock()
    runner = JobRunner(db, settings, kinds=["test.flaky", "test.echo"], clock=clock)
    bad = queue(db, "test.flaky", {"bad_input": True}, clock)
    good = queue(db, "test.echo", {}, clock)
    assert runner.run_once() and runner.run_once()
    assert (job(db, bad).status, job(db, bad).error, job(db, bad).attempts) == ("failed", "row 3: not a CSV", 1)
    assert job(db, good).status == "succeeded"


def test_a_job_of_a_dead_worker_is_retried_after_its_lease_then_failed(db: Database, settings: Settings) -> None:
    clock = Clock()
    job_id = queue(db, "test.echo", {}, clock, max_attempts=2)
    # Claimed, then the process "dies": nothing renews the lease.
    assert JobRunner(db, settings, kinds=["test.echo"], clock=clock, worker_id="dead-1").claim() is not None
    alive = JobRunner(db, settings, kinds=["test.echo"], clock=clock)
    assert alive.run_once() is False  # the lease still holds
    assert job(db, job_id).status == "running"
    clock.advance(31)
    assert JobRunner(db, settings, kinds=["test.echo"], clock=clock, worker_id="dead-2").claim() is not None
    row = job(db, job_id)
    assert (row.status, row.attempts, row.worker_id) == ("running", 2, "dead-2")
    assert row.error is not None and "dead-1 stopped while running attempt 1 of 2" in row.error
    clock.advance(31)
    assert alive.run_once() is False  # the last attempt was lost too: failed, not run a third time
    row = job(db, job_id)
    assert (row.status, row.lease_until) == ("failed", None)
    assert row.error is not None and "dead-2 stopped while running attempt 2 of 2" in row.error


def test_an_expired_lease_is_queued_again_and_run_by_another_runner(db: Database, settings: Settings) -> None:
    clock = Clock()
    job_id = queue(db, "test.echo", {}, clock)
    JobRunner(db, settings, kinds=["test.echo"], clock=clock, worker_id="killed").claim()
    clock.advance(31)
    assert JobRunner(db, settings, kinds=["test.echo"], clock=clock).run_once() is True
    row = job(db, job_id)
    assert (row.status, row.attempts, row.result) == ("succeeded", 2, {"echo": {}, "attempt": 2})


def test_a_lost_lease_stops_the_old_run_from_writing(db: Database, settings: Settings) -> None:
    clock = Clock()
    job_id = queue(db, "test.echo", {}, clock)
    claimed = JobRunner(db, settings, kinds=["test.echo"], clock=clock, worker_id="slow").claim()
    assert claimed is not None
    clock.advance(31)
    JobRunner(db, settings, kinds=["test.echo"], clock=clock, worker_id="new").run_once()
    ctx = jobs.JobContext(job_id=job_id, kind="test.echo", attempt=1, settings=settings, db=db, worker_id="slow", clock=clock)
    with pytest.raises(jobs.LeaseLost):
        ctx.progress(1, 3)
    assert job(db, job_id).worker_id == "new"


def test_an_unknown_kind_stays_queued_for_a_runner_that_knows_it(db: Database, settings: Settings) -> None:
    clock = Clock()
    job_id = queue(db, "test.unknown", {}, clock)
    runner = JobRunner(db, settings, clock=clock)  # every registered kind
    while runner.run_once():
        pass
    assert job(db, job_id).status == "queued"


jobs.job_handler("test.tick")(lambda ctx, payload: {"at": ctx.now().isoformat()})


@pytest.fixture
def ticking() -> Iterator[None]:
    jobs.periodic("test.tick", lambda settings: 60.0)
    yield
    jobs.periodic("test.tick", lambda settings: 0.0)  # off again: not left running for the apps of other tests


@pytest.mark.usefixtures("ticking")
def test_a_periodic_kind_is_queued_once_per_slot_by_any_number_of_runners(db: Database, settings: Settings) -> None:
    clock = Clock()
    runners = [JobRunner(db, settings, kinds=["test.tick"], clock=clock) for _ in range(3)]
    assert sum(r.enqueue_periodic_due() for r in runners) == 1
    assert runners[1].run_once() is True  # runs it; the others find nothing more for this slot
    assert not any(JobRunner(db, settings, kinds=["test.tick"], clock=clock).run_once() for _ in range(2))
    clock.advance(60)
    assert sum(r.enqueue_periodic_due() for r in runners) == 1
    with db.reader() as session:
        keys = session.scalars(sa.select(t.Job.dedupe_key).where(t.Job.kind == "test.tick").order_by(t.Job.dedupe_key)).all()
    assert keys == [f"test.tick@{slot_start(clock() - timedelta(seconds=60), 60).isoformat()}",
                    f"test.tick@{slot_start(clock(), 60).isoformat()}"]


def test_two_runners_with_their_own_databases_run_each_of_200_jobs_once(db_url: str, settings: Settings) -> None:
    clock = Clock()
    first, second = Database.connect(db_url, pool_size=4), Database.connect(db_url, pool_size=4)
    try:
        ids = [queue(first, "test.echo", {"i": i}, clock) for i in range(200)]
        calls.clear()
        runners = [JobRunner(first, settings, kinds=["test.echo"]), JobRunner(second, settings, kinds=["test.echo"])]
        threads = [threading.Thread(target=lambda r=r: [None for _ in iter(r.run_once, False)]) for r in runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        ran = [job_id for job_id, _attempt in calls]
        assert sorted(ran) == sorted(ids)
        with first.reader() as session:
            rows = session.scalars(sa.select(t.Job).where(t.Job.id.in_(ids))).all()
        assert {(r.status, r.attempts) for r in rows} == {("succeeded", 1)}
    finally:
        first.dispose()
        second.dispose()
