"""Each SQL form of a rule (service/storage/rules_sql.py) agrees with its domain function on
generated histories, on SQLite and PostgreSQL: membership grants, contract status (per row and
counted), grace deadline, and the queries built on them (search by plan, the list to chase)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from service.domain import model as dm
from service.domain.contract import contract_view, current_version, grace_deadline
from service.domain.decision import membership_grants
from service.storage import rules_sql
from service.storage import tables as t
from service.storage.database import Database
from service.storage.sql import SqlRepository

pytestmark = pytest.mark.storage

BASE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PLANS = {"silver": 1, "gold": 2}


def moments() -> st.SearchStrategy[datetime]:
    """Moments around BASE from a small set of parts, so that ties and exact edges come up often."""
    return st.builds(
        lambda days, seconds, micros: BASE + timedelta(days=days, seconds=seconds, microseconds=micros),
        st.integers(-90, 90), st.sampled_from([0, 1, -1, 3600]), st.sampled_from([0, 1, 999_999]),
    )


@dataclass
class History:
    policy: dm.Policy
    versions: list[dm.ContractVersion]  # published or draft
    clients: list[dm.ClientState]
    at: datetime


@st.composite
def histories(draw: st.DrawFn) -> History:
    at = draw(moments())
    policy = dm.Policy(new_client_grace_days=draw(st.integers(0, 30)), dunning_grace_days=draw(st.integers(0, 14)))
    published = draw(st.lists(st.one_of(st.none(), moments()), min_size=0, max_size=3, unique=True))
    versions = [
        dm.ContractVersion(f"v{n}", draw(st.integers(0, 60)), draw(st.one_of(st.none(), st.integers(1, 120))), when)
        for n, when in enumerate(published)
    ]
    # Times near the ones that matter (the moment asked about, publications, each other): the rules'
    # edges (at == end, a refusal and a signature at one moment, end of term) come up often.
    anchors = [at, *(v.published_at for v in versions if v.published_at is not None)]
    spans = [d for v in versions for d in (v.grace_days, v.term_days) if d is not None]
    pool: list[datetime] = []

    # The exact moments at which a rule flips at `at`: end of term, of grace, of dunning.
    edges = [at - timedelta(days=d) for d in (0, policy.new_client_grace_days, policy.dunning_grace_days, *spans)]

    def near() -> datetime:
        pick = draw(st.integers(0, 3))
        if pool and pick == 0:
            return draw(st.sampled_from(pool))
        if pick == 1:
            value = draw(st.sampled_from(edges))
        elif pick == 2:
            value = draw(moments())
        else:
            days = draw(st.sampled_from([0, 0, 1, 30, policy.new_client_grace_days, policy.dunning_grace_days, *spans]))
            value = draw(st.sampled_from(anchors)) - timedelta(days=days, microseconds=draw(st.sampled_from([0, 1, -1])))
        pool.append(value)
        return value

    labels = [v.version for v in versions]
    current = current_version(tuple(v for v in versions if v.published_at is not None), at)
    if current is not None:
        labels += [current.version] * 3  # answers to the version in force decide the most
    clients = []
    for number in range(draw(st.integers(1, 4))):
        acceptances: list[dm.Acceptance] = []
        extensions: list[dm.GraceExtension] = []
        if labels:
            for _ in range(draw(st.integers(0, 4))):
                acceptances.append(dm.Acceptance(
                    draw(st.sampled_from(labels)), draw(st.sampled_from(list(dm.AcceptanceDecision))), near()))
            for _ in range(draw(st.integers(0, 2))):
                extensions.append(dm.GraceExtension(draw(st.sampled_from(labels)), near()))
        membership = None
        if draw(st.booleans()):
            end = near() if draw(st.booleans()) else None
            if end is not None and draw(st.booleans()):
                end += timedelta(days=policy.dunning_grace_days)  # the past_due edge
            membership = dm.Membership(draw(st.sampled_from(list(PLANS))), draw(st.sampled_from(list(dm.MembershipStatus))), end)
        clients.append(dm.ClientState(
            id=f"cl_{number}", name=f"Client {number}", status=draw(st.sampled_from(list(dm.ClientStatus))),
            created_at=near(), acceptances=tuple(acceptances), membership=membership, grace_extensions=tuple(extensions),
        ))
    return History(policy, versions, clients, at)


def catalog_of(history: History) -> dm.Catalog:
    plans = {
        code: dm.Plan(code, code.title(), rank, dm.Money(100 * rank, "USD"), dm.Routing("normal", code), dm.Sla(1, 1))
        for code, rank in PLANS.items()
    }
    published = tuple(v for v in history.versions if v.published_at is not None)
    return dm.Catalog(services={}, plans=plans, versions=published, policy=history.policy)


def store(session: Session, history: History) -> None:
    when = BASE - timedelta(days=1000)
    for code, rank in PLANS.items():
        session.add(t.Plan(code=code, name=code, rank=rank, price_amount_minor=100 * rank, price_currency="USD",
                           routing_priority="normal", routing_queue=code, first_response_minutes=1,
                           onsite_response_hours=1, active=True, updated_at=when))
    for v in history.versions:
        session.add(t.ContractVersion(version=v.version, title=v.version, document_url="https://example.com",
                                      document_sha256="0" * 64, grace_days=v.grace_days, term_days=v.term_days,
                                      created_at=when, published_at=v.published_at))
    session.flush()
    for c in history.clients:
        session.add(t.Client(id=c.id, name=c.name, status=c.status.value, created_at=c.created_at, updated_at=c.created_at))
    session.flush()
    for c in history.clients:
        for n, a in enumerate(c.acceptances):
            session.add(t.Acceptance(id=f"{c.id}_a{n}", client_id=c.id, contract_version=a.contract_version,
                                     decision=a.decision.value, method="paper", signed_at=a.signed_at, actor="test",
                                     created_at=when))
        for g in c.grace_extensions:
            session.add(t.GraceExtension(client_id=c.id, contract_version=g.contract_version, until=g.until, actor="test",
                                         created_at=when))
        if c.membership is not None:
            # A superseded row as well: history must never count.
            session.add(t.Membership(id=f"{c.id}_old", client_id=c.id, plan_code="gold", status="active",
                                     current_period_end=None, created_at=when, superseded_at=when, actor="test"))
            session.add(t.Membership(id=f"{c.id}_m", client_id=c.id, plan_code=c.membership.plan_code,
                                     status=c.membership.status.value, current_period_end=c.membership.current_period_end,
                                     created_at=when, superseded_at=None, actor="test"))
    session.flush()


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database.connect(db_url, pool_size=2)
    yield db
    db.dispose()


@contextmanager
def scenario(database: Database, history: History) -> Iterator[tuple[Session, dm.Catalog]]:
    with database.writer() as session:
        try:
            store(session, history)
            yield session, catalog_of(history)
        finally:
            session.rollback()


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(history=histories())
def test_membership_grants_matches_the_domain(database: Database, history: History) -> None:
    with scenario(database, history) as (session, catalog):
        m = t.Membership
        query = sa.select(m.client_id, rules_sql.membership_grants(m, history.policy, history.at)).where(m.superseded_at.is_(None))
        in_sql = {cid: bool(grants) for cid, grants in session.execute(query)}
        expected = {c.id: membership_grants(c.membership, catalog, history.at) is not None
                    for c in history.clients if c.membership is not None}
        assert in_sql == expected


@PROPERTY
@given(history=histories())
def test_contract_status_matches_the_domain(database: Database, history: History) -> None:
    with scenario(database, history) as (session, catalog):
        query = sa.select(t.Client.id, rules_sql.contract_status(t.Client, catalog, history.at))
        in_sql = {row[0]: row[1] for row in session.execute(query)}
        expected = {c.id: contract_view(c, catalog, history.at).status.value for c in history.clients}
        assert in_sql == expected


@PROPERTY
@given(history=histories())
def test_contract_status_counts_match_the_domain(database: Database, history: History) -> None:
    with scenario(database, history) as (session, catalog):
        query = rules_sql.contract_status_counts(catalog, history.at, t.Client.status == "active")
        in_sql = {status: n for status, n in session.execute(query) if n}
        expected = Counter(contract_view(c, catalog, history.at).status.value
                           for c in history.clients if c.status is dm.ClientStatus.ACTIVE)
        assert in_sql == dict(expected)


@PROPERTY
@given(history=histories())
def test_grace_deadline_matches_the_domain(database: Database, history: History) -> None:
    with scenario(database, history) as (session, catalog):
        for version in catalog.versions:
            query = sa.select(t.Client.id, rules_sql.grace_deadline(t.Client, version, history.policy))
            in_sql = {row[0]: row[1] for row in session.execute(query)}
            expected = {c.id: grace_deadline(c, version, history.policy) for c in history.clients}
            assert in_sql == expected


@PROPERTY
@given(history=histories(), plan=st.sampled_from(list(PLANS)))
def test_search_by_plan_lists_the_members_the_check_sees(database: Database, history: History, plan: str) -> None:
    with scenario(database, history) as (session, catalog):
        rows = SqlRepository(session).search_clients(
            catalog=catalog, now=history.at, q=None, identifier_matches=[], contract_statuses=None, plan=plan,
            status=None, limit=100, after_id=None,
        )
        granted = {c.id for c in history.clients
                   if (p := membership_grants(c.membership, catalog, history.at)) is not None and p.code == plan}
        assert {row.id for row, _status in rows} == granted
        assert all(status == contract_view(_state(history, row.id), catalog, history.at).status.value for row, status in rows)


@PROPERTY
@given(history=histories(), before=st.one_of(st.none(), moments()))
def test_the_list_to_chase_matches_the_domain(database: Database, history: History, before: datetime | None) -> None:
    wanted = ["pending", "unsigned", "declined", "expired"]
    with scenario(database, history) as (session, catalog):
        rows = SqlRepository(session).clients_to_chase(
            catalog=catalog, now=history.at, contract_statuses=wanted, deadline_before=before, deadline_after=None,
            limit=100, after=None,
        )
        version = current_version(catalog.versions, history.at)
        expected: dict[str, Any] = {}
        for c in history.clients:
            view = contract_view(c, catalog, history.at)
            if version is None or c.status is not dm.ClientStatus.ACTIVE or view.status.value not in wanted:
                continue
            if before is not None and not (view.grace_until is not None and view.grace_until < before):
                continue
            expected[c.id] = (view.status.value, view.grace_until)
        assert {row.id: (status, deadline) for row, status, _ext, deadline in rows} == expected
        assert [r[3] for r in rows] == sorted(r[3] for r in rows)


def _state(history: History, client_id: str) -> dm.ClientState:
    return next(c for c in history.clients if c.id == client_id)
