"""Fixtures for webhook tests: every provider configured, a local stub of the provider APIs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from service.storage import tables as t
from service.usecases.webhook_worker import WebhookIntake
from service.usecases.webhooks import OUTCOME
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import app_state, create_client, publish_contract, put_plans
from tests.webhooks import providers as p


class StubApi:
    """Answers GETs from a script per path: a list of (status, JSON body); the last one repeats."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stub.requests.append({"path": self.path, "headers": dict(self.headers)})
                answers = stub.script.get(self.path) or [(404, {"error": {"error_msg": "Not found"}})]
                status, body = answers.pop(0) if len(answers) > 1 else answers[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, *answers: tuple[int, Any]) -> None:
        self.script[path] = list(answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_api() -> Iterator[StubApi]:
    stub = StubApi()
    yield stub
    stub.close()


def webhook_settings(db_url: str, api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "docusign_hmac_keys": ",".join(p.DOCUSIGN_KEYS),
        "dropbox_sign_api_key": p.DROPBOX_KEY,
        "dropbox_sign_api_url": api_url,
        "pandadoc_webhook_key": p.PANDADOC_KEY,
        "standard_webhook_secret": p.STANDARD_SECRET,
        "adobe_sign_client_ids": ",".join(p.ADOBE_CLIENT_IDS),
        "adobe_sign_api_url": api_url,
        "adobe_sign_api_token": p.ADOBE_TOKEN,
        "webhook_confirm_timeout_seconds": 2.0,
        "webhook_retry_poll_seconds": 0.1,
        "webhook_retry_base_seconds": 0.2,
        "webhook_retry_max_seconds": 1.0,
    }
    values.update(overrides)
    return make_settings(db_url, **values)


@pytest.fixture
def wh_settings(db_url: str, stub_api: StubApi) -> Settings:
    return webhook_settings(db_url, stub_api.url)


@pytest.fixture
def wh(wh_settings: Settings) -> Iterator[TestClient]:
    """An app with every provider configured; requests carry the admin key (webhooks ignore it)."""
    with TestClient(create_app(wh_settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client


@pytest.fixture
def acme(wh: TestClient) -> dict[str, Any]:
    """A published contract 2026.1 (no grace) and one client who has not signed it."""
    put_plans(wh)
    publish_contract(wh, grace_days=0)
    return create_client(wh, emails=["office@acme.example"], external_refs=[{"system": "crm", "id": "ACME-1"}])


def settle(client: TestClient, timeout: float = 20.0) -> None:
    """Wait until the processing job has taken up every stored event: deliveries are answered once
    stored, and applied by the `webhooks.process` job of the app's embedded runner."""
    db = app_state(client).db
    deadline = time.monotonic() + timeout
    while True:
        with db.reader() as session:
            waiting = session.scalar(
                sa.select(sa.func.count()).select_from(t.WebhookEvent).where(t.WebhookEvent.status == "received"))
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{waiting} stored webhook events were not processed within {timeout} s")
        time.sleep(0.02)


def drain(client: TestClient) -> int:
    """Process every due stored event here and now, as the job would (for apps without a job runner)."""
    intake = app_state(client).extras["webhooks"]
    assert isinstance(intake, WebhookIntake)
    inbox = intake.inbox
    done = 0
    while inbox.process_next() is not None:
        done += 1
    return done


# The outcome of a delivery whose events had different outcomes: the most telling one.
_OUTCOME_ORDER = ("failed", "unmatched", "rejected", "applied")


def outcome(client: TestClient, response: Any) -> str:
    """What became of a delivery: `duplicate` (known already), else, once its events are processed,
    applied | unmatched | rejected | failed (from the inbox, as the metric counts them)."""
    assert response.status_code == 200, response.text
    answer = response.json()
    if answer["status"] == "duplicate":
        assert answer["events"] == []
        return "duplicate"
    assert answer["status"] == "received" and answer["events"], answer
    settle(client)
    db = app_state(client).db
    with db.reader() as session:
        statuses = set(session.scalars(sa.select(t.WebhookEvent.status).where(t.WebhookEvent.id.in_(answer["events"]))))
    found = {OUTCOME[status] for status in statuses}
    return next(o for o in _OUTCOME_ORDER if o in found)


def counts(client: TestClient) -> tuple[int, int, int]:
    """(inbox events, acceptances, signature requests) straight from the database, once processed."""
    settle(client)
    db = app_state(client).db
    with db.reader() as session:
        return (
            session.execute(sa.select(sa.func.count()).select_from(t.WebhookEvent)).scalar_one(),
            session.execute(sa.select(sa.func.count()).select_from(t.Acceptance)).scalar_one(),
            session.execute(sa.select(sa.func.count()).select_from(t.SignatureRequest)).scalar_one(),
        )


def inbox(client: TestClient, status: str | None = None) -> list[dict[str, Any]]:
    settle(client)
    response = client.get("/v1/webhooks/events", params={"status": status} if status else {})
    assert response.status_code == 200, response.text
    return cast(list[dict[str, Any]], response.json()["items"])


def contract_status(client: TestClient, client_id: str) -> str:
    settle(client)
    response = client.get(f"/v1/clients/{client_id}")
    assert response.status_code == 200, response.text
    return cast(str, response.json()["contract"]["status"])


def metric(client: TestClient, provider: str, outcome: str, name: str = "deliveries") -> float:
    """A webhook counter: `deliveries` (as answered: received, duplicate, rejected) or `processed` (by the job)."""
    settle(client)
    text = client.get("/metrics").text
    wanted = f'supportgate_webhook_{name}_total{{outcome="{outcome}",provider="{provider}"}}'
    for line in text.splitlines():
        if line.startswith(wanted):
            return float(line.split()[-1])
    return 0.0
