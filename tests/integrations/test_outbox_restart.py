"""Issue 8: with Zendesk down the update waits in the outbox, survives a restart of `supportgate serve`,
and is delivered once Zendesk is back."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.integrations.server import Server, free_port
from tests.integrations.zendesk_helpers import PATH, SECRET, signed, ticket_body
from tests.integrations.zendesk_stub import ZendeskStub, wait_for

pytestmark = pytest.mark.slow


def test_an_update_waits_in_the_outbox_survives_a_restart_and_is_delivered_when_zendesk_is_back(db_url: str) -> None:
    zendesk_port = free_port()  # nothing listens here yet: Zendesk is down
    env = {
        "SUPPORTGATE_DATABASE_URL": db_url, "SUPPORTGATE_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "SUPPORTGATE_LOG_LEVEL": "ERROR",
        "SUPPORTGATE_ZENDESK_WEBHOOK_SECRET": SECRET, "SUPPORTGATE_ZENDESK_API_URL": f"http://127.0.0.1:{zendesk_port}",
        "SUPPORTGATE_ZENDESK_EMAIL": "agent@acme.example", "SUPPORTGATE_ZENDESK_API_TOKEN": "zd-token",
        "SUPPORTGATE_OUTBOX_MAX_BACKOFF_SECONDS": "1", "SUPPORTGATE_OUTBOX_POLL_SECONDS": "0.1",
    }
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    stub = ZendeskStub(port=zendesk_port)

    def pending(server: Server) -> list[dict[str, Any]]:
        answer = httpx.get(f"{server.url}/v1/integrations/outbox", params={"status": "pending"}, headers=admin, timeout=5)
        assert answer.status_code == 200, answer.text
        return cast(list[dict[str, Any]], answer.json()["items"])

    first = Server(env).start()
    try:
        body = ticket_body("777", email="someone@nowhere.example")
        accepted = httpx.post(f"{first.url}{PATH}", content=body, headers=signed(body, invocation="inv-777"), timeout=5)
        assert accepted.status_code == 200, accepted.text
        [waiting] = wait_for(lambda: [m for m in pending(first) if m["attempts"] >= 2], what="failed attempts")
        assert "ConnectError" in waiting["last_error"]
    finally:
        assert first.stop() == 0
    second = Server(env).start()
    try:
        # the new process keeps retrying the message the first one left behind
        [still] = wait_for(lambda: [m for m in pending(second) if m["attempts"] > waiting["attempts"]], what="retries after restart")
        assert still["id"] == waiting["id"]
        stub.start()
        try:
            wait_for(lambda: not pending(second), what="delivery")
            delivered = httpx.get(f"{second.url}/v1/integrations/outbox", headers=admin, timeout=5).json()["items"]
            assert [(m["id"], m["status"]) for m in delivered] == [(waiting["id"], "delivered")]
            assert [(r.method, r.path) for r in stub.received] == [("PUT", "/api/v2/tickets/777.json")]
            assert stub.received[0].body["ticket"]["additional_tags"] == ["supportgate_checked", "supportgate_refused"]
        finally:
            stub.stop()
    finally:
        assert second.stop() == 0
