"""SIGTERM drains in-flight requests: a real server process, a request still arriving when the
signal lands; it is answered in full (and its write kept) before the process exits, and no new
connection is taken meanwhile."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import orjson
import pytest
import sqlalchemy as sa

from service.storage.database import normalize_url

ADMIN = "drain-admin-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SUPPORTGATE_DATABASE_URL": db_url, "SUPPORTGATE_BOOTSTRAP_ADMIN_KEY": ADMIN,
           "SUPPORTGATE_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else "server exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("server did not start")


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    sock.settimeout(15)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return status, body


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_then_exits(db_url: str) -> None:
    port = free_port()
    server = start_server(db_url, port)
    try:
        body = orjson.dumps({"name": "Draining Dental", "phones": ["(212) 555-0142"]})
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            b"POST /v1/clients HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {ADMIN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.3)  # the server has the request's head and waits for the rest of its body
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.poll() is None, "the server exited with a request in flight"
        with pytest.raises(OSError):  # draining: no new connections
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sock.sendall(body[10:])
        status, answer = read_response(sock)
        sock.close()
        assert status == 201, answer
        client_id = orjson.loads(answer)["id"]
        # uvicorn re-raises the signal once drained, so the exit status says "ended by SIGTERM"
        assert server.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    engine = sa.create_engine(normalize_url(db_url))
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT name FROM clients WHERE id = :id"), {"id": client_id}).scalar_one()
    finally:
        engine.dispose()
    assert stored == "Draining Dental"
