"""Queries of billing: plans' external prices and the last state applied per subscription."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.storage import tables as t
from service.storage.conflicts import add_unless_taken


class BillingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- external prices ---------------------------------------------------------------------
    def external_prices(self, plan_codes: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """Live (system, id) pairs of each plan, in the order they were given."""
        found: dict[str, list[tuple[str, str]]] = {code: [] for code in plan_codes}
        if not plan_codes:
            return found
        rows = self.session.execute(
            sa.select(t.PlanExternalPrice.plan_code, t.PlanExternalPrice.system, t.PlanExternalPrice.external_id)
            .where(t.PlanExternalPrice.plan_code.in_(plan_codes), t.PlanExternalPrice.removed_at.is_(None))
            .order_by(t.PlanExternalPrice.id)
        )
        for code, system, external_id in rows:
            found[code].append((system, external_id))
        return found

    def price_owner(self, system: str, external_id: str) -> str | None:
        """The plan a live external price belongs to."""
        return self.session.scalar(
            sa.select(t.PlanExternalPrice.plan_code).where(
                t.PlanExternalPrice.system == system, t.PlanExternalPrice.external_id == external_id,
                t.PlanExternalPrice.removed_at.is_(None),
            )
        )

    def plans_by_price(self, system: str) -> dict[str, str]:
        """Every live price id of one system → its plan code (the catalog is small)."""
        rows = self.session.execute(
            sa.select(t.PlanExternalPrice.external_id, t.PlanExternalPrice.plan_code)
            .where(t.PlanExternalPrice.system == system, t.PlanExternalPrice.removed_at.is_(None))
        )
        return {external_id: code for external_id, code in rows}

    def replace_external_prices(self, plan_code: str, prices: Sequence[tuple[str, str]], now: datetime) -> bool:
        """Make `prices` the plan's live set (removed ones kept); False when another plan holds one meanwhile."""
        live = self.session.scalars(
            sa.select(t.PlanExternalPrice)
            .where(t.PlanExternalPrice.plan_code == plan_code, t.PlanExternalPrice.removed_at.is_(None))
        ).all()
        wanted = set(prices)
        for row in live:
            if (row.system, row.external_id) not in wanted:
                row.removed_at = now
        kept = {(row.system, row.external_id) for row in live if row.removed_at is None}
        try:
            with self.session.begin_nested():
                self.session.flush()
                for system, external_id in prices:
                    if (system, external_id) not in kept:
                        self.session.add(t.PlanExternalPrice(plan_code=plan_code, system=system, external_id=external_id,
                                                             created_at=now, removed_at=None))
                self.session.flush()
        except IntegrityError:
            return False
        return True

    # ---- subscriptions -------------------------------------------------------------------------
    def lock_subscription(self, system: str, external_id: str) -> t.BillingSubscription | None:
        """The subscription's last applied state, locked: its events apply one after another."""
        return self.session.scalar(
            sa.select(t.BillingSubscription)
            .where(t.BillingSubscription.system == system, t.BillingSubscription.external_id == external_id)
            .with_for_update()
        )

    def insert_subscription(self, row: t.BillingSubscription) -> bool:
        """Record a subscription seen for the first time unless another transaction just did (False)."""
        return add_unless_taken(self.session, row)
