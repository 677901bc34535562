"""Campaigns end to end against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

The scheduler and the mail outbox are driven pass by pass with an explicit clock, so "a reminder due
now" is a moment of the test, not a wait.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.storage.database import Database
from service.usecases.campaign_scheduler import run_pass
from tests.campaigns.helpers import Rollout, ok, reminders, start_campaign, to
from tests.helpers import mail_body
from tests.mail.smtp_server import ScriptedHandler
from tests.webhooks import providers as p
from tests.webhooks.conftest import drain

pytestmark = pytest.mark.storage


def later(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def test_first_messages_go_to_every_target_with_an_email_and_to_nobody_else(rollout: Rollout, handler: ScriptedHandler) -> None:
    campaign = start_campaign(rollout.api)
    now = datetime.now(UTC)
    assert rollout.tick(now) == 2
    assert to(handler.received) == ["ann@example.com", "bob@example.com"]
    ann = next(m for m in handler.received if m["To"] == "ann@example.com")
    assert ann["X-Supportgate-Campaign"] == campaign["id"]
    assert ann["Message-ID"] == f"<{campaign['id']}.{rollout.clients['ann']}.initial@support.example>"
    assert ann["List-Unsubscribe"] is None  # the first message carries no unsubscribe
    body = mail_body(ann, "plain")
    assert "Ann's Dental" in body and "https://support.example/sign/" in body and "Triage stays" in body
    # Nothing more on the next passes, nor after a restart of the scheduler's process.
    assert rollout.tick(now + timedelta(minutes=1)) == 0
    fresh = Database.connect(rollout.db.url, pool_size=2)
    try:
        assert run_pass(fresh, rollout.settings, now + timedelta(minutes=2)) == 0
    finally:
        fresh.dispose()
    assert len(handler.received) == 2
    shown = ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}"))
    assert shown["counts"]["targeted"] == 2 and shown["counts"]["messages_sent"] == 2 and shown["counts"]["waiting"] == 0
    listed = ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}/recipients", params={"status": "sent"}))["items"]
    assert sorted(r["email"] for r in listed) == ["ann@example.com", "bob@example.com"]
    steps = listed[0]["steps"]
    assert steps[0]["step"] == "initial" and steps[0]["message_id"] and steps[0]["sent_at"]
    assert [s["step"] for s in steps[1:]] == ["reminder_14", "reminder_7", "reminder_2", "reminder_0"]


def test_a_reminder_due_now_is_sent_once_also_after_a_restart(rollout: Rollout, handler: ScriptedHandler) -> None:
    start_campaign(rollout.api)
    rollout.tick(datetime.now(UTC))
    due = rollout.deadline - timedelta(days=7) + timedelta(minutes=1)
    assert rollout.tick(due) == 2
    assert rollout.tick(due + timedelta(seconds=30)) == 0
    fresh = Database.connect(rollout.db.url, pool_size=2)
    try:
        assert run_pass(fresh, rollout.settings, due + timedelta(minutes=1)) == 0
    finally:
        fresh.dispose()
    sent = reminders(handler.received)
    assert to(sent) == ["ann@example.com", "bob@example.com"]
    assert {m["Message-ID"].split(".")[-2].split("@")[0] for m in sent} == {"reminder_7"}
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in sent)
    assert all(m["List-Unsubscribe"].startswith("<https://support.example/u/") for m in sent)


def test_the_fourteen_day_reminder_whose_day_had_passed_at_the_start_is_skipped(rollout: Rollout, handler: ScriptedHandler) -> None:
    start_campaign(rollout.api, reminder_days=[40, 7])  # 40 days before a 30-day deadline: already past
    rollout.tick(datetime.now(UTC))
    for day in range(1, 31):
        rollout.tick(later(day))
    steps = sorted(m["Message-ID"].split(".")[-2].split("@")[0] for m in handler.received)
    assert steps == ["initial", "initial", "reminder_7", "reminder_7"]


def test_a_paused_campaign_sends_nothing_until_resumed(rollout: Rollout, handler: ScriptedHandler) -> None:
    campaign = start_campaign(rollout.api)
    assert ok(rollout.api.post(f"/v1/campaigns/{campaign['id']}/pause"))["status"] == "paused"
    assert rollout.tick(datetime.now(UTC)) == 0
    assert handler.received == []
    assert ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}"))["counts"]["waiting"] == 2
    assert ok(rollout.api.post(f"/v1/campaigns/{campaign['id']}/resume"))["status"] == "running"
    assert rollout.tick(datetime.now(UTC)) == 2
    assert rollout.api.post(f"/v1/campaigns/{campaign['id']}/start").status_code == 200  # already running: no-op
    assert rollout.api.post("/v1/campaigns/nope/pause").status_code == 404


def test_a_temporary_smtp_failure_then_success_delivers_one_message(rollout: Rollout, handler: ScriptedHandler) -> None:
    handler.script = ["451 4.3.0 greylisted, try again later"]
    campaign = start_campaign(rollout.api)
    now = datetime.now(UTC)
    rollout.tick(now)  # one of the two is greylisted
    assert len(handler.received) == 1
    rollout.tick(now + timedelta(seconds=61))
    assert to(handler.received) == ["ann@example.com", "bob@example.com"]
    rollout.tick(now + timedelta(hours=2))
    assert len(handler.received) == 2 and handler.attempts == 3
    assert ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}"))["counts"]["messages_sent"] == 2


def test_a_permanent_smtp_failure_marks_the_recipient_bounced_and_is_not_retried(rollout: Rollout, handler: ScriptedHandler) -> None:
    handler.script = ["550 5.1.1 mailbox unavailable"]
    campaign = start_campaign(rollout.api)
    now = datetime.now(UTC)
    rollout.tick(now)
    rollout.tick(now + timedelta(hours=3))
    assert handler.attempts == 2 and len(handler.received) == 1  # the bounced one was tried once
    bounced = ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}/recipients", params={"status": "bounced"}))["items"]
    assert len(bounced) == 1 and bounced[0]["steps"][0]["mail_status"] == "bounced"
    assert ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}"))["counts"]["bounced"] == 1
    # No reminder to a bounced address; the other recipient gets its own.
    rollout.tick(rollout.deadline - timedelta(days=7) + timedelta(minutes=1))
    assert to(reminders(handler.received)) == [r for r in ("ann@example.com", "bob@example.com") if r != bounced[0]["email"]]


def test_unsubscribe_mutes_the_reminders_only(rollout: Rollout, handler: ScriptedHandler) -> None:
    campaign = start_campaign(rollout.api)
    rollout.tick(datetime.now(UTC))
    rollout.tick(rollout.deadline - timedelta(days=14) + timedelta(minutes=1))
    ann = next(m for m in reminders(handler.received) if m["To"] == "ann@example.com")
    path = urlsplit(ann["List-Unsubscribe"].strip("<>")).path
    # RFC 8058: the mail client POSTs the one-click body, without any key.
    anonymous = TestClient(rollout.api.app)
    assert anonymous.get(path).status_code == 200  # a GET (a link scanner) only shows the button
    assert anonymous.post(path, content=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 200
    assert anonymous.post("/u/forged-token").status_code == 404
    rollout.tick(rollout.deadline - timedelta(days=7) + timedelta(minutes=1))
    seven = [m for m in reminders(handler.received) if "reminder_7" in m["Message-ID"]]
    assert to(seven) == ["bob@example.com"]
    listed = ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}/recipients", params={"status": "unsubscribed"}))["items"]
    assert [r["email"] for r in listed] == ["ann@example.com"]
    # The contract still applies to Ann: her check after the deadline is refused.
    check = ok(rollout.api.post("/v1/entitlements/check", json={
        "client": {"id": rollout.clients["ann"]}, "service": "advanced_support",
        "at": (rollout.deadline + timedelta(days=1)).isoformat()}))
    assert check["allowed"] is False and check["contract"]["status"] == "unsigned"


def test_a_client_who_signs_by_docusign_gets_no_further_reminder(rollout: Rollout, handler: ScriptedHandler) -> None:
    campaign = start_campaign(rollout.api)
    rollout.tick(datetime.now(UTC))
    raw = p.docusign_body("envelope-completed", str(uuid.uuid4()), client_id=rollout.clients["bob"])
    assert rollout.api.post("/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw)).status_code == 200
    assert drain(rollout.api) == 1  # the rollout runs its jobs by hand: the webhook's job too
    for days in (14, 7, 2, 0):
        rollout.tick(rollout.deadline - timedelta(days=days) + timedelta(minutes=1))
    assert to(reminders(handler.received)) == ["ann@example.com"] * 4
    shown = ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}"))["counts"]
    assert shown["signed"] == 1 and shown["targeted"] == 2


def test_a_template_that_does_not_compile_is_refused_and_an_unknown_variable_renders_empty(rollout: Rollout) -> None:
    bad = rollout.api.post("/v1/campaigns", json={"contract_version": "2026.1", "text_template": "Hello {{ client_name "})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "text_template"]
    assert rollout.api.post("/v1/campaigns", json={"contract_version": "2026.1", "html_template": "{% if %}"}).status_code == 422
    assert rollout.api.post("/v1/campaigns", json={"contract_version": "nope"}).status_code == 422
    assert rollout.api.post("/v1/campaigns", json={"contract_version": "2026.1", "reminder_days": [-1]}).status_code == 422
    campaign = ok(rollout.api.post("/v1/campaigns", json={
        "contract_version": "2026.1", "text_template": "Hi {{ client_name }}{{ nobody }}{{ nobody.at.all }}!",
        "subject_template": "{{ contract_title }} {{ days_left }}"}), 201)
    letter = ok(rollout.api.post(f"/v1/campaigns/{campaign['id']}/preview", json={"client_id": rollout.clients["ann"]}))
    assert letter["text"] == "Hi Ann's Dental!"
    assert letter["subject"] == "Service contract 2026 30"
    assert "Ann&#39;s Dental" in letter["html"]  # the shipped HTML letter, escaped
    assert rollout.api.post(f"/v1/campaigns/{campaign['id']}/preview", json={"client_id": "cli_nope"}).status_code == 422


def test_two_scheduler_processes_on_one_database_send_each_step_once(rollout: Rollout, handler: ScriptedHandler) -> None:
    if not rollout.db.url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database")
    for n in range(30):
        ok(rollout.api.post("/v1/clients", json={"name": f"Extra {n:02d}", "emails": [f"extra{n}@example.com"]}), 201)
    start_campaign(rollout.api)
    env = {**os.environ, "SUPPORTGATE_DATABASE_URL": rollout.db.url, "SUPPORTGATE_PUBLIC_URL": rollout.settings.public_url,
           "SUPPORTGATE_LOG_LEVEL": "WARNING", "SUPPORTGATE_JOBS_EMBEDDED": "false"}
    root = Path(__file__).resolve().parents[2]

    def race(now: datetime) -> list[int]:
        start_at = str(time.time() + 3)
        runs = [subprocess.Popen([sys.executable, "-m", "tests.campaigns.run_pass_once", now.isoformat(), start_at],
                                 cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
        return [int(out.strip()) for out, _ in outputs]

    first = race(datetime.now(UTC))
    print("first messages written by each process:", first)
    assert sum(first) == 32  # Ann, Bob and the 30 extras: each written by exactly one of the two
    due = rollout.deadline - timedelta(days=7) + timedelta(minutes=1)
    second = race(due)
    assert sum(second) == 32
    rollout.tick(due)
    ids = [m["Message-ID"] for m in handler.received]
    assert len(ids) == 64 and len(set(ids)) == 64


def test_two_scheduler_threads_with_their_own_engines_write_each_step_once(rollout: Rollout, handler: ScriptedHandler) -> None:
    for n in range(10):
        ok(rollout.api.post("/v1/clients", json={"name": f"Extra {n:02d}", "emails": [f"extra{n}@example.com"]}), 201)
    start_campaign(rollout.api)
    now = datetime.now(UTC)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def replica() -> None:
        db = Database.connect(rollout.db.url, pool_size=2)
        try:
            barrier.wait()
            results.append(run_pass(db, rollout.settings, now))
        finally:
            db.dispose()

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(results) == 12
    rollout.tick(now)
    assert len(handler.received) == 12 and len({m["Message-ID"] for m in handler.received}) == 12
