"""End-to-end: Debian's Chromium opens a signing link on a phone screen, reads the document and signs
with the keyboard only; the check turns `signed` at once, the receipt carries the evidence, the signer's
copy lands in the mail folder, and the link then answers 410 (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from service.api.app import create_app
from tests.conftest import ADMIN_KEY, make_settings
from tests.signing.helpers import MARKDOWN_V1, MARKDOWN_V2
from tests.ui.test_ui_browser import ARGS, CHROMIUM, PHONE, Page, expect, free_port, no_sideways_scroll, sync_playwright

pytestmark = [pytest.mark.storage, pytest.mark.slow]


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    mail_dir = tmp_path / "mail"
    settings = make_settings(db_url, public_url=base, mail_dir=str(mail_dir), mail_poll_seconds=0.2, job_poll_seconds=0.1)
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10) as api:
        yield {"base": base, "api": api, "mail_dir": mail_dir}
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def phone(server: dict[str, Any]) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        tab = context.new_page()
        problems: list[str] = []
        tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" and "status of 4" not in msg.text else None)
        tab.on("request", lambda req: None if req.url.startswith(server["base"]) else problems.append(f"outside request {req.url}"))
        tab.set_default_timeout(10_000)
        yield tab
        context.close()
        browser.close()
        assert problems == []  # no blocked style (the page's CSP), no request to another origin


def publish(api: httpx.Client, version: str, document: bytes, at: str | None = None) -> None:
    created = api.post("/v1/contracts", json={
        "version": version, "title": "Service contract", "document_url": f"https://example.com/{version}",
        "document_sha256": hashlib.sha256(document).hexdigest(), "grace_days": 30,
    })
    assert created.status_code == 201, created.text
    assert api.put(f"/v1/contracts/{version}/document", content=document, headers={"Content-Type": "text/markdown"}).status_code == 204
    assert api.post(f"/v1/contracts/{version}/publish", json={"at": at} if at else {}).status_code == 200


def tab_to(page: Page, element_id: str) -> None:
    """Move the focus with the Tab key only, until it is on `element_id`."""
    for _ in range(40):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


@pytest.fixture
def shots(tmp_path: Path, db_url: str) -> Path:
    target = os.environ.get("SUPPORTGATE_SCREENSHOT_DIR")
    return Path(target) if target and db_url.startswith("sqlite") else tmp_path


def test_a_client_signs_from_the_link_on_a_phone_with_the_keyboard(phone: Page, server: dict[str, Any], shots: Path) -> None:
    api, base = server["api"], server["base"]
    publish(api, "2025.1", MARKDOWN_V1, at="2025-01-01T00:00:00+00:00")
    client = api.post("/v1/clients", json={"name": "Acme Dental", "emails": ["ann@acme.example"]}).json()
    signed_before = {"contract_version": "2025.1", "decision": "signed", "method": "paper", "signer_name": "Ann",
                     "signer_email": "ann@acme.example", "signed_at": "2025-02-01T00:00:00+00:00"}
    assert api.post(f"/v1/clients/{client['id']}/acceptances", json=signed_before).status_code == 201
    publish(api, "2026.1", MARKDOWN_V2)
    link = api.post(f"/v1/clients/{client['id']}/signing-links", json={"email": "ann@acme.example"}).json()
    assert link["url"].startswith(f"{base}/sign/")
    check = {"client": {"id": client["id"]}, "service": "advanced_support"}
    assert api.post("/v1/entitlements/check", json=check).json()["contract"]["status"] == "pending"

    phone.goto(link["url"])
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Service contract")
    expect(phone.get_by_text("Acme Dental").first).to_be_visible()
    document = phone.get_by_label("Contract text")
    expect(document).to_contain_text("within four hours")
    expect(phone.locator(".diff .added")).to_contain_text(["within four hours"])
    expect(phone.locator(".diff .removed")).to_contain_text(["within one business day"])
    no_sideways_scroll(phone)
    phone.screenshot(path=str(shots / "sign-phone.png"), full_page=True)

    # Accept without the consent box: the form comes back with the message, nothing recorded.
    tab_to(phone, "signer_name")
    phone.keyboard.type("Ann Smith")
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("alert")).to_contain_text("Tick the box")
    phone.screenshot(path=str(shots / "sign-phone-problem.png"))
    assert api.get(f"/v1/clients/{client['id']}/acceptances").json()["items"][0]["contract_version"] == "2025.1"

    tab_to(phone, "consent")
    phone.keyboard.press("Space")
    tab_to(phone, "signer_title")
    phone.keyboard.type("Office manager")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Accept and sign"
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(f"{link['url']}/receipt")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you: the contract is signed")
    no_sideways_scroll(phone)
    phone.screenshot(path=str(shots / "sign-receipt-phone.png"), full_page=True)
    user_agent = phone.evaluate("navigator.userAgent")

    # The check sees the signature at once.
    assert api.post("/v1/entitlements/check", json=check).json()["contract"]["status"] == "signed"
    receipt = httpx.get(f"{link['url']}/receipt", headers={"Accept": "application/json"}).json()
    assert receipt["document_sha256"] == hashlib.sha256(MARKDOWN_V2).hexdigest()
    assert receipt["ip"] == "127.0.0.1" and receipt["user_agent"] == user_agent
    assert (receipt["signer_name"], receipt["signer_title"], receipt["signer_email"]) == ("Ann Smith", "Office manager",
                                                                                       "ann@acme.example")

    # The same link is spent.
    again = phone.goto(link["url"])
    assert again is not None and again.status == 410
    expect(phone.get_by_role("heading", level=1)).to_have_text("This link can no longer be used")

    # The signer's copy is delivered by the job runner to the mail folder.
    deadline = time.monotonic() + 10
    while not list(server["mail_dir"].glob("*.eml")):
        assert time.monotonic() < deadline, "no copy was mailed to the signer"
        time.sleep(0.1)
    [copy] = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in server["mail_dir"].glob("*.eml")]
    assert copy["To"] == "ann@acme.example" and copy["Subject"].startswith("Signed:")
    assert f"{link['url']}/receipt" in copy.get_content()
