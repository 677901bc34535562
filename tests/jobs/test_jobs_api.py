"""GET /v1/jobs and /v1/jobs/{id}: status, progress, result, pages, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from service.storage.database import Database
from service.usecases import jobs
from tests.api.test_auth import make_key
from tests.helpers import ok


def test_jobs_are_listed_newest_first_in_pages_and_shown_one_by_one(client: TestClient, db_url: str) -> None:
    db = Database.connect(db_url, pool_size=2)
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    try:
        with db.writer() as session:
            # A kind no runner knows: it stays queued, as the listing shows it.
            ids = [jobs.enqueue(session, "test.nobody", {"i": i}, now=start + timedelta(seconds=i)) for i in range(5)]
            session.commit()
    finally:
        db.dispose()
    first = ok(client.get("/v1/jobs", params={"limit": 3}))
    assert [j["id"] for j in first["items"]] == ids[::-1][:3]
    assert first["counts"] == {"queued": 5, "running": 0, "succeeded": 0, "failed": 0}
    second = ok(client.get("/v1/jobs", params={"limit": 3, "cursor": first["next_cursor"]}))
    assert [j["id"] for j in second["items"]] == ids[::-1][3:]
    assert second["next_cursor"] is None
    one = ok(client.get(f"/v1/jobs/{ids[0]}"))
    assert one["kind"] == "test.nobody" and one["status"] == "queued"
    assert one["progress"] == {"done": 0, "total": None}
    assert (one["attempts"], one["error"], one["result"]) == (0, None, None)
    assert ok(client.get("/v1/jobs", params={"status": "failed"}))["items"] == []
    assert ok(client.get("/v1/jobs", params={"kind": "other"}))["items"] == []
    missing = client.get("/v1/jobs/job_nope")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/jobs", params={"cursor": "garbage"}).status_code == 422
    assert client.get("/v1/jobs", params={"status": "lost"}).status_code == 422


def test_jobs_need_a_key_with_clients_read(client: TestClient, db_url: str) -> None:
    assert client.get("/v1/jobs", headers={"Authorization": ""}).status_code == 401
    secret = make_key(db_url, "checker", ["entitlements:check"])
    assert client.get("/v1/jobs", headers={"Authorization": f"Bearer {secret}"}).status_code == 403
