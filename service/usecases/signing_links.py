"""Signing links: personal, single-use, expiring URLs to sign one contract version (only the token's hash is kept)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.errors import Conflict, Gone, InvalidInput, NotFound
from service.identifiers import normalize_email
from service.ids import new_id
from service.settings import get_settings
from service.storage import signing_links as store
from service.storage import tables as t
from service.storage.sql import SqlRepository
from service.usecases import audit
from service.usecases.clients import get_client_row
from service.usecases.contracts import current_label

ACTIVE, USED, EXPIRED, REVOKED = "active", "used", "expired", "revoked"
MAX_EXPIRES_IN_DAYS = 365
# 32 random bytes: about 43 URL-safe characters; anything of another shape is not worth a lookup.
TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class SigningLinkView:
    """A link as listed: never its token."""

    id: str
    client_id: str
    email: str
    contract_version: str
    status: str
    created_at: datetime
    expires_at: datetime
    first_opened_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None
    acceptance_id: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def plausible_token(token: str) -> bool:
    return 20 <= len(token) <= 100 and all(c.isalnum() or c in "-_" for c in token)


def link_status(row: t.SigningLink, now: datetime) -> str:
    if row.revoked_at is not None:
        return REVOKED
    if row.used_at is not None:
        return USED
    if row.expires_at <= now:
        return EXPIRED
    return ACTIVE


def view_of(row: t.SigningLink, now: datetime) -> SigningLinkView:
    return SigningLinkView(
        id=row.id, client_id=row.client_id, email=row.email, contract_version=row.contract_version,
        status=link_status(row, now), created_at=row.created_at, expires_at=row.expires_at,
        first_opened_at=row.first_opened_at, used_at=row.used_at, revoked_at=row.revoked_at, acceptance_id=row.acceptance_id,
    )


def signing_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/sign/{token}"


def _version_to_sign(repo: SqlRepository, contract_version: str | None, now: datetime) -> str:
    if contract_version is None:
        current = current_label(list(repo.list_versions()), now)
        if current is None:
            raise Conflict("no contract version is published yet: name the version to sign")
        return current
    if repo.get_version(contract_version) is None:
        raise InvalidInput(f"unknown contract version {contract_version!r}",
                           errors=[{"loc": ["body", "contract_version"], "msg": "no such version"}])
    return contract_version


def create_signing_link(
    session: Session, *, client_id: str, email: str, contract_version: str | None, expires_in_days: int = 30,
    now: datetime, actor: str, public_url: str | None = None,
) -> tuple[SigningLinkView, str]:
    """A new link and its full URL `{public_url}/sign/{token}` (the token is shown only here).
    `public_url` defaults to SUPPORTGATE_PUBLIC_URL."""
    repo = SqlRepository(session)
    client = get_client_row(repo, client_id)
    if client.status != "active":
        raise Conflict(f"client {client_id!r} is archived")
    address = normalize_email(email)
    if not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS:
        raise InvalidInput(f"expires_in_days must be between 1 and {MAX_EXPIRES_IN_DAYS}",
                           errors=[{"loc": ["body", "expires_in_days"], "msg": f"1 to {MAX_EXPIRES_IN_DAYS}"}])
    version = _version_to_sign(repo, contract_version, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = t.SigningLink(
        id=new_id("sgl"), token_hash=hash_token(token), client_id=client_id, contract_version=version, email=address,
        actor=actor, created_at=now, expires_at=now + timedelta(days=expires_in_days), first_opened_at=None,
        used_at=None, acceptance_id=None, revoked_at=None, revoked_by=None,
    )
    session.add(row)
    audit.record(
        session, kind="signing_link.created", actor=actor, at=now, scope="none", client_id=client_id, subject=row.id,
        after={"link_id": row.id, "email": address, "contract_version": version, "expires_at": row.expires_at.isoformat()},
    )
    session.flush()
    base = public_url if public_url is not None else get_settings().public_url
    return view_of(row, now), signing_url(base, token)


def list_signing_links(
    session: Session, client_id: str, *, now: datetime, limit: int, before: tuple[datetime, str] | None
) -> list[SigningLinkView]:
    get_client_row(SqlRepository(session), client_id)
    return [view_of(row, now) for row in store.page_for_client(session, client_id, limit=limit, before=before)]


def revoke_signing_link(session: Session, link_id: str, *, actor: str, now: datetime) -> SigningLinkView:
    """Revoking twice, or a used link, changes nothing more."""
    row = store.get(session, link_id)
    if row is None:
        raise NotFound(f"no signing link {link_id!r}")
    if row.revoked_at is None and row.used_at is None:
        before = link_status(row, now)
        row.revoked_at, row.revoked_by = now, actor
        audit.record(
            session, kind="signing_link.revoked", actor=actor, at=now, scope="none", client_id=row.client_id, subject=row.id,
            before={"status": before}, after={"status": REVOKED},
        )
        session.flush()
    return view_of(row, now)


def link_for_token(session: Session, token: str) -> t.SigningLink:
    """The link a token opens, whatever its state; NotFound for a forged or truncated token."""
    row = store.by_token_hash(session, hash_token(token)) if plausible_token(token) else None
    if row is None:
        raise NotFound("no such signing link")
    return row


def usable_link(session: Session, token: str, now: datetime) -> t.SigningLink:
    """The link, when it can still be signed; Gone (410) once used, expired or revoked."""
    row = link_for_token(session, token)
    state = link_status(row, now)
    if state != ACTIVE:
        raise Gone(f"this signing link is {state}")
    return row
