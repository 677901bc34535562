"""DocuSign Connect: HMAC on the raw body, key rotation, inbox, monotonic statuses, replay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.helpers import app_state, check, codes, ok
from tests.webhooks import providers as p
from tests.webhooks.conftest import contract_status, counts, inbox, metric, outcome, settle

URL = "/v1/webhooks/docusign"


def post(wh: TestClient, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    return wh.post(URL, content=raw, headers=headers)


def envelope() -> str:
    return str(uuid.uuid4())


def test_a_completed_envelope_signs_the_contract_with_its_evidence(wh: TestClient, acme: dict[str, Any]) -> None:
    env = envelope()
    raw = p.docusign_body("envelope-completed", env, client_id=acme["id"])
    response = post(wh, raw, p.docusign_headers(raw))
    assert response.status_code == 200 and response.json()["status"] == "received"
    assert outcome(wh, response) == "applied"
    assert contract_status(wh, acme["id"]) == "signed"
    decision = check(wh, id=acme["id"])
    assert decision["contract"]["status"] == "signed" and "CONTRACT_UNSIGNED" not in codes(decision)
    [acceptance] = ok(wh.get(f"/v1/clients/{acme['id']}/acceptances"))["items"]
    assert acceptance["decision"] == "signed" and acceptance["provider"] == "docusign"
    assert acceptance["envelope_id"] == env and acceptance["signer_name"] == "Ada Lovelace"
    [event] = inbox(wh)
    assert event["status"] == "processed" and event["envelope_id"] == env and event["event_type"] == "envelope-completed"
    # The envelope is now registered, so later events of it are matched and ordered.
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["external_id"] == env and request["status"] == "signed"
    kinds = [e["kind"] for e in ok(wh.get(f"/v1/clients/{acme['id']}/events"))["items"]]
    assert "acceptance.signed" in kinds and "signature_request.registered" in kinds
    assert metric(wh, "docusign", "received") == 1 and metric(wh, "docusign", "applied", name="processed") == 1


def test_any_header_under_any_rotated_key_is_accepted(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.docusign_body("envelope-completed", envelope(), client_id=acme["id"])
    headers = {
        "X-DocuSign-Signature-1": p.docusign_signature(raw, "a-retired-key"),
        "X-DocuSign-Signature-2": p.docusign_signature(raw, p.DOCUSIGN_KEYS[1]),
    }
    assert post(wh, raw, headers).status_code == 200
    assert contract_status(wh, acme["id"]) == "signed"


def test_wrong_key_tampered_body_or_missing_signature_is_401_and_changes_nothing(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.docusign_body("envelope-completed", envelope(), client_id=acme["id"])
    tampered = raw.replace(b"Ada Lovelace", b"Eve Mallory")
    before = counts(wh)
    for body, headers in (
        (raw, p.docusign_headers(raw, "not-our-key")),
        (tampered, p.docusign_headers(raw)),
        (raw, {"Content-Type": "application/json"}),
        (raw, {"X-DocuSign-Signature-1": "not base64 at all !!"}),
    ):
        response = post(wh, body, headers)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert counts(wh) == before
    assert contract_status(wh, acme["id"]) == "pending"
    assert metric(wh, "docusign", "rejected") == 4


def test_a_duplicate_delivery_changes_nothing_and_is_still_acknowledged(wh: TestClient, acme: dict[str, Any]) -> None:
    env = envelope()
    generated = p.stamp(datetime.now(UTC) - timedelta(minutes=1))
    raw = p.docusign_body("envelope-completed", env, client_id=acme["id"], generated=generated)
    assert outcome(wh, post(wh, raw, p.docusign_headers(raw))) == "applied"
    after_first = counts(wh)
    # A Connect retry: same event, higher retryCount, signed again.
    retry = p.docusign_body("envelope-completed", env, client_id=acme["id"], generated=generated,
                            retry_count=3)
    response = post(wh, retry, p.docusign_headers(retry))
    assert response.status_code == 200 and response.json()["status"] == "duplicate"
    assert counts(wh) == after_first == (1, 1, 1)
    assert metric(wh, "docusign", "duplicate") == 1


def test_a_late_viewed_after_completed_is_recorded_not_applied(wh: TestClient, acme: dict[str, Any]) -> None:
    env = envelope()
    done = p.docusign_body("envelope-completed", env, client_id=acme["id"])
    late = p.docusign_body("envelope-delivered", env, client_id=acme["id"], generated="2026-11-01T08:00:00.0000000Z")
    assert post(wh, done, p.docusign_headers(done)).status_code == 200
    assert post(wh, late, p.docusign_headers(late)).status_code == 200
    settle(wh)
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "signed"
    assert contract_status(wh, acme["id"]) == "signed"
    late_event = next(e for e in inbox(wh) if e["event_type"] == "envelope-delivered")
    assert late_event["status"] == "processed" and "not applied" in late_event["detail"]


def test_one_signer_done_is_not_the_client_signing(wh: TestClient, acme: dict[str, Any]) -> None:
    env = envelope()
    raw = p.docusign_body("recipient-completed", env, client_id=acme["id"])
    assert post(wh, raw, p.docusign_headers(raw)).status_code == 200
    assert contract_status(wh, acme["id"]) == "pending"
    assert counts(wh)[1] == 0
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "signer_signed"


def test_declined_makes_the_check_refuse_with_contract_declined(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.docusign_body("envelope-declined", envelope(), client_id=acme["id"], signer_status="declined")
    assert post(wh, raw, p.docusign_headers(raw)).status_code == 200
    settle(wh)
    decision = check(wh, id=acme["id"])
    assert decision["allowed"] is False and "CONTRACT_DECLINED" in codes(decision)


def test_unmatched_is_listed_then_applied_after_registration_and_replay(wh: TestClient, acme: dict[str, Any]) -> None:
    env = envelope()
    raw = p.docusign_body("envelope-completed", env, client_id=None, version=None)
    assert outcome(wh, post(wh, raw, p.docusign_headers(raw))) == "unmatched"
    [event] = inbox(wh, "unmatched")
    assert contract_status(wh, acme["id"]) == "pending"
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "docusign", "external_id": env, "contract_version": "2026.1"}), 201)
    replayed = ok(wh.post(f"/v1/webhooks/events/{event['id']}/replay"))
    assert replayed["status"] == "processed"
    assert contract_status(wh, acme["id"]) == "signed"
    assert inbox(wh, "unmatched") == []
    # Processed once: a second replay is refused and adds nothing.
    assert wh.post(f"/v1/webhooks/events/{event['id']}/replay").status_code == 409
    assert counts(wh)[1] == 1


def test_metadata_naming_an_unknown_client_is_unmatched(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.docusign_body("envelope-completed", envelope(), client_id="cl_nobody")
    assert outcome(wh, post(wh, raw, p.docusign_headers(raw))) == "unmatched"
    [event] = inbox(wh, "unmatched")
    assert "cl_nobody" in event["detail"]


def test_a_genuine_but_unreadable_message_is_422_and_stores_nothing(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = b'{"event": "envelope-completed"}'
    response = post(wh, raw, p.docusign_headers(raw))
    assert response.status_code == 422
    assert counts(wh) == (0, 0, 0)


def test_an_endpoint_without_its_secret_answers_404(db_url: str) -> None:
    from service.api.app import create_app

    with TestClient(create_app(make_settings(db_url))) as plain:
        raw = p.docusign_body("envelope-completed", envelope())
        for path in ("/v1/webhooks/docusign", "/v1/webhooks/pandadoc", "/v1/webhooks/dropbox-sign",
                     "/v1/webhooks/standard", "/v1/webhooks/adobe-sign"):
            assert plain.post(path, content=raw, headers=p.docusign_headers(raw)).status_code == 404, path
        assert plain.get("/v1/webhooks/adobe-sign", headers={"X-ADOBESIGN-CLIENTID": p.ADOBE_CLIENT_IDS[0]}).status_code == 404


def test_the_inbox_needs_a_key_with_the_right_scope(wh: TestClient, acme: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from service.usecases.keys import create_key

    with app_state(wh).db.writer() as session:
        _row, checker = create_key(session, name="ivr", scopes=["entitlements:check"], expires_at=None, actor="test",
                                   now=datetime.now(UTC))
        _row, reader = create_key(session, name="desk", scopes=["clients:read"], expires_at=None, actor="test",
                                  now=datetime.now(UTC))
        session.commit()
    assert wh.get("/v1/webhooks/events", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert wh.get("/v1/webhooks/events", headers={"Authorization": f"Bearer {checker}"}).status_code == 403
    assert wh.get("/v1/webhooks/events", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    replay = wh.post("/v1/webhooks/events/whe_x/replay", headers={"Authorization": f"Bearer {reader}"})
    assert replay.status_code == 403
    assert wh.post("/v1/webhooks/events/whe_x/replay").status_code == 404
