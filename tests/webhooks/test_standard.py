"""Standard Webhooks: the `standardwebhooks` package, ±5 minutes, rotation, dedupe on webhook-id."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import check, codes, ok
from tests.webhooks import providers as p
from tests.webhooks.conftest import contract_status, counts, inbox, outcome, settle

URL = "/v1/webhooks/standard"


def test_a_signed_contract_by_client_id_is_applied(wh: TestClient, acme: dict[str, Any]) -> None:
    signed_at = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    raw = p.standard_body(client_id=acme["id"], contract_version="2026.1", signer_name="Ada", signer_email="ada@acme.example",
                          signed_at=signed_at.isoformat())
    response = wh.post(URL, content=raw, headers=p.standard_headers(raw))
    assert response.status_code == 200 and response.json()["status"] == "received"
    assert outcome(wh, response) == "applied"
    assert contract_status(wh, acme["id"]) == "signed"
    [acceptance] = ok(wh.get(f"/v1/clients/{acme['id']}/acceptances"))["items"]
    assert acceptance["provider"] == "standard" and acceptance["signed_at"].startswith(signed_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_client_may_be_named_by_external_reference(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.standard_body(external_ref={"system": "CRM", "id": "ACME-1"}, contract_version="2026.1")
    assert outcome(wh, wh.post(URL, content=raw, headers=p.standard_headers(raw))) == "applied"
    assert contract_status(wh, acme["id"]) == "signed"


def test_rotation_any_of_the_signatures_may_match(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.standard_body(client_id=acme["id"], contract_version="2026.1")
    headers = p.standard_headers(raw)
    other = p.standard_headers(raw, secret="whsec_" + base64.b64encode(b"another-secret").decode(), msg_id=headers["webhook-id"],
                               at=float(headers["webhook-timestamp"]))
    headers["webhook-signature"] = f"{other['webhook-signature']} {headers['webhook-signature']}"
    assert outcome(wh, wh.post(URL, content=raw, headers=headers)) == "applied"
    assert contract_status(wh, acme["id"]) == "signed"


def test_bad_signatures_stale_times_and_malformed_headers_are_401(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.standard_body(client_id=acme["id"], contract_version="2026.1")
    good = p.standard_headers(raw)
    stale = p.standard_headers(raw, at=time.time() - 6 * 60)
    future = p.standard_headers(raw, at=time.time() + 6 * 60)
    wrong = p.standard_headers(raw, secret="whsec_" + base64.b64encode(b"not-the-secret").decode())
    cases = [
        (raw.replace(b"2026.1", b"2025.1"), good),
        (raw, stale),
        (raw, future),
        (raw, wrong),
        (raw, {k: v for k, v in good.items() if k != "webhook-signature"}),
        (raw, {**good, "webhook-signature": "v1"}),
        (raw, {**good, "webhook-signature": "v1,%%%not-base64"}),
        (raw, {**good, "webhook-timestamp": "soon"}),
        (b"\xff\xfe not utf-8", good),
    ]
    for body, headers in cases:
        response = wh.post(URL, content=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
    assert counts(wh) == (0, 0, 0)
    assert contract_status(wh, acme["id"]) == "pending"


def test_the_same_webhook_id_is_applied_once(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.standard_body(client_id=acme["id"], contract_version="2026.1")
    headers = p.standard_headers(raw, msg_id="msg_fixed_1")
    assert outcome(wh, wh.post(URL, content=raw, headers=headers)) == "applied"
    again = p.standard_headers(raw, msg_id="msg_fixed_1")  # a retry: new timestamp, same id
    assert wh.post(URL, content=raw, headers=again).json()["status"] == "duplicate"
    assert counts(wh)[:2] == (1, 1)


def test_declined_refuses_with_contract_declined(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.standard_body("contract.declined", client_id=acme["id"], contract_version="2026.1")
    assert wh.post(URL, content=raw, headers=p.standard_headers(raw)).status_code == 200
    settle(wh)
    assert "CONTRACT_DECLINED" in codes(check(wh, id=acme["id"]))


def test_an_unknown_client_is_unmatched_and_applied_after_registration_and_replay(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.standard_body(client_id="cl_not_yet", contract_version="2026.1", envelope_id="env-77")
    assert outcome(wh, wh.post(URL, content=raw, headers=p.standard_headers(raw))) == "unmatched"
    [event] = inbox(wh, "unmatched")
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "standard", "external_id": "env-77", "contract_version": "2026.1"}), 201)
    assert ok(wh.post(f"/v1/webhooks/events/{event['id']}/replay"))["status"] == "processed"
    assert contract_status(wh, acme["id"]) == "signed"


def test_an_unknown_type_is_422_and_stores_nothing(wh: TestClient, acme: dict[str, Any]) -> None:
    raw = p.standard_body("contract.maybe", client_id=acme["id"], contract_version="2026.1")
    assert wh.post(URL, content=raw, headers=p.standard_headers(raw)).status_code == 422
    assert counts(wh) == (0, 0, 0)


def test_a_late_signed_after_declined_of_one_envelope_changes_nothing(wh: TestClient, acme: dict[str, Any]) -> None:
    for kind in ("contract.declined", "contract.signed"):
        raw = p.standard_body(kind, client_id=acme["id"], contract_version="2026.1", envelope_id="env-9")
        assert wh.post(URL, content=raw, headers=p.standard_headers(raw)).status_code == 200
    settle(wh)
    assert "CONTRACT_DECLINED" in codes(check(wh, id=acme["id"]))
    assert counts(wh) == (2, 1, 1)
    late = next(e for e in inbox(wh) if e["event_type"] == "contract.signed")
    assert "not applied" in late["detail"]
