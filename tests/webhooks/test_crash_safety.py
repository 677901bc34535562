"""A real `supportgate serve` killed with SIGKILL right after acknowledging a webhook loses nothing: the
acknowledged event was stored, and the job of the restarted server applies it (once) if the first did not."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.helpers import SHA
from tests.webhooks import providers as p


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("supportgate")), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not become ready")


@pytest.mark.slow
def test_an_acknowledged_webhook_is_applied_exactly_once_across_a_sigkill(db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "SUPPORTGATE_DATABASE_URL": db_url, "SUPPORTGATE_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
           "SUPPORTGATE_DOCUSIGN_HMAC_KEYS": p.DOCUSIGN_KEYS[0], "SUPPORTGATE_LOG_LEVEL": "WARNING"}
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    server = start(env, port)
    try:
        with httpx.Client(base_url=base, headers=admin, timeout=10) as api:
            assert api.post("/v1/contracts", json={
                "version": "2026.1", "title": "Contract", "document_url": "https://example.com/c.pdf",
                "document_sha256": SHA, "grace_days": 0}).status_code == 201
            assert api.post("/v1/contracts/2026.1/publish", json={}).status_code == 200
            acme = api.post("/v1/clients", json={"name": "Acme Dental"}).json()
            raw = p.docusign_body("envelope-completed", str(uuid.uuid4()), client_id=acme["id"])
            ack = httpx.post(f"{base}/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw), timeout=10)
            server.send_signal(signal.SIGKILL)
            assert ack.status_code == 200 and ack.json()["status"] == "received"
        server.wait(10)
        server = start(env, port)
        with httpx.Client(base_url=base, headers=admin, timeout=10) as api:
            deadline = time.monotonic() + 30
            while api.get("/v1/webhooks/events", params={"status": "received"}).json()["items"]:
                assert time.monotonic() < deadline, "the stored event was not processed after the restart"
                time.sleep(0.1)
            [event] = api.get("/v1/webhooks/events").json()["items"]
            assert event["status"] == "processed"
            assert len(api.get(f"/v1/clients/{acme['id']}/acceptances").json()["items"]) == 1
            assert api.get(f"/v1/clients/{acme['id']}").json()["contract"]["status"] == "signed"
            # DocuSign retries when it did not see the ack: still one acceptance.
            again = httpx.post(f"{base}/v1/webhooks/docusign", content=raw, headers=p.docusign_headers(raw), timeout=10)
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
            assert len(api.get(f"/v1/clients/{acme['id']}/acceptances").json()["items"]) == 1
            assert len(api.get("/v1/webhooks/events").json()["items"]) == 1
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        if server.stderr:
            server.stderr.close()
