"""POST /v1/clients/import: small files answered at once, big ones as a job with progress and the same result."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage import tables as t
from service.storage.database import Database
from service.usecases import import_job
from service.usecases.job_runner import JobRunner
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import ok

NOW = datetime.now(UTC)
HEADER = "name,emails,domains,phones,external_system,external_id\n"


def csv_rows(count: int, start: int = 0) -> str:
    return HEADER + "".join(f"Client {i},c{i}@example.com,,(212) {555 + i // 10000}-{i % 10000:04d},crm,{i}\n"
                            for i in range(start, start + count))


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    settings = make_settings(db_url, import_sync_max_rows=10, job_poll_seconds=0.05)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client


def wait_for(client: TestClient, location: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = ok(client.get(location))
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job still {job['status']} after {timeout} s: {job}")


def clients_count(db_url: str) -> int:
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.reader() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(t.Client)) or 0)
    finally:
        db.dispose()


def test_a_small_file_is_answered_at_once(client: TestClient, db_url: str) -> None:
    answer = client.post("/v1/clients/import", content=csv_rows(10), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200
    assert answer.json() == {"created": 10, "updated": 0, "unchanged": 0, "errors": [], "dry_run": False}
    assert clients_count(db_url) == 10


def test_a_big_file_is_a_job_whose_result_is_the_import_answer(client: TestClient, db_url: str) -> None:
    answer = client.post("/v1/clients/import", content=csv_rows(25), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert answer.headers["location"] == body["location"] == f"/v1/jobs/{body['job_id']}"
    assert (body["status"], body["all_or_nothing"]) == ("queued", True)
    assert "one transaction" in body["detail"]
    job = wait_for(client, body["location"])
    assert job["kind"] == "clients.import"
    assert (job["status"], job["attempts"], job["error"]) == ("succeeded", 1, None)
    assert job["progress"] == {"done": 25, "total": 25}
    assert job["result"] == {"created": 25, "updated": 0, "unchanged": 0, "errors": [], "dry_run": False}
    assert clients_count(db_url) == 25
    # The same file again: matched by external ref, nothing new.
    again = wait_for(client, client.post("/v1/clients/import", content=csv_rows(25),
                                         headers={"Content-Type": "text/csv"}).headers["location"])
    assert again["result"]["unchanged"] == 25


def test_a_big_json_file_and_a_dry_run_are_jobs_too(client: TestClient, db_url: str) -> None:
    items = [{"name": f"Json {i}", "emails": [f"j{i}@example.com"]} for i in range(12)]
    answer = client.post("/v1/clients/import", params={"dry_run": "true"}, json=items)
    assert answer.status_code == 202
    job = wait_for(client, answer.headers["location"])
    assert job["result"] == {"created": 12, "updated": 0, "unchanged": 0, "errors": [], "dry_run": True}
    assert clients_count(db_url) == 0


def test_bad_rows_of_a_job_are_reported_per_row_and_the_good_ones_imported(client: TestClient, db_url: str) -> None:
    text = csv_rows(20) + ",nobody@example.com,,,,\n" + "Bad Phone,,,(212) 555-01,,\n" + "Too,many,cells,,,,,,\n"
    job = wait_for(client, client.post("/v1/clients/import", content=text,
                                       headers={"Content-Type": "text/csv"}).headers["location"])
    assert job["status"] == "succeeded"
    assert job["result"]["created"] == 20
    assert [e["row"] for e in job["result"]["errors"]] == [21, 22, 23]
    assert job["progress"] == {"done": 23, "total": 23}
    assert clients_count(db_url) == 20


def test_an_unreadable_file_is_refused_at_once_or_fails_its_job_clearly(client: TestClient) -> None:
    binary = bytes(b for b in range(256) if b != 10) * 40  # one line
    answer = client.post("/v1/clients/import", content=binary, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 422 and "not UTF-8" in answer.json()["detail"]
    answer = client.post("/v1/clients/import", content=binary, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    # A big one (by its line count) is stored and queued; its job fails with the reason.
    answer = client.post("/v1/clients/import", content=binary * 5 + b"\n" * 50, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 202
    job = wait_for(client, answer.headers["location"])
    assert (job["status"], job["attempts"], job["error"]) == ("failed", 1, "the CSV is not UTF-8 (is it a binary file?)")
    assert ok(client.get("/v1/jobs", params={"status": "failed"}))["counts"]["failed"] == 1


def test_a_binary_file_given_to_a_job_fails_it_clearly_and_the_runner_goes_on(db_url: str) -> None:
    settings = make_settings(db_url)
    db = Database.connect(db_url, pool_size=2)
    try:
        with db.writer() as session:
            bad = import_job.queue_import(session, b"\x89PNG\r\n\x1a\n\x00\xff" * 100, "text/csv", dry_run=False,
                                          actor="test", now=NOW)
            bad_json = import_job.queue_import(session, b"\x00\x01 not json", "application/json", dry_run=False,
                                               actor="test", now=NOW)
            good = import_job.queue_import(session, csv_rows(3).encode(), "text/csv", dry_run=False, actor="test", now=NOW)
            session.commit()
        runner = JobRunner(db, settings, kinds=["clients.import"])
        while runner.run_once():
            pass
        with db.reader() as session:
            rows = {row.id: row for row in session.scalars(sa.select(t.Job)).all()}
    finally:
        db.dispose()
    assert (rows[bad].status, rows[bad].attempts, rows[bad].error) == (
        "failed", 1, "the CSV is not UTF-8 (is it a binary file?)")
    assert (rows[bad_json].status, rows[bad_json].error) == ("failed", "the body is neither a JSON array nor text/csv")
    good_result = rows[good].result
    assert rows[good].status == "succeeded" and good_result is not None and good_result["created"] == 3


def test_without_the_embedded_runner_a_job_waits_for_a_worker(db_url: str) -> None:
    settings = make_settings(db_url, import_sync_max_rows=10, job_poll_seconds=0.05, jobs_embedded=False)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        location = client.post("/v1/clients/import", content=csv_rows(15), headers={"Content-Type": "text/csv"}).headers["location"]
        time.sleep(0.3)
        assert ok(client.get(location))["status"] == "queued"
        db = Database.connect(db_url, pool_size=1)
        try:
            assert JobRunner(db, settings).run_once() is True  # what `supportgate worker` does
        finally:
            db.dispose()
        job = ok(client.get(location))
    assert (job["status"], job["result"]["created"]) == ("succeeded", 15)
