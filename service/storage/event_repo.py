"""Events (the audit trail and change log), API keys and the coverage report's counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from service.domain import model as dm
from service.storage import rules_sql
from service.storage import tables as t
from service.storage.session_repo import SessionRepository


class EventSql(SessionRepository):
    # ---- events (audit trail and change log) ---------------------------------------------------
    def client_events(self, client_id: str, *, limit: int, before_seq: int | None) -> Sequence[t.Event]:
        query = sa.select(t.Event).where(t.Event.client_id == client_id)
        if before_seq is not None:
            query = query.where(t.Event.seq < before_seq)
        return self.session.scalars(query.order_by(t.Event.seq.desc()).limit(limit)).all()

    def events_of_kind(self, kinds: Sequence[str]) -> Sequence[t.Event]:
        return self.session.scalars(sa.select(t.Event).where(t.Event.kind.in_(kinds)).order_by(t.Event.seq)).all()

    def event_facts(self, kinds: Sequence[str]) -> Sequence[sa.Row[Any]]:
        """What a replay needs of events of these kinds, oldest first (plain rows: much cheaper than ORM objects)."""
        e = t.Event
        query = sa.select(e.kind, e.client_id, e.subject, e.after, e.created_at).where(e.kind.in_(kinds)).order_by(e.seq)
        return self.session.execute(query).all()

    def max_event_seq(self) -> int:
        return int(self.session.scalar(sa.select(sa.func.coalesce(sa.func.max(t.Event.seq), 0))) or 0)

    def changes_since(self, seq: int, limit: int = 5000) -> list[tuple[int, str, str | None]]:
        rows = self.session.execute(
            sa.select(t.Event.seq, t.Event.scope, t.Event.client_id)
            .where(t.Event.seq > seq, t.Event.scope != "none")
            .order_by(t.Event.seq)
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    # ---- reports -------------------------------------------------------------------------------
    def coverage(self, catalog: dm.Catalog, now: datetime) -> dict[str, Any]:
        active = t.Client.status == "active"
        counts = {str(row[0]): int(row[1]) for row in self.session.execute(rules_sql.contract_status_counts(catalog, now, active))}
        m = t.Membership
        member_rows = self.session.execute(
            sa.select(m.plan_code, sa.func.count(), t.Plan.price_amount_minor, t.Plan.price_currency)
            .join(t.Client, t.Client.id == m.client_id)
            .join(t.Plan, t.Plan.code == m.plan_code)
            .where(m.superseded_at.is_(None), active, rules_sql.membership_grants(m, catalog.policy, now))
            .group_by(m.plan_code, t.Plan.price_amount_minor, t.Plan.price_currency)
        ).all()
        return {"contract": counts, "members": [(r[0], int(r[1]), int(r[2]), r[3]) for r in member_rows]}


class KeySql(SessionRepository):
    # ---- api keys ------------------------------------------------------------------------------
    def key_by_hash(self, key_hash: str) -> t.ApiKey | None:
        return self.session.scalar(sa.select(t.ApiKey).where(t.ApiKey.key_hash == key_hash))

    def key_by_name(self, name: str) -> t.ApiKey | None:
        return self.session.scalar(sa.select(t.ApiKey).where(t.ApiKey.name == name))

    def list_keys(self) -> Sequence[t.ApiKey]:
        return self.session.scalars(sa.select(t.ApiKey).order_by(t.ApiKey.created_at)).all()
