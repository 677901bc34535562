"""PUT/GET /v1/contracts/{version}/document: the SHA-256 binds, drafts only, 5 MiB at most."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app as cli_app
from service.settings import get_settings
from tests.helpers import ok
from tests.signing.helpers import MARKDOWN_V1, draft
from tests.ui.ui_helpers import make_key

pytestmark = pytest.mark.storage


def test_upload_then_read_back_with_its_content_type(client: TestClient, db_url: str) -> None:
    draft(client, "2026.1", MARKDOWN_V1)
    assert client.get("/v1/contracts/2026.1/document").status_code == 404  # nothing uploaded yet
    response = client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1, headers={"Content-Type": "text/markdown"})
    assert response.status_code == 204 and response.content == b""
    reader = make_key(db_url, "tech", "clients:read")
    got = client.get("/v1/contracts/2026.1/document", headers={"Authorization": f"Bearer {reader}"})
    assert got.status_code == 200 and got.content == MARKDOWN_V1
    assert got.headers["content-type"].startswith("text/markdown")
    assert got.headers["x-content-sha256"] == hashlib.sha256(MARKDOWN_V1).hexdigest()
    # A technician's key may read it but not upload it.
    denied = client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1,
                        headers={"Content-Type": "text/markdown", "Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403


def test_a_document_whose_sha256_differs_is_refused(client: TestClient) -> None:
    draft(client, "2026.1", MARKDOWN_V1)
    response = client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1 + b" ", headers={"Content-Type": "text/markdown"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert "SHA-256" in response.json()["detail"]
    assert client.get("/v1/contracts/2026.1/document").status_code == 404  # nothing stored


def test_a_published_version_keeps_its_document(client: TestClient) -> None:
    draft(client, "2026.1", MARKDOWN_V1)
    assert client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1, headers={"Content-Type": "text/markdown"}).status_code == 204
    ok(client.post("/v1/contracts/2026.1/publish", json={}))
    again = client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1, headers={"Content-Type": "text/html"})
    assert again.status_code == 409
    assert client.get("/v1/contracts/2026.1/document").headers["content-type"].startswith("text/markdown")


def test_over_five_mebibytes_is_413_and_up_to_it_is_accepted(client: TestClient) -> None:
    big = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024 - 9)  # exactly 5 MiB: above the 1 MiB limit of other routes
    draft(client, "2026.1", big)
    assert client.put("/v1/contracts/2026.1/document", content=big, headers={"Content-Type": "application/pdf"}).status_code == 204
    too_big = big + b"0"
    draft(client, "2026.2", too_big)
    response = client.put("/v1/contracts/2026.2/document", content=too_big, headers={"Content-Type": "application/pdf"})
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/contracts/2026.2/document").status_code == 404
    # The larger limit is for this route only.
    other = client.post("/v1/clients", content=b"[" + b" " * (1024 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert other.status_code == 413


def test_bad_uploads(client: TestClient) -> None:
    draft(client, "2026.1", MARKDOWN_V1)
    assert client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1, headers={"Content-Type": "image/png"}).status_code == 415
    assert client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1, headers={"Content-Type": "application/pdf"}).status_code == 422
    assert client.put("/v1/contracts/9.9/document", content=MARKDOWN_V1, headers={"Content-Type": "text/markdown"}).status_code == 404
    unauthenticated = client.put("/v1/contracts/2026.1/document", content=MARKDOWN_V1,
                                 headers={"Content-Type": "text/markdown", "Authorization": "Bearer nope"})
    assert unauthenticated.status_code == 401


def test_cli_contract_upload(client: TestClient, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    draft(client, "2026.1", MARKDOWN_V1)
    monkeypatch.setenv("SUPPORTGATE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        wrong = tmp_path / "wrong.md"
        wrong.write_bytes(MARKDOWN_V1 + b"changed")
        refused = CliRunner().invoke(cli_app, ["contract", "upload", "2026.1", str(wrong)])
        assert refused.exit_code == 1 and "SHA-256" in refused.output
        document = tmp_path / "contract.md"
        document.write_bytes(MARKDOWN_V1)
        done = CliRunner().invoke(cli_app, ["contract", "upload", "2026.1", str(document)])
        assert done.exit_code == 0, done.output
        assert hashlib.sha256(MARKDOWN_V1).hexdigest() in done.output
    finally:
        get_settings.cache_clear()
    got = client.get("/v1/contracts/2026.1/document")
    assert got.content == MARKDOWN_V1 and got.headers["content-type"].startswith("text/markdown")
