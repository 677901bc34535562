"""Signing out ends the session on the server: a copy of the cookie taken before stops working."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.ui.ui_helpers import csrf_of, make_key, sign_in

pytestmark = pytest.mark.storage


@pytest.fixture
def app_of(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as browser:
        yield browser


def test_a_cookie_copied_before_sign_out_no_longer_works(app_of: TestClient, settings: Settings) -> None:
    browser = app_of
    assert sign_in(browser, make_key(settings.database_url, "tech", "clients:read")).status_code == 303
    copied = browser.cookies.get("sg_session")
    assert copied
    page = browser.get("/ui/search", follow_redirects=False)
    assert page.status_code == 200
    other = TestClient(browser.app)  # another browser, on the same running app (no second lifespan)
    # The copy works while the session lives.
    assert other.get("/ui/search", headers={"Cookie": f"sg_session={copied}"}, follow_redirects=False).status_code == 200
    assert browser.post("/ui/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False).status_code == 303
    # Whoever copied the cookie presents it after sign-out: signed out there too.
    answer = other.get("/ui/search", headers={"Cookie": f"sg_session={copied}"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")


def test_signing_in_again_gives_a_new_working_session_and_the_other_sessions_of_the_key_live_on(
    app_of: TestClient, settings: Settings,
) -> None:
    key = make_key(settings.database_url, "tech", "clients:read")
    browser = app_of
    laptop = TestClient(browser.app)
    sign_in(browser, key)
    sign_in(laptop, key)
    page = browser.get("/ui/search")
    browser.post("/ui/logout", data={"csrf_token": csrf_of(page.text)})
    assert browser.get("/ui/search", follow_redirects=False).status_code == 303
    # Signing out ends this browser's session, not the same key's session on another machine.
    assert laptop.get("/ui/search", follow_redirects=False).status_code == 200
    sign_in(browser, key)
    assert browser.get("/ui/search", follow_redirects=False).status_code == 200
