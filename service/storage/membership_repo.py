"""Memberships and overrides: the live membership of clients, a client's overrides and their pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from service.storage import tables as t
from service.storage.paging import keyset_page
from service.storage.session_repo import SessionRepository


class MembershipSql(SessionRepository):
    # ---- memberships ---------------------------------------------------------------------------
    def current_membership(self, client_id: str) -> t.Membership | None:
        return self.session.scalar(
            sa.select(t.Membership)
            .where(t.Membership.client_id == client_id, t.Membership.superseded_at.is_(None))
            .order_by(t.Membership.created_at.desc())
            .limit(1)
        )

    def current_memberships(self, client_ids: Sequence[str]) -> dict[str, t.Membership]:
        if not client_ids:
            return {}
        rows = self.session.scalars(
            sa.select(t.Membership).where(t.Membership.client_id.in_(client_ids), t.Membership.superseded_at.is_(None))
        )
        return {r.client_id: r for r in rows}


    # ---- overrides ----
    def list_overrides(self, client_id: str) -> Sequence[t.Override]:
        return self.session.scalars(
            sa.select(t.Override).where(t.Override.client_id == client_id).order_by(t.Override.created_at.desc())
        ).all()

    def get_override(self, override_id: str) -> t.Override | None:
        return self.session.get(t.Override, override_id)


    def override_page(
        self, client_id: str, *, limit: int, before: tuple[datetime, str] | None, active: bool | None, now: datetime
    ) -> Sequence[t.Override]:
        """Newest grant first; `active` keeps only the overrides in force at `now` (True) or the others (False)."""
        o = t.Override
        query = sa.select(o).where(o.client_id == client_id)
        if active is not None:
            in_force = sa.and_(o.revoked_at.is_(None), o.created_at <= now, o.expires_at > now)
            query = query.where(in_force if active else sa.not_(in_force))
        return self.session.scalars(keyset_page(query, (o.created_at, o.id), limit=limit, after=before, descending=True)).all()
