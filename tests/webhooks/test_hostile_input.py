"""Hostile input at every webhook endpoint (all secrets configured): never a 500, nothing stored or changed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.helpers import create_client, publish_contract
from tests.webhooks import providers as p
from tests.webhooks.conftest import counts, inbox, outcome, webhook_settings

MAX_BODY = 64 * 1024
PATHS = ["/v1/webhooks/docusign", "/v1/webhooks/dropbox-sign", "/v1/webhooks/pandadoc", "/v1/webhooks/standard",
         "/v1/webhooks/adobe-sign"]
HEADER_NAMES = ["X-DocuSign-Signature-1", "X-DocuSign-Signature-2", "webhook-id", "webhook-timestamp", "webhook-signature",
                "X-PandaDoc-Webhook-Event-Id", "X-ADOBESIGN-CLIENTID", "Content-Type", "Content-Length-Ignored"]
printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
header_values = st.one_of(
    printable,
    st.just("v1,AAAA v2,BBBB"),
    st.just("v1"),
    st.just("multipart/form-data; boundary=xyz"),
    st.just("multipart/form-data"),
    st.just("application/json"),
    st.integers().map(str),
)
headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=6)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | printable,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(printable, children, max_size=4),
    max_leaves=20,
)
# Bodies shaped like the real ones (with random values) reach further than random bytes do.
shaped = st.one_of(
    st.builds(lambda event, data: {"event": event, "data": data}, printable, json_like),
    st.builds(lambda items: items, st.lists(st.fixed_dictionaries({"event": printable, "data": json_like}), max_size=3)),
    st.builds(lambda e, sr: {"event": e, "signature_request": sr},
              st.fixed_dictionaries({"event_time": printable, "event_type": printable, "event_hash": printable}), json_like),
    st.builds(lambda t, d: {"type": t, "data": d}, st.sampled_from(["contract.signed", "contract.declined"]), json_like),
    st.builds(lambda n, a: {"webhookNotificationId": n, "event": "AGREEMENT_WORKFLOW_COMPLETED", "agreement": a},
              printable, json_like),
).map(lambda doc: json.dumps(doc).encode())
bodies = st.one_of(st.binary(max_size=2048), shaped, st.just(b"x" * (MAX_BODY + 1)))
form_fields = st.dictionaries(
    st.sampled_from(["json", "event", "file", "x" * 300]),
    st.one_of(printable, shaped.map(bytes.decode), st.just("j" * (MAX_BODY // 2))),
    max_size=3,
)


@pytest.fixture
def hostile(db_url: str) -> Iterator[TestClient]:
    configured: Settings = webhook_settings(db_url, "http://127.0.0.1:9", max_body_bytes=MAX_BODY)
    with TestClient(create_app(configured), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        publish_contract(client, grace_days=0)
        create_client(client, name="Acme")
        yield client


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.status_code in (400, 401, 404, 405, 413, 422), (response.status_code, response.text)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), body=bodies, extra=headers, signature=st.none() | printable)
def test_random_bodies_and_headers_are_refused_without_a_trace(
    hostile: TestClient, path: str, body: bytes, extra: dict[str, str], signature: str | None,
) -> None:
    before = counts(hostile)
    params = {"signature": signature} if signature is not None else {}
    assert_refused(hostile.post(path, content=body, headers=extra, params=params))
    assert counts(hostile) == before == (0, 0, 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), fields=form_fields, extra=headers)
def test_random_multipart_bodies_are_refused_without_a_trace(
    hostile: TestClient, path: str, fields: dict[str, str], extra: dict[str, str],
) -> None:
    extra = {k: v for k, v in extra.items() if k.lower() != "content-type"}
    files = {name: (None, value) for name, value in fields.items()} or {"json": (None, "")}
    assert_refused(hostile.post(path, files=files, headers=extra))
    assert counts(hostile) == (0, 0, 0)


def test_adobe_registration_check_with_hostile_ids(hostile: TestClient) -> None:
    for value in ("", " ", "x" * 5000, p.ADOBE_CLIENT_IDS[0] + "x", p.ADOBE_CLIENT_IDS[0].lower()):
        assert_refused(hostile.get("/v1/webhooks/adobe-sign", headers={"X-ADOBESIGN-CLIENTID": value}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=shaped, path=st.sampled_from(["/v1/webhooks/docusign", "/v1/webhooks/pandadoc"]))
def test_genuinely_signed_garbage_is_never_a_500(hostile: TestClient, body: bytes, path: str) -> None:
    """A sender holding the key but sending nonsense (NULs, wrong types): 200 or 422, never 500."""
    if path.endswith("docusign"):
        response = hostile.post(path, content=body, headers=p.docusign_headers(body))
    else:
        response = hostile.post(path, content=body, params={"signature": p.pandadoc_signature(body)})
    assert response.status_code in (200, 422), (response.status_code, response.text)
    # What was stored is processed by the job: that never raises on it either (an attempt that raised
    # would leave the event failed with "processing failed: ...").
    assert not [e for e in inbox(hostile) if (e["detail"] or "").startswith("processing failed")]


def test_nul_characters_in_genuine_fields_are_not_a_500(hostile: TestClient) -> None:
    raw = json.dumps({"event": "envelope-completed\u0000", "generatedDateTime": "\u0000",
                      "data": {"envelopeId": "env\u0000-1", "recipientId": "\u0000",
                               "envelopeSummary": {"customFields": {"textCustomFields": [
                                   {"name": "client_id", "value": "cl_\u0000x"}]}}}}).encode()
    response = hostile.post("/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw))
    assert outcome(hostile, response) == "unmatched"
