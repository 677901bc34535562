"""`supportgate campaign create|start|pause|resume|status|send-due` against a real database and the .eml transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api.app import create_app
from service.cli import app as cli
from service.settings import get_settings
from tests.conftest import ADMIN_KEY, make_settings
from tests.ui.ui_helpers import seed

pytestmark = pytest.mark.storage


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    mail = tmp_path / "mail"
    with TestClient(create_app(make_settings(db_url, jobs_embedded=False)),
                    headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        seed(api)
    monkeypatch.setenv("SUPPORTGATE_DATABASE_URL", db_url)
    monkeypatch.setenv("SUPPORTGATE_MAIL_DIR", str(mail))
    monkeypatch.delenv("SUPPORTGATE_SMTP_URL", raising=False)
    get_settings.cache_clear()
    yield mail
    get_settings.cache_clear()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_create_start_send_pause_and_status(env: Path) -> None:
    campaign_id = run("campaign", "create", "--version", "2026.1", "--name", "Rollout").strip()
    assert campaign_id.startswith("cmp")
    assert "draft" in run("campaign", "status", campaign_id)
    assert "running" in run("campaign", "start", campaign_id)
    assert "steps queued: 1" in run("campaign", "send-due")
    [eml] = [p for p in env.glob("*.eml") if not p.name.startswith(".")]
    assert "office@acmedental.com" in eml.read_text() and "/sign/" in eml.read_text()
    status = run("campaign", "status")
    assert "targeted=1" in status and "messages_sent=1" in status
    assert "paused" in run("campaign", "pause", campaign_id)
    bad = CliRunner().invoke(cli, ["campaign", "start", "cmp_nope"])
    assert bad.exit_code == 1 and "no campaign" in bad.output
    bad_days = CliRunner().invoke(cli, ["campaign", "create", "--version", "2026.1", "--reminder-days", "soon"])
    assert bad_days.exit_code == 2
