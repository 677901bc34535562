"""The scheduler as the app runs it: the periodic job campaigns.schedule and mail.deliver, no hand-driven pass."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import ok
from tests.ui.ui_helpers import seed

pytestmark = pytest.mark.storage


def delivered(mail: Path) -> list[Path]:
    # The transport writes ".tmp-….eml" aside and renames it: only finished files count.
    return [path for path in mail.glob("*.eml") if not path.name.startswith(".")]


def test_a_started_campaign_is_mailed_by_the_embedded_job_runner(db_url: str, tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    settings = make_settings(db_url, mail_dir=str(mail), scheduler_interval_seconds=0.3, job_poll_seconds=0.1,
                             mail_poll_seconds=0.3)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        seed(api)
        campaign = ok(api.post("/v1/campaigns", json={"contract_version": "2026.1"}), 201)
        ok(api.post(f"/v1/campaigns/{campaign['id']}/start"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not delivered(mail):
            time.sleep(0.2)
        [eml] = delivered(mail)
        assert "office@acmedental.com" in eml.read_text()
        time.sleep(1.0)  # further passes add nothing
        assert len(delivered(mail)) == 1
        assert ok(api.get(f"/v1/campaigns/{campaign['id']}"))["counts"]["messages_sent"] == 1
