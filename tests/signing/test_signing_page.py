"""The signing page through HTTP: links API, page, form mistakes, accept/decline, receipt, 404/410/429, evidence."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.storage import tables as t
from service.storage.database import Database
from tests.helpers import check, create_client, ok, sign
from tests.signing.helpers import MARKDOWN_V1, MARKDOWN_V2, new_link, publish_with_document, token_of

pytestmark = pytest.mark.storage
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
UA = "Mozilla/5.0 (test phone)"


def page(client: TestClient, token: str) -> Any:
    return client.get(f"/sign/{token}", headers={"Authorization": "", "User-Agent": UA})


def submit(client: TestClient, token: str, **fields: str) -> Any:
    csrf = CSRF.search(page(client, token).text)
    form = {"csrf_token": csrf.group(1) if csrf else "", **fields}
    return client.post(f"/sign/{token}", data=form, headers={"Authorization": "", "User-Agent": UA}, follow_redirects=False)


def acceptances(client: TestClient, client_id: str) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], ok(client.get(f"/v1/clients/{client_id}/acceptances"))["items"])


def outbox(db_url: str) -> list[t.MailOutbox]:
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.reader() as session:
            return list(session.scalars(sa.select(t.MailOutbox)).all())
    finally:
        db.dispose()


@pytest.fixture
def acme(client: TestClient) -> dict[str, Any]:
    publish_with_document(client, "2026.1", MARKDOWN_V2)
    return create_client(client, "Acme Dental", emails=["ann@acme.example"])


def test_links_are_listed_without_tokens_and_can_be_revoked(client: TestClient, acme: dict[str, Any]) -> None:
    link = new_link(client, acme["id"], expires_in_days=7)
    assert set(link) >= {"id", "url", "email", "contract_version", "expires_at"}
    assert link["url"].startswith("http://127.0.0.1:8000/sign/") and link["contract_version"] == "2026.1"
    listed = client.get(f"/v1/clients/{acme['id']}/signing-links")
    assert listed.status_code == 200 and token_of(link) not in listed.text and "url" not in listed.json()["items"][0]
    assert [i["status"] for i in listed.json()["items"]] == ["active"]
    revoked = ok(client.delete(f"/v1/signing-links/{link['id']}"))
    assert revoked["status"] == "revoked"
    assert page(client, token_of(link)).status_code == 410
    kinds = [e["kind"] for e in ok(client.get(f"/v1/clients/{acme['id']}/events"))["items"]]
    assert "signing_link.created" in kinds and "signing_link.revoked" in kinds
    assert client.delete("/v1/signing-links/sgl_nope").status_code == 404
    assert client.post(f"/v1/clients/{acme['id']}/signing-links", json={"email": "nope"}).status_code == 422
    assert client.post(f"/v1/clients/{acme['id']}/signing-links", json={"email": "a@b.example", "contract_version": "0"}).status_code == 422
    assert client.post("/v1/clients/cl_nobody/signing-links", json={"email": "a@b.example"}).status_code == 404


def test_the_page_shows_the_sanitised_document_and_the_consent(client: TestClient, acme: dict[str, Any]) -> None:
    link = new_link(client, acme["id"])
    answer = page(client, token_of(link))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    body = answer.text
    assert "Acme Dental" in body and "<strong>remotely</strong>" in body and "within four hours" in body
    assert "<script" not in body, body[body.find("<script") - 200:body.find("<script") + 100]
    assert 'href="javascript:' not in body
    assert "sign electronically" in body and 'name="consent"' in body and CSRF.search(body)
    assert hashlib.sha256(MARKDOWN_V2).hexdigest() in body
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert not re.search(r'(src|href)="https?://', body.replace('href="https://example.com/2026.1"', ""))  # no outside assets


def test_a_bad_form_is_shown_again_and_records_nothing(client: TestClient, acme: dict[str, Any]) -> None:
    token = token_of(new_link(client, acme["id"]))
    no_consent = submit(client, token, decision="accept", signer_name="Ann Smith")
    assert no_consent.status_code == 422 and "Tick the box" in no_consent.text and 'value="Ann Smith"' in no_consent.text
    no_name = submit(client, token, decision="accept", signer_name="   ", consent="yes")
    assert no_name.status_code == 422 and "Type your full name" in no_name.text
    forged = client.post(f"/sign/{token}", data={"csrf_token": "x", "decision": "accept", "signer_name": "A", "consent": "yes"},
                         headers={"Authorization": ""}, follow_redirects=False)
    assert forged.status_code == 403
    assert acceptances(client, acme["id"]) == []
    assert check(client, id=acme["id"])["contract"]["status"] == "pending"
    assert page(client, token).status_code == 200  # the link is still usable


def test_accepting_records_the_evidence_and_the_check_turns_signed_at_once(
    client: TestClient, acme: dict[str, Any], db_url: str,
) -> None:
    link = new_link(client, acme["id"], email="Ann@Acme.example")
    token = token_of(link)
    assert check(client, id=acme["id"])["contract"]["status"] == "pending"  # cached now
    before = datetime.now(UTC)
    answer = submit(client, token, decision="accept", signer_name="Ann  Smith", signer_title="Office manager", consent="yes")
    assert answer.status_code == 303 and answer.headers["location"] == f"/sign/{token}/receipt"
    assert check(client, id=acme["id"])["contract"]["status"] == "signed"
    receipt = ok(client.get(f"/sign/{token}/receipt", headers={"Accept": "application/json", "Authorization": ""}))
    assert set(receipt) >= {"acceptance_id", "client_name", "contract_version", "document_sha256", "decision", "signer_name",
                            "signer_title", "signer_email", "signed_at", "ip", "user_agent"}
    assert receipt["document_sha256"] == hashlib.sha256(MARKDOWN_V2).hexdigest()
    assert (receipt["decision"], receipt["signer_name"], receipt["signer_title"], receipt["signer_email"]) == (
        "signed", "Ann Smith", "Office manager", "ann@acme.example")
    assert receipt["ip"] == "testclient" and receipt["user_agent"] == UA and receipt["client_name"] == "Acme Dental"
    assert before <= datetime.fromisoformat(receipt["signed_at"]) <= datetime.now(UTC)
    [recorded] = acceptances(client, acme["id"])
    assert (recorded["method"], recorded["decision"], recorded["contract_version"]) == ("click_through", "signed", "2026.1")
    evidence = ok(client.get(f"/v1/acceptances/{recorded['id']}/evidence"))
    assert {k: evidence[k] for k in receipt if k in evidence} == {k: receipt[k] for k in receipt if k in evidence}
    assert evidence["button_text"] == "Accept and sign" and "electronically" in evidence["consent_text"]
    assert evidence["link_id"] == link["id"]
    html_receipt = client.get(f"/sign/{token}/receipt", headers={"Authorization": ""})
    assert html_receipt.status_code == 200 and "the contract is signed" in html_receipt.text
    # The link is spent: the page and the form answer 410 and change nothing.
    assert page(client, token).status_code == 410
    again = client.post(f"/sign/{token}", data={"decision": "decline"}, headers={"Authorization": ""}, follow_redirects=False)
    assert again.status_code == 410 and len(acceptances(client, acme["id"])) == 1
    listed = ok(client.get(f"/v1/clients/{acme['id']}/signing-links"))["items"]
    assert (listed[0]["status"], listed[0]["acceptance_id"]) == ("used", receipt["acceptance_id"])
    # The signer's copy is queued, with the receipt link and the document text.
    [copy] = outbox(db_url)
    assert copy.to_address == "ann@acme.example" and copy.status == "queued" and copy.subject.startswith("Signed:")
    assert f"/sign/{token}/receipt" in copy.text and "within four hours" in copy.text and receipt["document_sha256"] in copy.text
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.reader() as session:
            evidence = session.get(t.ClickThroughEvidence, receipt["acceptance_id"])
            assert evidence is not None and evidence.signing_link_id == link["id"] and evidence.consent_version
    finally:
        db.dispose()


def test_declining_with_a_reason(client: TestClient, acme: dict[str, Any]) -> None:
    token = token_of(new_link(client, acme["id"]))
    answer = submit(client, token, decision="decline", reason="We use another provider")
    assert answer.status_code == 303
    assert check(client, id=acme["id"])["contract"]["status"] == "declined"
    paper = sign(client, acme["id"])
    assert client.get(f"/v1/acceptances/{paper['id']}/evidence").status_code == 404  # not a click-through
    receipt = ok(client.get(f"/sign/{token}/receipt", headers={"Accept": "application/json", "Authorization": ""}))
    assert (receipt["decision"], receipt["decline_reason"], receipt["signer_name"]) == ("declined", "We use another provider", None)


def test_what_changed_since_the_version_signed_last(client: TestClient, db_url: str) -> None:
    publish_with_document(client, "2025.1", MARKDOWN_V1, at=(datetime.now(UTC) - timedelta(days=400)).isoformat())
    acme = create_client(client, "Acme Dental")
    sign(client, acme["id"], "2025.1", signed_at=datetime.now(UTC) - timedelta(days=300))
    publish_with_document(client, "2026.1", MARKDOWN_V2)
    body = page(client, token_of(new_link(client, acme["id"]))).text
    assert "What changed since version 2025.1" in body
    assert re.search(r'class="removed">.*within one business day', body) and re.search(r'class="added">.*within four hours', body)


def test_unknown_and_guessed_tokens(client: TestClient, acme: dict[str, Any]) -> None:
    real = token_of(new_link(client, acme["id"]))
    assert page(client, real[:-3]).status_code == 404  # truncated
    assert client.get(f"/sign/{real}/receipt", headers={"Accept": "application/json", "Authorization": ""}).status_code == 404
    statuses = [page(client, f"forged-token-{n:04d}-xxxxxxxxxxxxxxxxxxxx").status_code for n in range(20)]
    assert statuses[:8] == [404] * 8 and statuses[-1] == 429 and statuses.count(404) <= 10
    # A real link from the same address is still served, at least 60 times a minute.
    assert [page(client, real).status_code for _ in range(60)] == [200] * 60


def test_an_expired_link_is_gone(client: TestClient, acme: dict[str, Any], db_url: str) -> None:
    link = new_link(client, acme["id"])
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.writer() as session:
            session.execute(sa.update(t.SigningLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            session.commit()
    finally:
        db.dispose()
    assert page(client, token_of(link)).status_code == 410
    assert submit(client, token_of(link), decision="accept", signer_name="A", consent="yes").status_code == 410
    assert acceptances(client, acme["id"]) == []
    assert ok(client.get(f"/v1/clients/{acme['id']}/signing-links"))["items"][0]["status"] == "expired"


def test_a_pdf_is_embedded_and_downloadable(client: TestClient) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    publish_with_document(client, "2026.1", pdf, "application/pdf")
    acme = create_client(client, "Acme Dental")
    token = token_of(new_link(client, acme["id"]))
    body = page(client, token).text
    assert f'data="/sign/{token}/document"' in body and f'href="/sign/{token}/document?download=1"' in body
    served = client.get(f"/sign/{token}/document", headers={"Authorization": ""})
    assert served.status_code == 200 and served.content == pdf and served.headers["content-type"] == "application/pdf"
    download = client.get(f"/sign/{token}/document?download=1", headers={"Authorization": ""})
    assert download.headers["content-disposition"].startswith("attachment")


def test_without_an_uploaded_document_the_page_points_to_the_versions_url(client: TestClient) -> None:
    ok(client.post("/v1/contracts", json={"version": "2026.1", "title": "Contract", "document_url": "https://example.com/c.pdf",
                                          "document_sha256": "a" * 64, "grace_days": 30}), 201)
    ok(client.post("/v1/contracts/2026.1/publish", json={}))
    acme = create_client(client, "Acme Dental")
    body = page(client, token_of(new_link(client, acme["id"]))).text
    assert 'href="https://example.com/c.pdf"' in body and "a" * 64 in body
