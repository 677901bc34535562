"""The web page through HTTP on both databases: sign-in, session cookie, CSRF, search, card, actions, dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.helpers import ok
from tests.ui.ui_helpers import csrf_of, found, make_key, seed, sign_in

pytestmark = pytest.mark.storage


@pytest.fixture
def site(settings: Settings) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    """(api client as admin, browser-like client without any key header, seeded client ids)."""
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api, TestClient(app) as browser:
        yield api, browser, seed(api)


def test_wrong_key_is_refused_and_the_cookie_never_holds_the_key(
    site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings,
) -> None:
    api, browser, _ids = site
    refused = sign_in(browser, "sg_not-a-real-key")
    assert refused.status_code == 401 and "refused" in refused.text
    check_only = make_key(settings.database_url, "ivr", "entitlements:check")
    lacking = sign_in(browser, check_only)
    assert lacking.status_code == 403 and "clients:read" in lacking.text
    assert browser.get("/ui/search", follow_redirects=False).status_code == 303

    tech = make_key(settings.database_url, "tech", "clients:read", "clients:write")
    answer = sign_in(browser, tech)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/search"
    set_cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie.replace("Strict", "strict") and "Path=/ui" in set_cookie
    value = browser.cookies.get("sg_session")
    assert value and tech not in value and tech[3:] not in value
    assert browser.get("/ui/search").status_code == 200

    # A tampered cookie is a stranger: back to the sign-in page.
    payload, mac = value.split(".")
    browser.cookies.set("sg_session", payload[:-2] + "xx." + mac, path="/ui")
    assert browser.get("/ui/search", follow_redirects=False).headers["location"].startswith("/ui/login")


def test_revoking_the_key_ends_the_session(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    from datetime import UTC, datetime

    from service.storage.database import Database
    from service.usecases import keys

    api, browser, _ids = site
    sign_in(browser, make_key(settings.database_url, "temp", "clients:read"))
    assert browser.get("/ui/search").status_code == 200
    db = Database.connect(settings.database_url, pool_size=1)
    with db.writer() as session:
        keys.revoke_key(session, name="temp", actor="test", now=datetime.now(UTC))
        session.commit()
    db.dispose()
    import time

    for _ in range(50):  # the key cache sees the change within the staleness window
        if browser.get("/ui/search", follow_redirects=False).status_code == 303:
            break
        time.sleep(0.05)
    assert browser.get("/ui/search", follow_redirects=False).status_code == 303


def test_search_finds_clients_however_they_are_typed(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    _api, browser, ids = site
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read"))
    for typed in ("212.555.0142", "+1 (212) 555 0142", "2125550142", "OFFICE@ACMEDENTAL.COM", "acme"):
        page = browser.get("/ui/search/results", params={"q": typed})
        assert page.status_code == 200
        assert f"/ui/clients/{ids['acme']}" in page.text, typed
        assert "Globex" not in page.text
    assert f"/ui/clients/{ids['globex']}" in browser.get("/ui/search/results", params={"q": "HX-77"}).text
    assert "No client matches" in browser.get("/ui/search/results", params={"q": "(999) 555-0000"}).text
    # Without JavaScript the page itself answers the query.
    assert f"/ui/clients/{ids['acme']}" in browser.get("/ui/search", params={"q": "212-555-0142"}).text
    browser.cookies.clear()
    assert browser.get("/ui/search/results", params={"q": "acme"}).status_code == 401


def test_card_shows_tier_contract_and_what_is_allowed(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    api, browser, ids = site
    sign_in(browser, make_key(settings.database_url, "reader", "clients:read"))
    card = browser.get(f"/ui/clients/{ids['globex']}").text
    tier = found(r'id="tier"[^>]*>(.*?)</p>', card, re.S).group(1)
    assert "Gold" in tier and "tier 2" in tier
    assert 'class="badge s-signed"' in found(r'id="contract-status">(.*?)</p>', card, re.S).group(1)
    assert "2026.1" in card and "HX-77" in card
    decisions = ok(api.get(f"/v1/clients/{ids['globex']}/entitlements"))["items"]
    for item in decisions:
        row = found(rf'data-service="{item["service"]}">(.*?)</tr>', card, re.S).group(1)
        assert ("✓ Yes" in row) is item["allowed"]
    hooli = browser.get(f"/ui/clients/{ids['hooli']}").text
    assert "s-declined" in hooli and "✗ No" in hooli
    pending = browser.get(f"/ui/clients/{ids['acme']}").text
    assert re.search(r"Pending · 1[34] days left", pending)
    # A read-only key sees no forms and cannot post one.
    assert "Record a paper signature" not in pending
    refused = browser.post(f"/ui/clients/{ids['acme']}/signature", data={
        "csrf_token": csrf_of(pending), "contract_version": "2026.1", "signer_name": "X", "signed_on": "2026-01-01"})
    assert refused.status_code == 403 and "clients:write" in refused.text
    assert ok(api.get(f"/v1/clients/{ids['acme']}/acceptances"))["items"] == []
    assert browser.get("/ui/clients/cl_nobody").status_code == 404


def test_paper_signature_turns_the_status_signed_and_a_form_without_csrf_changes_nothing(
    site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings,
) -> None:
    api, browser, ids = site
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read", "clients:write"))
    card = browser.get(f"/ui/clients/{ids['acme']}").text
    form = {"contract_version": "2026.1", "signer_name": "Dr. Ada Acme", "signer_email": "ada@acmedental.com",
            "signed_on": found(r'id="signed_on"[^>]*value="([^"]+)"', card).group(1)}
    for bad in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}):
        refused = browser.post(f"/ui/clients/{ids['acme']}/signature", data={**form, **bad}, follow_redirects=False)
        assert refused.status_code == 403 and "Nothing was changed" in refused.text
    assert ok(api.get(f"/v1/clients/{ids['acme']}"))["contract"]["status"] == "pending"

    done = browser.post(f"/ui/clients/{ids['acme']}/signature", data={**form, "csrf_token": csrf_of(card)},
                        follow_redirects=False)
    assert done.status_code == 303
    after = browser.get(done.headers["location"]).text
    assert "Paper signature recorded" in after and "s-signed" in after
    assert ok(api.get(f"/v1/clients/{ids['acme']}"))["contract"]["status"] == "signed"
    acceptance = ok(api.get(f"/v1/clients/{ids['acme']}/acceptances"))["items"][0]
    assert (acceptance["method"], acceptance["signer_name"], acceptance["actor"]) == ("paper", "Dr. Ada Acme", "tech")
    events = ok(api.get(f"/v1/clients/{ids['acme']}/events"))["items"]
    assert events[0]["kind"] == "acceptance.signed" and events[0]["actor"] == "tech"


def test_override_and_grace_from_the_card(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    api, browser, ids = site
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read", "clients:write"))
    card = browser.get(f"/ui/clients/{ids['hooli']}").text
    token = csrf_of(card)
    blank = browser.post(f"/ui/clients/{ids['hooli']}/override",
                         data={"csrf_token": token, "service": "advanced_support", "hours": "24", "reason": "  "})
    assert blank.status_code == 422 and "Not saved" in blank.text
    assert ok(api.get(f"/v1/clients/{ids['hooli']}/overrides"))["items"] == []

    granted = browser.post(f"/ui/clients/{ids['hooli']}/override", data={
        "csrf_token": token, "service": "advanced_support", "hours": "24", "reason": "signing today, per the owner"})
    assert granted.status_code == 200 and "Override granted" in granted.text
    assert "signing today, per the owner" in granted.text
    overrides = ok(api.get(f"/v1/clients/{ids['hooli']}/overrides"))["items"]
    assert len(overrides) == 1 and overrides[0]["active"] and overrides[0]["actor"] == "tech"
    decision = ok(api.post("/v1/entitlements/check", json={"client": {"id": ids["hooli"]}, "service": "advanced_support"}))
    assert decision["allowed"] and decision["reasons"][0]["code"] == "OVERRIDE"

    before = ok(api.get(f"/v1/clients/{ids['acme']}"))["contract"]["grace_until"]
    extended = browser.post(f"/ui/clients/{ids['acme']}/grace", data={"csrf_token": token, "until": "2099-01-31"})
    assert extended.status_code == 200 and "Grace period extended" in extended.text
    after = ok(api.get(f"/v1/clients/{ids['acme']}"))["contract"]["grace_until"]
    assert after != before and after.startswith("2099-02-01T00:00:00")
    past = browser.post(f"/ui/clients/{ids['acme']}/grace", data={"csrf_token": token, "until": "2001-01-01"})
    assert past.status_code == 422


def test_dashboard_counts_chart_and_list_to_chase(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    api, browser, ids = site
    sign_in(browser, make_key(settings.database_url, "manager", "clients:read"))
    page = browser.get("/ui/dashboard").text
    coverage = ok(api.get("/v1/reports/coverage"))
    assert f'id="signed-pct">{coverage["signed_pct"]} %' in page
    assert coverage["signed_pct"] == pytest.approx(100 / 3, abs=0.01)
    for status, count in coverage["contract"].items():
        if status != "not_configured":
            assert f'data-status="{status}">{count}<' in page
    assert "$149.00" in page  # one Gold member
    assert "<polyline" in page and 'role="img"' in page
    # The chart, replayed from the audit events, ends where the coverage report stands now.
    signed, active = found(r"<td>now</td><td>(\d+)</td><td>(\d+)</td>", page).groups()
    assert (int(signed), int(active)) == (coverage["contract"]["signed"], coverage["clients_active"])
    chase = found(r'id="to-chase">(.*?)</table>', page, re.S).group(1)
    assert chase.index("Acme Dental") < chase.index("Hooli Studio")  # both new: Acme was created first
    assert "Globex" not in chase
    csv_text = browser.get("/ui/dashboard/clients-to-chase.csv").text
    assert csv_text == api.get("/v1/reports/unsigned", params={"format": "csv"}).text


URL_ATTR = re.compile(r'(?:src|href|action|xlink:href|formaction|poster|data)\s*=\s*"([^"]*)"', re.I)


def test_pages_load_nothing_from_outside(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    _api, browser, ids = site
    pages = [browser.get("/ui/login").text]
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read", "clients:write"))
    for path in ("/ui/search?q=acme", f"/ui/clients/{ids['globex']}", f"/ui/clients/{ids['acme']}", "/ui/dashboard",
                 "/ui/static/ui.css", "/ui/static/ui.js"):
        answer = browser.get(path)
        assert answer.status_code == 200, path
        pages.append(answer.text)
        if not path.startswith("/ui/static"):
            assert "default-src 'none'" in answer.headers["content-security-policy"]
    for html in pages:
        assert "://" not in html
        assert not re.search(r"url\(\s*['\"]?(?!data:)[a-z]*:?//", html, re.I)
        for target in URL_ATTR.findall(html):
            # Same-origin paths, or inline data (the empty favicon): never another host.
            assert target.startswith(("/", "#", "?", "data:")) and not target.startswith("//"), target
    assert browser.get("/ui/static/../settings.py").status_code == 404


def test_sign_out_needs_the_token_and_ends_the_session(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    _api, browser, _ids = site
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read"))
    page = browser.get("/ui/search").text
    assert browser.post("/ui/logout", data={}).status_code == 403
    assert browser.get("/ui/search", follow_redirects=False).status_code == 200
    assert browser.post("/ui/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=False).status_code == 303
    assert browser.get("/ui/search", follow_redirects=False).status_code == 303


def test_the_login_form_needs_its_token_and_next_stays_on_this_site(
    site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings,
) -> None:
    _api, browser, _ids = site
    key = make_key(settings.database_url, "tech", "clients:read")
    assert browser.post("/ui/login", data={"api_key": key}).status_code == 403
    page = browser.get("/ui/login")
    answer = browser.post("/ui/login", data={"api_key": key, "csrf_token": csrf_of(page.text),
                                             "next": "https://evil.example/"}, follow_redirects=False)
    assert answer.headers["location"] == "/ui/search"


def test_every_field_has_a_label(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    _api, browser, ids = site
    pages = [browser.get("/ui/login").text]
    sign_in(browser, make_key(settings.database_url, "tech", "clients:read", "clients:write"))
    pages += [browser.get(path).text for path in ("/ui/search?q=acme", f"/ui/clients/{ids['acme']}", "/ui/dashboard")]
    fields = 0
    for html in pages:
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in tag:
                continue
            fields += 1
            assert found(r'id="([^"]+)"', tag).group(1) in labelled, tag
        assert '<html lang="en">' in html
    assert fields >= 10


def test_the_card_lists_the_contacts_with_their_roles(site: tuple[TestClient, TestClient, dict[str, str]], settings: Settings) -> None:
    api, browser, ids = site
    ok(api.patch(f"/v1/clients/{ids['globex']}", json={"restrict_to_contacts": True, "contacts": [
        {"name": "Ada <Owner>", "phone": "(212) 555-0199", "roles": ["requester", "approver"]},
        {"name": "Carol Books", "email": "carol@globex.example", "roles": ["billing"]},
    ]}))
    sign_in(browser, make_key(settings.database_url, "reader", "clients:read"))
    card = browser.get(f"/ui/clients/{ids['globex']}").text
    people = found(r'<ul id="people"[^>]*>(.*?)</ul>', card, re.S).group(1)
    rows = re.findall(r"<li data-contact=[^>]*>(.*?)</li>", people, re.S)
    assert len(rows) == 2
    assert "Ada &lt;Owner&gt;" in rows[0] and "approver, requester" in rows[0] and "+12125550199" in rows[0]
    assert "Carol Books" in rows[1] and "billing" in rows[1] and "carol@globex.example" in rows[1]
    assert 'id="restricted"' in card
    assert 'id="people"' not in browser.get(f"/ui/clients/{ids['acme']}").text
