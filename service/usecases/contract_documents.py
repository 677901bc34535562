"""A contract version's document: the exact bytes the signing page shows, uploaded while the version is a draft."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy.orm import Session

from service.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, ServiceError
from service.storage import signing_links as store
from service.storage import tables as t
from service.storage.sql import SqlRepository
from service.usecases import audit

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MARKDOWN, HTML, PDF = "text/markdown", "text/html", "application/pdf"
CONTENT_TYPES = (MARKDOWN, HTML, PDF)
_ALIASES = {"text/x-markdown": MARKDOWN, "application/xhtml+xml": HTML}


class UnsupportedMediaType(ServiceError):
    code = "unsupported-media-type"
    http_status = 415
    title = "Unsupported media type"


def media_type(header: str | None) -> str:
    value = (header or "").split(";")[0].strip().lower()
    value = _ALIASES.get(value, value)
    if value not in CONTENT_TYPES:
        raise UnsupportedMediaType(f"the document must be {', '.join(CONTENT_TYPES)}; got {value or 'no Content-Type'!r}")
    return value


def is_text(content_type: str) -> bool:
    return content_type in (MARKDOWN, HTML)


def upload_document(
    session: Session, *, version: str, content_type: str | None, body: bytes, actor: str, now: datetime
) -> t.ContractDocument:
    kind = media_type(content_type)
    row = SqlRepository(session).get_version(version)
    if row is None:
        raise NotFound(f"no contract version {version!r}")
    if row.published_at is not None:
        raise Conflict(f"contract version {version!r} is published: its document can no longer change")
    if len(body) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    if not body:
        raise InvalidInput("the document is empty")
    digest = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(digest, row.document_sha256):
        raise InvalidInput(
            f"the document's SHA-256 is {digest}, the version was created with {row.document_sha256}",
            errors=[{"loc": ["body"], "msg": "SHA-256 differs from the version's document_sha256"}],
        )
    if is_text(kind):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"a {kind} document must be UTF-8 text") from None
    elif not body.startswith(b"%PDF-"):
        raise InvalidInput("an application/pdf document must start with %PDF-")
    existing = store.document(session, version)
    before = {"content_type": existing.content_type, "sha256": existing.sha256, "size": existing.size} if existing else None
    if existing is None:
        existing = t.ContractDocument(version=version, content_type=kind, sha256=digest, size=len(body), body=body,
                                      actor=actor, uploaded_at=now)
        session.add(existing)
    else:
        existing.content_type, existing.sha256, existing.size, existing.body = kind, digest, len(body), body
        existing.actor, existing.uploaded_at = actor, now
    audit.record(
        session, kind="contract.document_uploaded", actor=actor, at=now, scope="none", subject=version, before=before,
        after={"content_type": kind, "sha256": digest, "size": len(body)},
    )
    session.flush()
    return existing


def has_document(session: Session, version: str) -> bool:
    """Whether the version has an uploaded document (the receipt offers its download)."""
    return store.document_info(session, version) is not None  # without the bytes


def get_document(session: Session, version: str) -> t.ContractDocument:
    if SqlRepository(session).get_version(version) is None:
        raise NotFound(f"no contract version {version!r}")
    found = store.document(session, version)
    if found is None:
        raise NotFound(f"contract version {version!r} has no uploaded document")
    return found
