"""Queries of client contacts and of the identifiers linked to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage import tables as t


def live_contacts(session: Session, client_ids: Sequence[str]) -> Sequence[t.ClientContact]:
    if not client_ids:
        return []
    return session.scalars(
        sa.select(t.ClientContact)
        .where(t.ClientContact.client_id.in_(list(client_ids)), t.ClientContact.removed_at.is_(None))
        .order_by(t.ClientContact.created_at, t.ClientContact.id)
    ).all()


def contact_identifiers(session: Session, client_ids: Sequence[str]) -> Sequence[t.ClientIdentifier]:
    """The live identifiers of these clients that belong to one of their contacts."""
    if not client_ids:
        return []
    return session.scalars(
        sa.select(t.ClientIdentifier).where(
            t.ClientIdentifier.client_id.in_(list(client_ids)),
            t.ClientIdentifier.contact_id.is_not(None),
            t.ClientIdentifier.removed_at.is_(None),
        )
    ).all()


def holders(session: Session, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple[str, str | None]]:
    """(client id, contact id or None) holding each live identifier among `keys`."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    found: dict[tuple[str, str, str], tuple[str, str | None]] = {}
    for kind, system, value in dict.fromkeys(keys):
        row = session.execute(
            sa.select(t.ClientIdentifier.client_id, t.ClientIdentifier.contact_id).where(
                t.ClientIdentifier.kind == kind,
                t.ClientIdentifier.system == system,
                t.ClientIdentifier.value == value,
                t.ClientIdentifier.removed_at.is_(None),
            )
        ).first()
        if row is not None:
            found[(kind, system, value)] = (row[0], row[1])
    return found


def remove_contact(session: Session, contact: t.ClientContact, at: datetime) -> None:
    """Kept for history, like identifiers: the contact and its identifiers are marked removed."""
    contact.removed_at = at
    session.execute(
        sa.update(t.ClientIdentifier)
        .where(t.ClientIdentifier.contact_id == contact.id, t.ClientIdentifier.removed_at.is_(None))
        .values(removed_at=at)
    )
    session.flush()
