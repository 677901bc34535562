"""Queries of the campaigns, their recipients and messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain import model as dm
from service.storage import tables as t
from service.storage.paging import keyset_page
from service.storage.sql import SqlRepository

# Statuses a campaign may chase; the domain (domain/campaign.py) makes the exact call per client.
UNSIGNED_STATUSES = ("pending", "unsigned", "expired", "declined")


def get(session: Session, campaign_id: str, *, for_update: bool = False) -> t.Campaign | None:
    query = sa.select(t.Campaign).where(t.Campaign.id == campaign_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def page(session: Session, *, limit: int, after: tuple[datetime, str] | None) -> Sequence[t.Campaign]:
    columns = (t.Campaign.created_at, t.Campaign.id)
    return session.scalars(keyset_page(sa.select(t.Campaign), columns, limit=limit, after=after, descending=True)).all()


def running(session: Session) -> Sequence[t.Campaign]:
    return session.scalars(sa.select(t.Campaign).where(t.Campaign.status == "running").order_by(t.Campaign.id)).all()


def started(session: Session) -> Sequence[t.Campaign]:
    """Every campaign past its draft, newest first (a handful a year)."""
    return session.scalars(sa.select(t.Campaign).where(t.Campaign.status != "draft")
                           .order_by(t.Campaign.created_at.desc(), t.Campaign.id.desc())).all()


def candidates(
    session: Session, catalog: dm.Catalog, now: datetime, *, after: str | None, limit: int
) -> list[tuple[str, str]]:
    """(client id, first live e-mail) of active clients with an e-mail not signed at `now`, by client id.

    A coarse filter in SQL (the same expression as the reports); domain/campaign.py decides each one.
    """
    status = SqlRepository(session).contract_status_expr(catalog, now)
    first_email = (
        sa.select(t.ClientIdentifier.value)
        .where(t.ClientIdentifier.client_id == t.Client.id, t.ClientIdentifier.kind == "email",
               t.ClientIdentifier.removed_at.is_(None))
        .order_by(t.ClientIdentifier.id)
        .limit(1)
        .scalar_subquery()
    )
    query = sa.select(t.Client.id, first_email).where(
        t.Client.status == "active", status.in_(UNSIGNED_STATUSES), first_email.is_not(None)
    )
    if after is not None:
        query = query.where(t.Client.id > after)
    return [(r[0], r[1]) for r in session.execute(query.order_by(t.Client.id).limit(limit))]


def client_emails(session: Session, client_id: str) -> list[str]:
    return list(session.scalars(
        sa.select(t.ClientIdentifier.value)
        .where(t.ClientIdentifier.client_id == client_id, t.ClientIdentifier.kind == "email",
               t.ClientIdentifier.removed_at.is_(None))
        .order_by(t.ClientIdentifier.id)
    ))


def recipients(session: Session, campaign_id: str, client_ids: Sequence[str] | None = None) -> dict[str, t.CampaignRecipient]:
    query = sa.select(t.CampaignRecipient).where(t.CampaignRecipient.campaign_id == campaign_id)
    if client_ids is not None:
        if not client_ids:
            return {}
        query = query.where(t.CampaignRecipient.client_id.in_(list(client_ids)))
    return {r.client_id: r for r in session.scalars(query)}


def recipient(session: Session, campaign_id: str, client_id: str) -> t.CampaignRecipient | None:
    return session.scalar(sa.select(t.CampaignRecipient).where(
        t.CampaignRecipient.campaign_id == campaign_id, t.CampaignRecipient.client_id == client_id))


def messages(session: Session, campaign_id: str, client_ids: Sequence[str] | None = None) -> list[t.CampaignMessage]:
    query = sa.select(t.CampaignMessage).where(t.CampaignMessage.campaign_id == campaign_id)
    if client_ids is not None:
        if not client_ids:
            return []
        query = query.where(t.CampaignMessage.client_id.in_(list(client_ids)))
    return list(session.scalars(query.order_by(t.CampaignMessage.created_at, t.CampaignMessage.id)))


def messages_of_client(session: Session, client_id: str) -> list[t.CampaignMessage]:
    return list(session.scalars(
        sa.select(t.CampaignMessage).where(t.CampaignMessage.client_id == client_id)
        .order_by(t.CampaignMessage.created_at, t.CampaignMessage.id)
    ))


def message_by_token_hash(session: Session, token_hash: str) -> t.CampaignMessage | None:
    return session.scalar(sa.select(t.CampaignMessage).where(t.CampaignMessage.unsubscribe_token_hash == token_hash))


def client_names(session: Session, client_ids: Sequence[str]) -> dict[str, str]:
    return {cid: row.name for cid, row in SqlRepository(session).clients_by_ids(client_ids).items()}


def insert_message(session: Session, values: dict[str, Any]) -> bool:
    """Insert one step's row in a savepoint; False when it exists already (another pass, another replica).

    On PostgreSQL a concurrent insert of the same key waits for the other transaction and then fails
    on the unique constraint: the step is sent by exactly one of them.
    """
    try:
        with session.begin_nested():
            session.execute(sa.insert(t.CampaignMessage).values(**values))
    except sa.exc.IntegrityError:
        return False
    return True


def opened_links(session: Session, link_ids: Sequence[str]) -> set[str]:
    """The signing links (of those given) that their recipient has opened."""
    found: set[str] = set()
    ids = list(link_ids)
    for start in range(0, len(ids), 500):
        found.update(session.scalars(sa.select(t.SigningLink.id).where(
            t.SigningLink.id.in_(ids[start:start + 500]), t.SigningLink.first_opened_at.is_not(None))))
    return found
