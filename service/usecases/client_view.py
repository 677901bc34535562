"""A client as the API and the web page show it: its state, then its contract view, then its membership view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.domain import model as dm
from service.domain.contract import contract_view
from service.domain.decision import membership_grants, membership_view
from service.errors import NotFound
from service.storage.sql import SqlRepository


@dataclass(frozen=True, slots=True)
class ClientView:
    state: dm.ClientState
    contract: dm.ContractView
    membership: dm.MembershipView


def membership_now(membership: dm.Membership | None, catalog: dm.Catalog, now: datetime) -> dm.MembershipView:
    """The membership as it stands at `now`: the plan it grants (rank 0 when it grants none)."""
    return membership_view(membership, membership_grants(membership, catalog, now))


def client_view(session: Session, catalog: dm.Catalog, client_id: str, now: datetime) -> ClientView:
    """The client's contract and membership at `now`. Raises NotFound for an unknown client."""
    state = SqlRepository(session).load_client_state(client_id)
    if state is None:
        raise NotFound("no such client")
    return ClientView(state, contract_view(state, catalog, now), membership_now(state.membership, catalog, now))


def membership_views(
    session: Session, catalog: dm.Catalog, client_ids: Sequence[str], now: datetime
) -> dict[str, dm.MembershipView]:
    """Each client's membership view at `now` (a search page: one query for all their memberships)."""
    rows = SqlRepository(session).current_memberships(client_ids)
    views: dict[str, dm.MembershipView] = {}
    for client_id in client_ids:
        row = rows.get(client_id)
        membership = dm.Membership(row.plan_code, dm.MembershipStatus(row.status), row.current_period_end) if row else None
        views[client_id] = membership_now(membership, catalog, now)
    return views
