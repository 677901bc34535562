"""A client's SQL: the row, its identifiers, its state (the hot read), search and the list of clients to chase."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from service.domain import model as dm
from service.domain.contract import current_version
from service.storage import rules_sql
from service.storage import tables as t
from service.storage.session_repo import SessionRepository
from service.storage.state_read import OWNER_QUERY, fetch_client_state


class ClientSql(SessionRepository):
    # ---- clients -------------------------------------------------------------------------------
    def get_client(self, client_id: str) -> t.Client | None:
        return self.session.get(t.Client, client_id)

    def live_identifiers(self, client_ids: Sequence[str]) -> Sequence[t.ClientIdentifier]:
        if not client_ids:
            return []
        return self.session.scalars(
            sa.select(t.ClientIdentifier)
            .where(t.ClientIdentifier.client_id.in_(client_ids), t.ClientIdentifier.removed_at.is_(None),
                   t.ClientIdentifier.contact_id.is_(None))  # the client's own; contacts' are listed with them
            .order_by(t.ClientIdentifier.id)
        ).all()

    def identifier_owner(self, kind: str, system: str, value: str) -> str | None:
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.flush()
        owner: str | None = self.session.connection().execute(
            OWNER_QUERY, {"kind": kind, "system": system, "value": value}
        ).scalar()
        return owner

    def owners_of(self, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
        """Owners of many (kind, system, value) identifiers at once (bulk import)."""
        found: dict[tuple[str, str, str], str] = {}
        by_kind: dict[tuple[str, str], list[str]] = {}
        for kind, system, value in keys:
            by_kind.setdefault((kind, system), []).append(value)
        for (kind, system), values in by_kind.items():
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                rows = self.session.execute(
                    sa.select(t.ClientIdentifier.value, t.ClientIdentifier.client_id).where(
                        t.ClientIdentifier.kind == kind,
                        t.ClientIdentifier.system == system,
                        t.ClientIdentifier.value.in_(chunk),
                        t.ClientIdentifier.removed_at.is_(None),
                    )
                )
                for value, client_id in rows:
                    found[(kind, system, value)] = client_id
        return found

    def clients_by_ids(self, client_ids: Sequence[str]) -> dict[str, t.Client]:
        result: dict[str, t.Client] = {}
        ids = list(client_ids)
        for start in range(0, len(ids), 500):
            for row in self.session.scalars(sa.select(t.Client).where(t.Client.id.in_(ids[start : start + 500]))):
                result[row.id] = row
        return result

    def remove_identifier(self, row: t.ClientIdentifier, at: datetime) -> None:
        row.removed_at = at
        self.session.flush()

    def load_client_state(self, client_id: str) -> dm.ClientState | None:
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.flush()  # a Core query sees only what the database holds
        return fetch_client_state(self.session.connection(), client_id)

    def contract_status_expr(self, catalog: dm.Catalog, now: datetime) -> sa.ColumnElement[str]:
        """The client's contract status at `now`, per row (rules_sql.contract_status)."""
        return rules_sql.contract_status(t.Client, catalog, now)

    def search_clients(
        self,
        *,
        catalog: dm.Catalog,
        now: datetime,
        q: str | None,
        identifier_matches: Sequence[tuple[str, str, str]],
        contract_statuses: Sequence[str] | None,
        plan: str | None,
        status: str | None,
        limit: int,
        after_id: str | None,
    ) -> list[tuple[t.Client, str]]:
        status_expr = self.contract_status_expr(catalog, now).label("contract_status")
        query = sa.select(t.Client, status_expr)
        if q:
            conditions: list[sa.ColumnElement[bool]] = [sa.func.lower(t.Client.name).contains(q.lower(), autoescape=True)]
            i = sa.orm.aliased(t.ClientIdentifier)
            like = sa.exists().where(
                i.client_id == t.Client.id,
                i.removed_at.is_(None),
                sa.func.lower(i.value).contains(q.lower(), autoescape=True),
            )
            conditions.append(like)
            for kind, system, value in identifier_matches:
                j = sa.orm.aliased(t.ClientIdentifier)
                conditions.append(
                    sa.exists().where(
                        j.client_id == t.Client.id, j.removed_at.is_(None), j.kind == kind, j.system == system, j.value == value
                    )
                )
            query = query.where(sa.or_(*conditions))
        if status:
            query = query.where(t.Client.status == status)
        if plan:
            # A member of `plan` is one whose live membership grants its rank now, as the check says.
            query = query.where(rules_sql.live_membership_granting(t.Client, catalog.policy, now, plan=plan))
        if contract_statuses:
            query = query.where(self.contract_status_expr(catalog, now).in_(list(contract_statuses)))
        if after_id:
            query = query.where(t.Client.id > after_id)
        query = query.order_by(t.Client.id).limit(limit)
        return [(row[0], row[1]) for row in self.session.execute(query)]

    def clients_to_chase(
        self,
        *,
        catalog: dm.Catalog,
        now: datetime,
        contract_statuses: Sequence[str],
        deadline_before: datetime | None,
        deadline_after: datetime | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[tuple[t.Client, str, datetime | None, datetime]]:
        """Active clients in the given contract statuses, soonest grace deadline first.

        Rows are (client, contract status, latest grace extension of the current version or None,
        SQL deadline used for ordering and as the page cursor).
        """
        version = current_version(catalog.versions, now)
        if version is None or version.published_at is None or not contract_statuses:
            return []
        status_expr = self.contract_status_expr(catalog, now)
        deadline = rules_sql.grace_deadline(t.Client, version, catalog.policy).label("grace_deadline")
        extension = rules_sql.latest_extension(t.Client, version).label("extension")
        query = sa.select(t.Client, status_expr.label("contract_status"), extension, deadline).where(
            t.Client.status == "active", status_expr.in_(list(contract_statuses))
        )
        if deadline_before is not None:
            query = query.where(deadline < deadline_before)
        if deadline_after is not None:
            query = query.where(deadline >= deadline_after)
        if after is not None:
            query = query.where(sa.or_(deadline > after[0], sa.and_(deadline == after[0], t.Client.id > after[1])))
        query = query.order_by(deadline, t.Client.id).limit(limit)
        return [(r[0], r[1], r[2], r[3]) for r in self.session.execute(query)]
