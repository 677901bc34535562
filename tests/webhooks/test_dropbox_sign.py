"""Dropbox Sign: event_hash over time+type only, so signed/declined are confirmed with the API (a stub)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.helpers import app_state, check, codes, ok
from tests.webhooks import providers as p
from tests.webhooks.conftest import StubApi, contract_status, counts, inbox, metric, settle

URL = "/v1/webhooks/dropbox-sign"
ANSWER = "Hello API Event Received"


def deliver(wh: TestClient, document: str) -> httpx.Response:
    return wh.post(URL, files=p.dropbox_files(document))


def api_path(request_id: str) -> str:
    return f"/v3/signature_request/{request_id}"


def test_all_signed_confirmed_by_the_api_signs_the_contract(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    metadata = {"client_id": acme["id"], "contract_version": "2026.1"}
    stub_api.answer(api_path("sr-1"), (200, {"signature_request": p.dropbox_request("sr-1", metadata)}))
    response = deliver(wh, p.dropbox_event("signature_request_all_signed", "sr-1", client_id=acme["id"]))
    assert response.status_code == 200 and response.text == ANSWER
    assert contract_status(wh, acme["id"]) == "signed"
    [call] = stub_api.requests
    assert call["path"] == "/v3/signature_request/sr-1" and call["headers"]["Authorization"].startswith("Basic ")
    [acceptance] = ok(wh.get(f"/v1/clients/{acme['id']}/acceptances"))["items"]
    assert acceptance["provider"] == "dropbox_sign" and acceptance["envelope_id"] == "sr-1"


def test_a_replayed_hash_with_a_forged_request_id_marks_nobody_signed(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    # A genuine event_hash (it covers only time + type) captured from someone else's all_signed event,
    # replayed with this client's metadata and a signature request that is not complete.
    genuine = p.dropbox_event("signature_request_all_signed", "sr-real", client_id="cl_other")
    forged = json.loads(genuine)
    forged["signature_request"] = p.dropbox_request("sr-forged", {"client_id": acme["id"], "contract_version": "2026.1"})
    stub_api.answer(api_path("sr-forged"), (200, {"signature_request": p.dropbox_request(
        "sr-forged", {"client_id": acme["id"], "contract_version": "2026.1"}, complete=False)}))
    response = deliver(wh, json.dumps(forged))
    assert response.status_code == 200 and response.text == ANSWER
    assert contract_status(wh, acme["id"]) == "pending"
    assert counts(wh)[1:] == (0, 0)
    [event] = inbox(wh, "unconfirmed")
    assert "not complete" in event["detail"]
    # An id the API does not know at all is refused the same way.
    forged["signature_request"]["signature_request_id"] = "sr-made-up"
    assert deliver(wh, json.dumps(forged)).text == ANSWER
    assert counts(wh)[1] == 0 and metric(wh, "dropbox_sign", "rejected", name="processed") == 2


def test_metadata_comes_from_the_api_not_from_the_unsigned_body(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    # The request is complete, but it belongs to another client: the body's metadata is not believed.
    stub_api.answer(api_path("sr-2"), (200, {"signature_request": p.dropbox_request("sr-2", {"client_id": "cl_else"})}))
    deliver(wh, p.dropbox_event("signature_request_all_signed", "sr-2", client_id=acme["id"]))
    assert contract_status(wh, acme["id"]) == "pending"
    [event] = inbox(wh, "unmatched")
    assert "cl_else" in event["detail"]


def test_api_down_keeps_the_event_failed_then_retries_and_applies_it(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    metadata = {"client_id": acme["id"], "contract_version": "2026.1"}
    stub_api.answer(api_path("sr-3"), (503, {"error": "down"}), (502, {"error": "down"}),
                    (200, {"signature_request": p.dropbox_request("sr-3", metadata)}))
    response = deliver(wh, p.dropbox_event("signature_request_all_signed", "sr-3", client_id=acme["id"]))
    assert response.status_code == 200 and response.text == ANSWER
    [event] = inbox(wh, "failed")
    assert "503" in event["detail"] and event["next_attempt_at"] is not None
    assert contract_status(wh, acme["id"]) == "pending"
    assert check(wh, id=acme["id"])["contract"]["status"] == "pending"  # the check now holds the client in its cache
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and contract_status(wh, acme["id"]) != "signed":
        time.sleep(0.1)
    assert contract_status(wh, acme["id"]) == "signed"
    [done] = inbox(wh)
    assert done["status"] == "processed" and done["attempts"] == 3
    # Applied by the retrying job: the cached state was dropped, the check sees the signature.
    assert check(wh, id=acme["id"])["contract"]["status"] == "signed"
    retries = wh.get("/metrics").text
    assert 'supportgate_webhook_retries_total{outcome="failed",provider="dropbox_sign"} 1.0' in retries
    assert 'supportgate_webhook_retries_total{outcome="applied",provider="dropbox_sign"} 1.0' in retries
    assert len(stub_api.requests) == 3 and counts(wh)[1] == 1


def test_wrong_hash_or_missing_json_is_401(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    forged = p.dropbox_event("signature_request_all_signed", "sr-4", client_id=acme["id"], key="not-our-api-key")
    assert deliver(wh, forged).status_code == 401
    assert wh.post(URL, files={"other": (None, "x")}).status_code == 401
    assert wh.post(URL, content=b"not multipart", headers={"Content-Type": "multipart/form-data; boundary=x"}).status_code == 401
    assert counts(wh) == (0, 0, 0) and stub_api.requests == []


def test_callback_test_and_duplicates_get_the_expected_answer(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    test_event = p.dropbox_event("callback_test", "")
    assert deliver(wh, test_event).text == ANSWER
    stub_api.answer(api_path("sr-5"), (200, {"signature_request": p.dropbox_request(
        "sr-5", {"client_id": acme["id"], "contract_version": "2026.1"})}))
    event = p.dropbox_event("signature_request_all_signed", "sr-5", client_id=acme["id"], event_time=str(int(time.time()) - 60))
    assert deliver(wh, event).text == ANSWER
    assert deliver(wh, event).text == ANSWER
    assert counts(wh)[1] == 1 and metric(wh, "dropbox_sign", "duplicate") == 1


def test_declined_confirmed_by_the_api_refuses(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    stub_api.answer(api_path("sr-6"), (200, {"signature_request": p.dropbox_request(
        "sr-6", {"client_id": acme["id"], "contract_version": "2026.1"}, complete=False, declined=True)}))
    deliver(wh, p.dropbox_event("signature_request_declined", "sr-6", client_id=acme["id"]))
    settle(wh)
    assert "CONTRACT_DECLINED" in codes(check(wh, id=acme["id"]))


def test_one_signer_signing_is_not_confirmed_or_applied(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    """Dropbox Sign does not sign the request in the event and one signer is not confirmed: nothing moves."""
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "dropbox_sign", "external_id": "sr-7", "contract_version": "2026.1"}), 201)
    deliver(wh, p.dropbox_event("signature_request_signed", "sr-7", client_id=acme["id"]))
    assert stub_api.requests == [] and counts(wh)[1] == 0
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "sent"
    [event] = inbox(wh, "processed")
    assert event["detail"].startswith("recorded, not applied")


def test_an_event_left_waiting_by_a_crash_is_taken_over_by_the_retry_loop(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    """The server died after storing the event and before asking the API: after the lease, it is finished."""
    from datetime import UTC, datetime, timedelta

    from service.storage import tables as t
    from service.webhooks import dropbox_sign

    metadata = {"client_id": acme["id"], "contract_version": "2026.1"}
    stub_api.answer(api_path("sr-8"), (200, {"signature_request": p.dropbox_request("sr-8", metadata)}))
    document = p.dropbox_event("signature_request_all_signed", "sr-8", client_id=acme["id"])
    event = dropbox_sign.parse(document)
    now = datetime.now(UTC)
    with app_state(wh).db.writer() as session:
        session.add(t.WebhookEvent(
            id="whe_crashed", provider="dropbox_sign", event_key=event.event_key, envelope_id="sr-8",
            event_type=event.event_type, status="received", detail=None, body=document, headers={}, received_at=now,
            processed_at=None, attempts=0, next_attempt_at=now - timedelta(seconds=1),
        ))
        session.commit()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and contract_status(wh, acme["id"]) != "signed":
        time.sleep(0.1)
    assert contract_status(wh, acme["id"]) == "signed"
    [done] = inbox(wh)
    assert done["id"] == "whe_crashed" and done["status"] == "processed" and done["attempts"] == 1
    # The provider's own retry of that callback is a duplicate.
    assert deliver(wh, document).text == ANSWER and counts(wh)[1] == 1


def test_a_tampered_event_type_or_time_or_missing_hash_is_401(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    document = p.dropbox_event("signature_request_viewed", "sr-9", client_id=acme["id"], event_time="1764000000")
    assert deliver(wh, document.replace("signature_request_viewed", "signature_request_all_signed")).status_code == 401
    assert deliver(wh, document.replace("1764000000", "1764000001")).status_code == 401
    no_hash = json.loads(document)
    del no_hash["event"]["event_hash"]
    assert deliver(wh, json.dumps(no_hash)).status_code == 401
    assert counts(wh) == (0, 0, 0) and stub_api.requests == []


def test_a_late_viewed_after_all_signed_does_not_regress(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    metadata = {"client_id": acme["id"], "contract_version": "2026.1"}
    stub_api.answer(api_path("sr-10"), (200, {"signature_request": p.dropbox_request("sr-10", metadata)}))
    deliver(wh, p.dropbox_event("signature_request_all_signed", "sr-10", client_id=acme["id"]))
    deliver(wh, p.dropbox_event("signature_request_viewed", "sr-10", client_id=acme["id"], event_time="1700000000"))
    settle(wh)
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "signed" and contract_status(wh, acme["id"]) == "signed"


def test_unmatched_is_listed_then_applied_after_registration_and_replay(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    # Sent without metadata: the API's answer names no client.
    stub_api.answer(api_path("sr-11"), (200, {"signature_request": p.dropbox_request("sr-11", {})}))
    deliver(wh, p.dropbox_event("signature_request_all_signed", "sr-11", version=None))
    [event] = inbox(wh, "unmatched")
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "dropbox_sign", "external_id": "sr-11", "contract_version": "2026.1"}), 201)
    assert ok(wh.post(f"/v1/webhooks/events/{event['id']}/replay"))["status"] == "processed"
    assert contract_status(wh, acme["id"]) == "signed"
    assert len(stub_api.requests) == 2  # confirmed again on replay


def test_a_forged_cancel_cannot_block_the_real_signature(wh: TestClient, acme: dict[str, Any], stub_api: StubApi) -> None:
    """A captured `canceled` hash replayed against this request changes nothing; the confirmed all_signed counts."""
    ok(wh.post(f"/v1/clients/{acme['id']}/signature-requests",
               json={"provider": "dropbox_sign", "external_id": "sr-12", "contract_version": "2026.1"}), 201)
    deliver(wh, p.dropbox_event("signature_request_canceled", "sr-12"))
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "sent"
    stub_api.answer(api_path("sr-12"), (200, {"signature_request": p.dropbox_request("sr-12", {})}))
    deliver(wh, p.dropbox_event("signature_request_all_signed", "sr-12"))
    assert contract_status(wh, acme["id"]) == "signed"
    [request] = ok(wh.get(f"/v1/clients/{acme['id']}/signature-requests"))["items"]
    assert request["status"] == "signed"
