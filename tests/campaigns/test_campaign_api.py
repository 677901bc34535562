"""Campaign API details: scopes, "opened", a client created later, a superseded version, preview sends nothing."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.storage import tables as t
from tests.campaigns.helpers import Rollout, ok, start_campaign, to
from tests.helpers import mail_body
from tests.mail.smtp_server import ScriptedHandler
from tests.ui.ui_helpers import make_key

pytestmark = pytest.mark.storage


def test_opening_the_link_shows_as_opened(rollout: Rollout, handler: ScriptedHandler) -> None:
    campaign = start_campaign(rollout.api)
    rollout.tick(datetime.now(UTC))
    ann = next(m for m in handler.received if m["To"] == "ann@example.com")
    link = re.search(r"https://support\.example(/sign/[\w-]+)", mail_body(ann, "plain"))
    assert link
    assert TestClient(rollout.api.app).get(link.group(1)).status_code == 200
    opened = ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}/recipients", params={"status": "opened"}))["items"]
    assert [r["email"] for r in opened] == ["ann@example.com"]
    assert ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}"))["counts"]["opened"] == 1


def test_reads_take_clients_read_and_changes_take_admin(rollout: Rollout) -> None:
    campaign = start_campaign(rollout.api)
    reader = TestClient(rollout.api.app, headers={"Authorization": f"Bearer {make_key(rollout.db.url, 'tech', 'clients:read')}"})
    assert reader.get("/v1/campaigns").status_code == 200
    assert reader.get(f"/v1/campaigns/{campaign['id']}/recipients").status_code == 200
    assert reader.post(f"/v1/campaigns/{campaign['id']}/pause").status_code == 403
    assert reader.post("/v1/campaigns", json={"contract_version": "2026.1"}).status_code == 403
    assert reader.post(f"/v1/campaigns/{campaign['id']}/preview", json={"client_id": rollout.clients["ann"]}).status_code == 403
    assert TestClient(rollout.api.app).get("/v1/campaigns").status_code == 401
    assert rollout.api.get("/v1/campaigns/cmp_nope").status_code == 404
    assert rollout.api.get(f"/v1/campaigns/{campaign['id']}/recipients", params={"status": "lost"}).status_code == 422


def test_a_client_created_after_the_start_gets_its_first_message_then_its_own_reminders(rollout: Rollout, handler: ScriptedHandler) -> None:
    start_campaign(rollout.api)
    rollout.tick(datetime.now(UTC))
    newcomer = ok(rollout.api.post("/v1/clients", json={"name": "Newcomer", "emails": ["new@example.com"]}), 201)
    created = datetime.fromisoformat(newcomer["created_at"])
    rollout.tick(datetime.now(UTC) + timedelta(minutes=1))
    assert to(handler.received).count("new@example.com") == 1
    # Its own deadline: created + SUPPORTGATE_NEW_CLIENT_GRACE_DAYS (14); the 14-day reminder fell on its first day.
    rollout.tick(created + timedelta(days=14 - 7, minutes=1))
    news = [m for m in handler.received if m["To"] == "new@example.com"]
    assert [m["Message-ID"].split(".")[-2].split("@")[0] for m in news] == ["initial", "reminder_7"]


def test_a_superseded_version_finishes_its_campaign(rollout: Rollout, handler: ScriptedHandler) -> None:
    campaign = start_campaign(rollout.api)
    rollout.tick(datetime.now(UTC))
    ok(rollout.api.post("/v1/contracts", json={
        "version": "2026.2", "title": "Service contract 2026, second edition", "document_url": "https://example.com/c2",
        "document_sha256": hashlib.sha256(b"v2").hexdigest(), "grace_days": 30}), 201)
    ok(rollout.api.post("/v1/contracts/2026.2/publish", json={}))
    assert rollout.tick(rollout.deadline - timedelta(days=7) + timedelta(minutes=1)) == 0
    shown = ok(rollout.api.get(f"/v1/campaigns/{campaign['id']}"))
    assert shown["status"] == "finished" and shown["finished_at"]
    assert len(handler.received) == 2
    assert rollout.api.post(f"/v1/campaigns/{campaign['id']}/resume").status_code == 409


def test_preview_sends_and_creates_nothing(rollout: Rollout, handler: ScriptedHandler) -> None:
    campaign = start_campaign(rollout.api)
    letter = ok(rollout.api.post(f"/v1/campaigns/{campaign['id']}/preview", json={"client_id": rollout.clients["bob"]}))
    assert "Bob's Bakery" in letter["text"] and "Bob&#39;s Bakery" in letter["html"] and letter["subject"]
    with rollout.db.reader() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(t.MailOutbox)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(t.SigningLink)) == 0
    assert handler.received == []


def test_one_live_campaign_per_version_and_header_safe_addresses(rollout: Rollout, handler: ScriptedHandler) -> None:
    first = start_campaign(rollout.api, from_address="Support Team <support@example.com>", reply_to="help@example.com")
    second = ok(rollout.api.post("/v1/campaigns", json={"contract_version": "2026.1"}), 201)
    assert rollout.api.post(f"/v1/campaigns/{second['id']}/start").status_code == 409
    ok(rollout.api.post(f"/v1/campaigns/{first['id']}/pause"))
    assert rollout.api.post(f"/v1/campaigns/{second['id']}/start").status_code == 409  # paused is still live
    for bad in ("nobody", "a@b.c\r\nBcc: all@example.com", "two words@example.com"):
        answer = rollout.api.post("/v1/campaigns", json={"contract_version": "2026.1", "from_address": bad})
        assert answer.status_code == 422, bad
    ok(rollout.api.post(f"/v1/campaigns/{first['id']}/resume"))
    rollout.tick(datetime.now(UTC))
    assert len(handler.received) == 2
    assert all(m["From"] == "Support Team <support@example.com>" and m["Reply-To"] == "help@example.com"
               for m in handler.received)
    assert "Support Team" in mail_body(handler.received[0], "plain")


def test_a_template_that_fails_only_for_one_client_is_a_422_in_preview_and_skips_that_client(
    rollout: Rollout, handler: ScriptedHandler,
) -> None:
    template = "{% if client_name.startswith('Ann') %}{{ 1 // 0 }}{% endif %}Hello {{ client_name }}"
    campaign = start_campaign(rollout.api, text_template=template)
    assert rollout.api.post(f"/v1/campaigns/{campaign['id']}/preview", json={"client_id": rollout.clients["ann"]}).status_code == 422
    assert ok(rollout.api.post(f"/v1/campaigns/{campaign['id']}/preview", json={"client_id": rollout.clients["bob"]}))["text"] \
        == "Hello Bob's Bakery"
    rollout.tick(datetime.now(UTC))
    assert to(handler.received) == ["bob@example.com"]  # Ann's step was not written, nothing half-done
    with rollout.db.reader() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(t.SigningLink)) == 1


def test_reminders_follow_the_client_when_its_first_address_is_removed(rollout: Rollout, handler: ScriptedHandler) -> None:
    start_campaign(rollout.api)
    rollout.tick(datetime.now(UTC))
    ok(rollout.api.patch(f"/v1/clients/{rollout.clients['ann']}", json={"emails": ["ann.new@example.com"]}))
    rollout.tick(rollout.deadline - timedelta(days=14) + timedelta(minutes=1))
    assert sorted(str(m["To"]) for m in handler.received if m["List-Unsubscribe"]) == ["ann.new@example.com", "bob@example.com"]
