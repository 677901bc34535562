"""Issue 12, point 9 (part A): no Host-echoing redirect, crash logs as JSON without personal data, /docs offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.reliability.test_sigterm import free_port

PHONE, EMAIL, SIGNER = "+12125550142", "ada.lovelace@acme.example", "Ada Lovelace"


def test_the_trailing_slash_redirect_does_not_echo_the_host_header(client: TestClient) -> None:
    answer = client.get("/v1/clients/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/v1/clients"
    assert "evil.example" not in answer.headers["location"]
    answer = client.get("/v1/clients/?limit=5", headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.headers["location"] == "/v1/clients?limit=5"
    # `//host` paths are no redirect at all (a browser reads `//evil.example` as another site)
    answer = client.get("//evil.example/", follow_redirects=False)
    assert answer.status_code == 404 and "location" not in answer.headers
    # a path that is no route either way stays a 404 problem
    missing = client.get("/v1/nothing-here/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_the_relative_redirect_is_followed_to_the_route(client: TestClient) -> None:
    answer = client.get("/v1/clients/")
    assert answer.status_code == 200 and "items" in answer.json()


RUNNER = textwrap.dedent('''
    import sys
    import sqlalchemy as sa
    import uvicorn
    from service.api.app import create_app
    from service.settings import Settings

    app = create_app(Settings(database_url=sys.argv[1], bootstrap_admin_key="crash-admin", log_level="INFO"))

    def sql_crash():
        raise sa.exc.ProgrammingError(
            "INSERT INTO client_identifiers (kind, value, signer) VALUES (?, ?, ?)",
            ("phone", "{phone}", "{signer}"), Exception("constraint failed for {email}"))

    def chained_crash():
        try:
            raise ValueError("no client for {email} / {phone}")
        except ValueError as exc:
            raise RuntimeError("lookup failed for {signer}") from exc

    app.add_api_route("/crash/sql", sql_crash)
    app.add_api_route("/crash/chained", chained_crash)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
''').format(phone=PHONE, email=EMAIL, signer=SIGNER)


@pytest.mark.slow
def test_a_500_logs_one_json_line_without_traceback_text_or_personal_data(db_url: str, tmp_path: Path) -> None:
    script = tmp_path / "crash_server.py"
    script.write_text(RUNNER)
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen([sys.executable, str(script), db_url, str(port)], stdout=log_file, stderr=subprocess.STDOUT,
                                  cwd=Path(__file__).resolve().parents[2], env={**os.environ})
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
                    time.sleep(0.1)
            for path in ("/crash/sql", "/crash/chained"):
                with pytest.raises(urllib.error.HTTPError) as caught:
                    urllib.request.urlopen(base + path, timeout=5)
                assert caught.value.code == 500
                problem = orjson.loads(caught.value.read())
                assert problem["detail"] == "an unexpected error occurred"
            time.sleep(0.3)
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = log_path.read_text()
    assert "Traceback" not in text and "Exception in ASGI application" not in text, text
    for personal in (PHONE, EMAIL, SIGNER, "INSERT INTO"):
        assert personal not in text, f"{personal!r} in the log:\n{text}"
    lines = [line for line in text.splitlines() if line.strip()]
    entries = [orjson.loads(line) for line in lines if line.startswith("{")]
    assert len(entries) == len(lines), f"non-JSON lines in the log:\n{text}"
    crashes = [e for e in entries if e["msg"] == "unhandled error"]
    assert [e["path"] for e in crashes] == ["/crash/sql", "/crash/chained"]
    assert crashes[0]["error_type"] == "sqlalchemy.exc.ProgrammingError"
    assert crashes[1]["error_type"] == "RuntimeError" and crashes[1]["error_causes"] == ["ValueError"]
    assert any("in chained_crash" in frame for frame in crashes[1]["stack"])


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_another_origin(client: TestClient, page_path: str) -> None:
    page = client.get(page_path)
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", page.text)
    sources += re.findall(r"""url\s*:\s*["']([^"']+)["']""", page.text)
    assert sources, page.text
    for source in sources:
        assert source.startswith("/") and not source.startswith("//"), source
    assert not re.search(r"https?://", page.text), "an absolute URL in the page"
    for asset in (s for s in sources if s.endswith((".js", ".css", ".png"))):
        answer = client.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 1000, asset
    assert client.get("/docs/assets/../../settings.py").status_code == 404
    assert client.get("/docs/assets/core.py").status_code == 404
