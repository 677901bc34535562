"""The JSON access log: one line a request (the check's lane included), written in batches, in
order, complete by shutdown; key names only, never keys."""

from __future__ import annotations

import io
import json
import logging

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.logs import JsonStreamHandler, configure_logging
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import create_client, publish_contract, put_plans


def test_every_request_leaves_one_line_in_order_by_shutdown(db_url: str) -> None:
    configure_logging("INFO")
    handler = next(h for h in logging.getLogger("supportgate").handlers if isinstance(h, JsonStreamHandler))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        app = create_app(make_settings(db_url, log_level="INFO"))
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            put_plans(client)
            publish_contract(client)
            create_client(client, phones=["(212) 555-0142"])
            ids = []
            for n in range(30):
                answer = client.post("/v1/entitlements/check", json={"phone": "2125550142", "service": "triage"},
                                     headers={"X-Request-ID": f"call-{n}"})
                ids.append(answer.headers["x-request-id"])
            logging.getLogger("supportgate.api").warning("a record outside the fast path")
            ids.append(client.get("/v1/clients").headers["x-request-id"])
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        handler.setStream(previous)
    requests = [line for line in lines if line.get("logger") == "supportgate.access"]
    checks = [line for line in requests if line["route"] == "/v1/entitlements/check"]
    assert [line["request_id"] for line in checks] == [f"call-{n}" for n in range(30)]
    assert all(line["status"] == 200 and line["key_name"] == "bootstrap-admin" for line in checks)
    assert requests[-1]["request_id"] == ids[-1] and requests[-1]["route"] == "/v1/clients"
    order = [line.get("msg") for line in lines]
    assert order.index("a record outside the fast path") > max(i for i, line in enumerate(lines) if line.get("request_id") == "call-29")
    assert ADMIN_KEY not in stream.getvalue()
