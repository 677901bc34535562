"""Contract versions: drafts, publishing (which supersedes the previous current version)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.domain.contract import current_version
from service.domain.model import ContractVersion as DomainVersion
from service.errors import Conflict, InvalidInput, NotFound
from service.storage import tables as t
from service.storage.locks import serialize
from service.storage.sql import SqlRepository
from service.usecases import audit

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A publication years ahead blocks every later one (each must come after it): five years is plenty for a schedule.
PUBLISH_AHEAD_AT_MOST = timedelta(days=5 * 365)


def version_dict(row: t.ContractVersion, now: datetime, current: str | None) -> dict[str, Any]:
    if row.published_at is None:
        state = "draft"
    elif row.version == current:
        state = "current"
    elif row.published_at > now:
        state = "scheduled"
    else:
        state = "superseded"
    return {
        "version": row.version,
        "title": row.title,
        "document_url": row.document_url,
        "document_sha256": row.document_sha256,
        "grace_days": row.grace_days,
        "term_days": row.term_days,
        "status": state,
        "created_at": row.created_at,
        "published_at": row.published_at,
    }


def get_version(session: Session, version: str) -> t.ContractVersion | None:
    return SqlRepository(session).get_version(version)


def list_versions(session: Session) -> list[t.ContractVersion]:
    """Every contract version (drafts too), newest first."""
    return list(SqlRepository(session).list_versions())


def current_label(rows: list[t.ContractVersion], now: datetime) -> str | None:
    versions = tuple(DomainVersion(r.version, r.grace_days, r.term_days, r.published_at) for r in rows)
    version = current_version(versions, now)
    return version.version if version else None


def create_draft(
    session: Session,
    *,
    version: str,
    title: str,
    document_url: str,
    document_sha256: str,
    grace_days: int,
    term_days: int | None,
    actor: str,
    now: datetime,
) -> t.ContractVersion:
    sha = document_sha256.lower()
    if not _SHA256.match(sha):
        raise InvalidInput("document_sha256 must be 64 hexadecimal characters")
    repo = SqlRepository(session)
    if repo.get_version(version) is not None:
        raise Conflict(f"contract version {version!r} exists already")
    row = t.ContractVersion(
        version=version,
        title=title,
        document_url=document_url,
        document_sha256=sha,
        grace_days=grace_days,
        term_days=term_days,
        created_at=now,
        published_at=None,
    )
    session.add(row)
    audit.record(
        session, kind="contract.created", actor=actor, at=now, scope="none", subject=version,
        after={"version": version, "title": title, "grace_days": grace_days, "term_days": term_days},
    )
    session.flush()
    return row


def publish(session: Session, *, version: str, at: datetime | None, actor: str, now: datetime) -> t.ContractVersion:
    repo = SqlRepository(session)
    # Publications queue: each one reads the latest publication after the previous one committed.
    serialize(session, "contract_versions.publish")
    row = repo.get_version(version)
    if row is None:
        raise NotFound(f"no contract version {version!r}")
    session.refresh(row)
    if row.published_at is not None:
        raise Conflict(f"contract version {version!r} is published already")
    when = at or now
    if when > now + PUBLISH_AHEAD_AT_MOST:
        raise InvalidInput(
            f"a version is published at most {PUBLISH_AHEAD_AT_MOST.days // 365} years ahead",
            errors=[{"loc": ["body", "at"], "msg": "too far ahead"}],
        )
    latest = max((r.published_at for r in repo.list_versions() if r.published_at is not None), default=None)
    if latest is not None and when <= latest:
        raise Conflict("a version must be published after the one it supersedes")
    row.published_at = when
    audit.record(
        session, kind="contract.published", actor=actor, at=now, scope="catalog", subject=version,
        after={"version": version, "published_at": when.isoformat()},
    )
    session.flush()
    return row
