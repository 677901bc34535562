"""End-to-end: Playwright drives Debian's Chromium against a real uvicorn server (SQLite and PostgreSQL).

Skipped when /usr/bin/chromium (or the playwright package) is missing, except in CI (CI=true), where
it must run. Screenshots go to $SUPPORTGATE_SCREENSHOT_DIR when set (`make screenshots` writes the
ones under docs/screenshots/), to a temporary directory otherwise.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from service.api.app import create_app
from service.demo import load_demo
from service.storage.database import Database
from tests.conftest import make_settings
from tests.ui.ui_helpers import make_key

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

if not os.path.exists(CHROMIUM) and not IN_CI:
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI runs these", allow_module_level=True)
if not IN_CI:
    pytest.importorskip("playwright.sync_api")  # skips this module (and test_sign_browser) without the package
# Imported after the skips above; re-exported (`as`) for test_sign_browser.
from playwright.sync_api import Page as Page  # noqa: E402
from playwright.sync_api import ViewportSize  # noqa: E402
from playwright.sync_api import expect as expect  # noqa: E402
from playwright.sync_api import sync_playwright as sync_playwright  # noqa: E402

PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = [pytest.mark.storage, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(db_url: str) -> Iterator[dict[str, Any]]:
    """A real HTTP server on a free port with the demo data and two keys."""
    db = Database.connect(db_url, pool_size=1)
    with db.writer() as session:
        load_demo(session, datetime.now(UTC))
        session.commit()
    db.dispose()
    keys = {"tech": make_key(db_url, "tech", "clients:read", "clients:write"), "reader": make_key(db_url, "reader", "clients:read")}
    port = free_port()
    config = uvicorn.Config(create_app(make_settings(db_url)), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield {"base": f"http://127.0.0.1:{port}", "keys": keys, "db_url": db_url}
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server: dict[str, Any]) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        problems: list[str] = []
        tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" and not provoked(msg.text) else None)
        tab.on("request", lambda req: None if req.url.startswith(server["base"]) else problems.append(f"outside request {req.url}"))
        tab.set_default_timeout(10_000)
        yield tab
        context.close()
        browser.close()
        # No blocked script or style (the page's CSP), no request to another origin.
        assert problems == []


@pytest.fixture
def shots(tmp_path: Path, db_url: str) -> Path:
    target = os.environ.get("SUPPORTGATE_SCREENSHOT_DIR")
    # The committed screenshots come from the SQLite run only.
    return Path(target) if target and db_url.startswith("sqlite") else tmp_path


def provoked(console_error: str) -> bool:
    """The refusals the tests ask for (401 wrong key, 403 form without token) show as failed loads."""
    return any(f"status of {code} " in console_error for code in (401, 403))


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/ui/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"] + 1, f"page is {width}px wide on a phone"


def test_technician_signs_in_finds_a_caller_and_records_a_paper_signature(page: Page, server: dict[str, Any], shots: Path) -> None:
    base = server["base"]
    sign_in(page, base, "sg_wrong-key")
    expect(page.get_by_role("alert")).to_contain_text("refused")
    assert page.url.startswith(f"{base}/ui/login")

    sign_in(page, base, server["keys"]["tech"])
    expect(page).to_have_url(f"{base}/ui/search")

    # Stored as +1 415 555 0100, typed the way the caller id shows it; results come as you type.
    page.get_by_label("Name, phone (any format), e-mail or external id").press_sequentially("415.555.0100", delay=20)
    expect(page.get_by_role("link", name="Globex Law")).to_be_visible()
    expect(page.get_by_role("link", name="Acme Dental")).to_have_count(0)
    page.screenshot(path=str(shots / "search.png"))
    page.get_by_role("link", name="Globex Law").click()
    expect(page.locator("#tier")).to_contain_text("Gold")
    expect(page.locator("#tier")).to_contain_text("tier 2")
    expect(page.locator("#contract-status")).to_have_text("Signed")

    page.goto(f"{base}/ui/search")
    page.get_by_label("Name, phone (any format), e-mail or external id").press_sequentially("212-555-0142", delay=20)
    page.get_by_role("link", name="Acme Dental").click()
    expect(page.locator("#tier")).to_contain_text("No tier")
    expect(page.locator("#contract-status")).to_have_text("Unsigned")
    expect(page.locator('tr[data-service="advanced_support"]')).to_contain_text("No")
    page.screenshot(path=str(shots / "card.png"), full_page=True)

    page.get_by_label("Signed by").fill("Dr. Ada Acme")
    page.get_by_label("Signer's e-mail (optional)").fill("office@acmedental.com")
    page.get_by_role("button", name="Record signature").click()
    expect(page.get_by_role("status")).to_have_text("Paper signature recorded.")
    expect(page.locator("#contract-status")).to_have_text("Signed")
    expect(page.locator('tr[data-service="advanced_support"]')).to_contain_text("Yes")
    expect(page.locator("#signed-version")).to_contain_text("2026.1")
    page.screenshot(path=str(shots / "card-signed.png"), full_page=True)

    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "card-phone.png"))


def test_a_form_without_its_csrf_token_is_refused(page: Page, server: dict[str, Any]) -> None:
    base = server["base"]
    sign_in(page, base, server["keys"]["tech"])
    page.get_by_label("Name, phone (any format), e-mail or external id").press_sequentially("Hooli", delay=20)
    page.get_by_role("link", name="Hooli Studio").click()
    card_url = page.url
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach((input) => input.remove())")
    page.get_by_role("form", name="Grant a time-boxed override").get_by_label("Reason").fill("let them through")
    page.get_by_role("button", name="Grant override").click()
    expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    page.goto(card_url)
    expect(page.locator("#contract-status")).to_have_text("Declined")
    assert "let them through" not in page.content()


def test_manager_sees_the_dashboard(page: Page, server: dict[str, Any], shots: Path) -> None:
    base = server["base"]
    sign_in(page, base, server["keys"]["reader"])
    page.get_by_role("link", name="Coverage").click()
    expect(page.locator("#signed-pct")).to_have_text("40.0 %")  # Globex and Initech of the five demo clients
    expect(page.locator("#to-chase")).to_contain_text("Umbrella Cafe")
    expect(page.locator("#to-chase")).not_to_contain_text("Globex")
    expect(page.locator("svg[role=img] polyline")).to_have_count(1)
    # A read-only key: the card shows no actions.
    page.get_by_role("link", name="Acme Dental").click()
    expect(page.get_by_role("heading", name="Record a paper signature")).to_have_count(0)
    page.go_back()
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "dashboard-phone.png"))
