"""`supportgate worker` processes on one database: N replicas run each job once; a worker killed with
SIGKILL in the middle of an import's write leaves no partial rows, and its job is retried or failed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from service.storage import tables as t
from service.storage.database import Database, normalize_url
from service.usecases import import_job
from tests.jobs.test_import_jobs import csv_rows

NOW = datetime.now(UTC)


class Worker:
    def __init__(self, db_url: str, **env: str) -> None:
        settings = {"SUPPORTGATE_DATABASE_URL": db_url, "SUPPORTGATE_LOG_LEVEL": "WARNING",
                    "SUPPORTGATE_JOB_POLL_SECONDS": "0.05", **env}
        self.process = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env={**os.environ, **settings},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.process.stderr is not None
        line = self.process.stderr.readline().decode()  # "worker <id> running" once it polls
        assert "running" in line, line
        self.worker_id = line.split()[1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.connect(db_url, pool_size=2)
    yield database
    database.dispose()


def jobs_of(db: Database) -> list[t.Job]:
    with db.reader() as session:
        return list(session.scalars(sa.select(t.Job)).all())


def clients_count(db: Database) -> int:
    with db.reader() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(t.Client)) or 0)


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_worker_processes_run_each_of_200_jobs_exactly_once(db: Database, db_url: str) -> None:
    workers = [Worker(db_url), Worker(db_url)]
    try:
        with db.writer() as session:
            ids = [import_job.queue_import(session, csv_rows(1, start=i).encode(), "text/csv", dry_run=False,
                                           actor="test", now=NOW) for i in range(200)]
            session.commit()
        wait(lambda: all(job.status in ("succeeded", "failed") for job in jobs_of(db)), 120, "200 jobs to finish")
    finally:
        for worker in workers:
            worker.stop()
    rows = {job.id: job for job in jobs_of(db)}
    assert set(rows) == set(ids)
    assert {(job.status, job.attempts) for job in rows.values()} == {("succeeded", 1)}
    # A second run of an import would report the client as unchanged: each says created, once.
    assert {(job.result or {}).get("created") for job in rows.values()} == {1}
    assert clients_count(db) == 200
    ran_by = {job.worker_id for job in rows.values()}
    assert ran_by == {w.worker_id for w in workers}, "both replicas took part"


class WriteProbe:
    """True while another connection holds an open write on the clients table (the import's one transaction)."""

    def __init__(self, db_url: str) -> None:
        self.sqlite_path = db_url.removeprefix("sqlite:///") if db_url.startswith("sqlite") else None
        self.engine = None if self.sqlite_path else sa.create_engine(normalize_url(db_url), pool_size=1)

    def __call__(self) -> bool:
        if self.sqlite_path is not None:
            probe = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                probe.close()
        assert self.engine is not None
        with self.engine.connect() as connection:
            return bool(connection.exec_driver_sql(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'clients' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()").scalar())

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


@pytest.mark.parametrize("max_attempts", [3, 1])
def test_a_worker_killed_mid_import_leaves_no_rows_and_its_job_is_retried_or_failed(
    db: Database, db_url: str, max_attempts: int,
) -> None:
    rows = 20_000
    with db.writer() as session:
        job_id = import_job.queue_import(session, csv_rows(rows).encode(), "text/csv", dry_run=False, actor="test", now=NOW)
        session.execute(sa.update(t.Job).where(t.Job.id == job_id).values(max_attempts=max_attempts))
        session.commit()
    doomed = Worker(db_url, SUPPORTGATE_JOB_LEASE_SECONDS="2")
    try:
        def checked() -> bool:
            job = jobs_of(db)[0]
            return job.progress_done == rows and job.status == "running"

        wait(checked, 120, "every row checked (the write comes next)")
        probe = WriteProbe(db_url)
        try:
            wait(probe, 30, "the import's write transaction")
        finally:
            probe.close()
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(timeout=10)
    finally:
        doomed.stop()
    job = jobs_of(db)[0]
    assert job.status == "running", "the kill landed before the commit"
    assert clients_count(db) == 0, "no partial rows"
    rescuer = Worker(db_url)
    try:
        wait(lambda: jobs_of(db)[0].status in ("succeeded", "failed"), 120, "the job to be retried or failed")
    finally:
        rescuer.stop()
    job = jobs_of(db)[0]
    if max_attempts == 1:
        assert (job.status, job.attempts) == ("failed", 1)
        assert job.error == f"the worker {doomed.worker_id} stopped while running attempt 1 of 1 (its lease ran out)"
        assert clients_count(db) == 0
    else:
        assert (job.status, job.attempts, job.worker_id) == ("succeeded", 2, rescuer.worker_id)
        assert job.result == {"created": rows, "updated": 0, "unchanged": 0, "errors": [], "dry_run": False}
        assert clients_count(db) == rows
