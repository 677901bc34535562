"""Fixtures of the campaign tests: a live SMTP server and a small rollout on it (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage.database import Database
from tests.campaigns.helpers import Rollout, make_rollout
from tests.conftest import ADMIN_KEY, make_settings
from tests.mail.smtp_server import ScriptedHandler, smtp_server
from tests.webhooks import providers as p


@pytest.fixture
def handler() -> ScriptedHandler:
    return ScriptedHandler()


@pytest.fixture
def rollout(db_url: str, handler: ScriptedHandler, tmp_path: Path) -> Iterator[Rollout]:
    with smtp_server(handler) as smtp_url:
        settings = make_settings(db_url, smtp_url=smtp_url, mail_dir=str(tmp_path / "mail"), jobs_embedded=False,
                                 public_url="https://support.example", docusign_hmac_keys=",".join(p.DOCUSIGN_KEYS),
                                 mail_retry_base_seconds=60)
        db = Database.connect(db_url, pool_size=4)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
            yield make_rollout(api, db, settings)
        db.dispose()
