"""Contract versions with an uploaded document, and signing links, through the HTTP API."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from fastapi.testclient import TestClient

from tests.helpers import ok

MARKDOWN_V1 = b"# Service contract 2025.1\n\nWe fix things **remotely** within one business day.\n"
MARKDOWN_V2 = (b"# Service contract 2026.1\n\nWe fix things **remotely** within four hours.\n\n"
               b"<script>alert('x')</script>\n\n[home](javascript:alert(1))\n")


def draft(client: TestClient, version: str, document: bytes, *, grace_days: int = 30) -> None:
    ok(client.post("/v1/contracts", json={
        "version": version, "title": f"Service contract {version}", "document_url": f"https://example.com/{version}",
        "document_sha256": hashlib.sha256(document).hexdigest(), "grace_days": grace_days,
    }), 201)


def publish_with_document(client: TestClient, version: str, document: bytes, content_type: str = "text/markdown",
                          **publish: Any) -> None:
    draft(client, version, document)
    response = client.put(f"/v1/contracts/{version}/document", content=document, headers={"Content-Type": content_type})
    assert response.status_code == 204, response.text
    ok(client.post(f"/v1/contracts/{version}/publish", json=publish))


def new_link(client: TestClient, client_id: str, email: str = "ann@acme.example", **body: Any) -> dict[str, Any]:
    return cast(dict[str, Any], ok(client.post(f"/v1/clients/{client_id}/signing-links", json={"email": email, **body}), 201))


def token_of(link: dict[str, Any]) -> str:
    return str(link["url"]).rsplit("/", 1)[1]
