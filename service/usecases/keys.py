"""API keys: random, shown once, stored as SHA-256 hashes (they are high-entropy, so no slow KDF)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from service.errors import Conflict, InvalidInput, NotFound
from service.ids import new_id
from service.storage import tables as t
from service.storage.sql import SqlRepository
from service.usecases import audit

SCOPES = ("entitlements:check", "clients:read", "clients:write", "admin")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def create_key(
    session: Session, *, name: str, scopes: list[str], expires_at: datetime | None, actor: str, now: datetime
) -> tuple[t.ApiKey, str]:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidInput(f"scopes must be among {', '.join(SCOPES)}")
    repo = SqlRepository(session)
    if repo.key_by_name(name) is not None:
        raise Conflict(f"a key named {name!r} exists already")
    secret = "sg_" + secrets.token_urlsafe(32)
    row = t.ApiKey(
        id=new_id("key"),
        name=name,
        key_hash=hash_key(secret),
        prefix=secret[:7],
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=expires_at,
        revoked_at=None,
    )
    session.add(row)
    audit.record(
        session, kind="key.created", actor=actor, at=now, scope="keys", subject=name,
        after={"name": name, "scopes": row.scopes, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    session.flush()
    return row, secret


def list_keys(session: Session) -> list[t.ApiKey]:
    """Every key, oldest first (names, scopes, state; the hash only, never a key)."""
    return list(SqlRepository(session).list_keys())


def revoke_key(session: Session, *, name: str, actor: str, now: datetime) -> t.ApiKey:
    row = SqlRepository(session).key_by_name(name)
    if row is None:
        raise NotFound(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(session, kind="key.revoked", actor=actor, at=now, scope="keys", subject=name)
        session.flush()
    return row
