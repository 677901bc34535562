"""Queries on signing links, contract documents and click-through evidence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage import tables as t
from service.storage.paging import keyset_page


def by_token_hash(session: Session, token_hash: str) -> t.SigningLink | None:
    return session.scalars(sa.select(t.SigningLink).where(t.SigningLink.token_hash == token_hash)).first()


def get(session: Session, link_id: str) -> t.SigningLink | None:
    return session.get(t.SigningLink, link_id)


def page_for_client(session: Session, client_id: str, *, limit: int, before: tuple[datetime, str] | None) -> Sequence[t.SigningLink]:
    """Newest first."""
    link = t.SigningLink
    query = sa.select(link).where(link.client_id == client_id)
    return session.scalars(keyset_page(query, (link.created_at, link.id), limit=limit, after=before, descending=True)).all()


def for_clients(session: Session, client_ids: Sequence[str], contract_version: str | None = None) -> Sequence[t.SigningLink]:
    query = sa.select(t.SigningLink).where(t.SigningLink.client_id.in_(list(client_ids)))
    if contract_version is not None:
        query = query.where(t.SigningLink.contract_version == contract_version)
    return session.scalars(query.order_by(t.SigningLink.created_at, t.SigningLink.id)).all()


def mark_used(session: Session, link_id: str, *, now: datetime) -> bool:
    """Spend the link; False when another request spent, revoked or outlived it first (held by the database)."""
    link = t.SigningLink
    result = session.execute(
        sa.update(link)
        .where(link.id == link_id, link.used_at.is_(None), link.revoked_at.is_(None), link.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def mark_opened(session: Session, link_id: str, *, now: datetime) -> bool:
    link = t.SigningLink
    result = session.execute(
        sa.update(link).where(link.id == link_id, link.first_opened_at.is_(None)).values(first_opened_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def document(session: Session, version: str) -> t.ContractDocument | None:
    return session.get(t.ContractDocument, version)


def document_info(session: Session, version: str) -> tuple[str, str, int] | None:
    """(content_type, sha256, size) without the bytes."""
    d = t.ContractDocument
    found = session.execute(sa.select(d.content_type, d.sha256, d.size).where(d.version == version)).first()
    return (found[0], found[1], found[2]) if found else None


def evidence(session: Session, acceptance_id: str) -> t.ClickThroughEvidence | None:
    return session.get(t.ClickThroughEvidence, acceptance_id)


def evidence_for_link(session: Session, link_id: str) -> t.ClickThroughEvidence | None:
    query = sa.select(t.ClickThroughEvidence).where(t.ClickThroughEvidence.signing_link_id == link_id)
    return session.scalars(query).first()


def latest_signed_version_before(session: Session, client_id: str, version: str) -> str | None:
    """The version the client signed most recently, other than `version`."""
    a = t.Acceptance
    query = (
        sa.select(a.contract_version)
        .where(a.client_id == client_id, a.decision == "signed", a.contract_version != version)
        .order_by(a.signed_at.desc(), a.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
