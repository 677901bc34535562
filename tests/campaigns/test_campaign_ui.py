"""The web page's campaign parts through HTTP: start with a preview, pause, the card's steps and signing links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage import tables as t
from service.storage.database import Database
from service.usecases.campaign_scheduler import run_pass
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import app_state, ok
from tests.ui.ui_helpers import csrf_of, make_key, seed, sign_in

pytestmark = pytest.mark.storage


Site = tuple[TestClient, TestClient, dict[str, str], Database]  # (admin API, browser, seeded client ids, database)


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = make_settings(db_url, mail_dir=str(tmp_path / "mail"), jobs_embedded=False, public_url="https://support.example")
    app = create_app(settings)
    db = Database.connect(db_url, pool_size=2)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api, TestClient(app) as browser:
        yield api, browser, seed(api), db
    db.dispose()


def mails_to(db: Database, address: str) -> list[t.MailOutbox]:
    with db.reader() as session:
        return list(session.scalars(sa.select(t.MailOutbox).where(t.MailOutbox.to_address == address)))


def test_an_admin_previews_then_starts_a_campaign_and_pauses_it_from_the_dashboard(site: Site) -> None:
    api, browser, ids, db = site
    assert sign_in(browser, ADMIN_KEY).status_code == 303
    page = browser.get("/ui/dashboard")
    assert "Start a campaign" in page.text and "No campaign yet" in page.text
    token = csrf_of(page.text)
    form = {"csrf_token": token, "contract_version": "2026.1", "reminder_days": "14, 7, 2, 0", "name": "Rollout"}
    preview = browser.post("/ui/campaigns", data={**form, "do": "preview"})
    assert preview.status_code == 200 and "Acme Dental" in preview.text and "Triage stays" in preview.text
    assert ok(api.get("/v1/campaigns"))["items"] == []  # a preview creates nothing
    bad = browser.post("/ui/campaigns", data={**form, "reminder_days": "soon", "do": "start"})
    assert bad.status_code == 422 and "whole numbers" in bad.text
    assert browser.post("/ui/campaigns", data={**form, "csrf_token": "forged", "do": "start"}).status_code == 403
    started = browser.post("/ui/campaigns", data={**form, "do": "start"}, follow_redirects=False)
    assert started.status_code == 303
    [campaign] = ok(api.get("/v1/campaigns"))["items"]
    assert campaign["status"] == "running" and campaign["name"] == "Rollout"
    assert campaign["counts"]["targeted"] == 1 and campaign["counts"]["waiting"] == 1  # Acme; Hooli declined
    dashboard = browser.get("/ui/dashboard").text
    assert re.search(r'data-count="targeted">1<', dashboard)
    paused = browser.post(f"/ui/campaigns/{campaign['id']}/pause", data={"csrf_token": token}, follow_redirects=False)
    assert paused.status_code == 303
    assert ok(api.get(f"/v1/campaigns/{campaign['id']}"))["status"] == "paused"
    assert run_pass(db, app_state(api).settings, datetime.now(UTC)) == 0


def test_the_card_shows_the_steps_and_links_and_sends_or_shows_a_link_now(site: Site) -> None:
    api, browser, ids, db = site
    campaign = ok(api.post("/v1/campaigns", json={"contract_version": "2026.1"}), 201)
    ok(api.post(f"/v1/campaigns/{campaign['id']}/start"))
    assert run_pass(db, app_state(api).settings, datetime.now(UTC)) == 1
    tech = make_key(app_state(api).settings.database_url, "tech", "clients:read", "clients:write")
    assert sign_in(browser, tech).status_code == 303
    card = browser.get(f"/ui/clients/{ids['acme']}").text
    assert "Contract campaign" in card and "first message" in card and 'data-field="link-status">active<' in card
    assert "Send a signing link now" in card
    token = csrf_of(card)
    sent = browser.post(f"/ui/clients/{ids['acme']}/signing-link", data={"csrf_token": token, "do": "send"},
                        follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].endswith("done=link-sent")
    assert len(mails_to(db, "office@acmedental.com")) == 2  # the campaign's first message and this one
    copied = browser.post(f"/ui/clients/{ids['acme']}/signing-link", data={"csrf_token": token, "do": "copy"})
    assert copied.status_code == 200
    url = re.search(r'id="new-link-url" value="([^"]+)"', copied.text)
    assert url and url.group(1).startswith("https://support.example/sign/")
    assert len(mails_to(db, "office@acmedental.com")) == 2  # copying mails nothing
    with db.reader() as session:
        links = session.scalars(sa.select(t.SigningLink).where(t.SigningLink.client_id == ids["acme"])).all()
    assert len(links) == 3 and all(link.email == "office@acmedental.com" for link in links)
    assert browser.post(f"/ui/clients/{ids['acme']}/signing-link", data={"do": "send"}).status_code == 403  # no CSRF
    reader = make_key(app_state(api).settings.database_url, "reader", "clients:read")
    other = TestClient(api.app)
    assert sign_in(other, reader).status_code == 303
    assert "Send a signing link now" not in other.get(f"/ui/clients/{ids['acme']}").text
