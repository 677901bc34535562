"""The decision rules of PRODUCT.md on the pure domain: the table of scenarios, what only the domain can set up, then properties."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.contract import contract_view
from service.domain.decision import decide
from service.domain.model import (
    REFUSING_REASONS,
    Acceptance,
    AcceptanceDecision,
    Catalog,
    ClientState,
    ClientStatus,
    ContractStatus,
    ContractVersion,
    Decision,
    GraceExtension,
    Membership,
    MembershipStatus,
    Money,
    Override,
    Plan,
    Policy,
    ReasonCode,
    Routing,
    Service,
    Sla,
)
from tests.scenarios import PLANS as SCENARIO_PLANS
from tests.scenarios import SCENARIOS, Scenario, outcome, plan_sla
from tests.scenarios import SERVICES as SCENARIO_SERVICES

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
SERVICES = {
    "triage": Service("triage", "Triage", False, 0),
    "advanced_support": Service("advanced_support", "Advanced", True, 0),
    "priority_support": Service("priority_support", "Priority", True, 1),
    "priority_onsite": Service("priority_onsite", "Priority on-site", True, 2),
    "ranked_no_contract": Service("ranked_no_contract", "Ranked", False, 1),
}
SILVER = Plan("silver", "Silver", 1, Money(4900, "USD"), Routing("normal", "silver"), Sla(120, 48))
GOLD = Plan("gold", "Gold", 2, Money(14900, "USD"), Routing("high", "priority"), Sla(30, 8))
RETIRED = Plan("platinum", "Platinum", 3, Money(99900, "USD"), Routing("urgent", "vip"), Sla(10, 2), active=False)
PLANS = {p.code: p for p in (SILVER, GOLD, RETIRED)}
V1 = ContractVersion("2025.1", grace_days=30, term_days=None, published_at=T0 - 365 * DAY)
V2 = ContractVersion("2026.1", grace_days=30, term_days=None, published_at=T0)


def catalog(*versions: ContractVersion, term_days: int | None = None) -> Catalog:
    if term_days is not None:
        versions = tuple(ContractVersion(v.version, v.grace_days, term_days, v.published_at) for v in versions)
    return Catalog(services=SERVICES, plans=PLANS, versions=versions, policy=Policy())


def client(**changes: Any) -> ClientState:
    base: dict[str, Any] = {"id": "cl_1", "name": "Acme", "status": ClientStatus.ACTIVE, "created_at": T0 - 400 * DAY}
    base.update(changes)
    return ClientState(**base)


def signed(version: str, at: datetime) -> Acceptance:
    return Acceptance(version, AcceptanceDecision.SIGNED, at)


def declined(version: str, at: datetime) -> Acceptance:
    return Acceptance(version, AcceptanceDecision.DECLINED, at)


def codes(decision: Decision) -> list[str]:
    return [r.code.value for r in decision.reasons]


# ---- the table of scenarios (tests/scenarios.py), also run through HTTP by tests/api/test_rules.py ----------
def at_day(days: float) -> datetime:
    return T0 + timedelta(days=days)


def scenario_world(s: Scenario) -> tuple[ClientState | None, Catalog]:
    versions = tuple(ContractVersion(v.version, v.grace_days, v.term_days, at_day(v.published)) for v in s.versions)
    plans = {code: Plan(code, name, rank, Money(price, "USD"), Routing(priority, queue), Sla(*plan_sla(rank)))
             for code, (name, rank, price, priority, queue) in SCENARIO_PLANS.items()}
    services = {code: Service(code, name, contract, rank) for code, (name, contract, rank) in SCENARIO_SERVICES.items()}
    cat = Catalog(services=services, plans=plans, versions=versions, policy=Policy())
    if not s.known:
        return None, cat
    current = max(s.versions, key=lambda v: v.published).version if s.versions else None
    state = ClientState(
        id="cl_1", name="Acme", status=ClientStatus.ARCHIVED if s.archived else ClientStatus.ACTIVE, created_at=T0,
        acceptances=tuple(Acceptance(a.version, AcceptanceDecision(a.decision), at_day(a.at)) for a in s.answers),
        membership=(Membership(s.membership.plan, MembershipStatus(s.membership.status),
                               None if s.membership.period_end is None else at_day(s.membership.period_end))
                    if s.membership else None),
        overrides=tuple(Override(o.service, T0, at_day(o.expires), revoked_at=T0 if o.revoked else None) for o in s.overrides),
        grace_extensions=(GraceExtension(current, at_day(s.grace_until)),) if s.grace_until is not None and current else (),
    )
    return state, cat


def answer_of(decision: Decision, state: ClientState | None) -> dict[str, object]:
    return {
        "allowed": decision.allowed, "reasons": codes(decision), "contract_status": decision.contract.status.value,
        "signed_version": decision.contract.signed_version, "current_version": decision.contract.current_version,
        "upsell": [p.code for p in decision.upsell], "plan": decision.membership.plan, "rank": decision.membership.rank,
        "routing": (decision.routing.priority, decision.routing.queue),
        "sla": (decision.sla.first_response_minutes, decision.sla.onsite_response_hours),
        "client": None if state is None else state.id,
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    state, cat = scenario_world(scenario)
    decision = decide(state, cat.services[scenario.service], cat, at_day(scenario.at))
    assert outcome(scenario.expect, answer_of(decision, state)) == scenario.expect


# ---- what the table cannot say through HTTP (a client older than the version, answers in the future) --------
def test_new_clients_get_their_own_grace_from_creation() -> None:
    late = client(created_at=T0 + 100 * DAY)
    view = contract_view(late, catalog(V2), T0 + 110 * DAY)
    assert view.status is ContractStatus.PENDING
    assert view.grace_until == T0 + 114 * DAY
    assert contract_view(late, catalog(V2), T0 + 114 * DAY).status is ContractStatus.UNSIGNED


def test_the_grace_deadline_of_an_old_client_is_the_versions() -> None:
    view = contract_view(client(), catalog(V2), T0 + 30 * DAY)
    assert view.status is ContractStatus.UNSIGNED
    assert view.grace_until == T0 + 30 * DAY


def test_a_grace_extension_of_an_older_version_does_not_carry_over() -> None:
    old = client(grace_extensions=(GraceExtension("2025.1", T0 + 60 * DAY),))
    assert contract_view(old, catalog(V1, V2), T0 + 45 * DAY).status is ContractStatus.UNSIGNED


def test_what_if_in_the_past_ignores_later_answers() -> None:
    c = client(acceptances=(signed("2026.1", T0 + 40 * DAY),))
    assert contract_view(c, catalog(V2), T0 + 35 * DAY).status is ContractStatus.UNSIGNED
    assert contract_view(c, catalog(V2), T0 + 41 * DAY).status is ContractStatus.SIGNED


def test_a_version_published_in_the_future_is_not_current_yet() -> None:
    future = ContractVersion("2027.1", 30, None, T0 + 100 * DAY)
    c = client(acceptances=(signed("2026.1", T0 + DAY),))
    assert contract_view(c, catalog(V2, future), T0 + 50 * DAY).current_version == "2026.1"
    assert contract_view(c, catalog(V2, future), T0 + 101 * DAY).status is ContractStatus.PENDING


def test_a_ranked_service_without_a_contract_is_refused_to_an_unknown_caller() -> None:
    assert not decide(None, SERVICES["ranked_no_contract"], catalog(V2), T0).allowed


def test_an_override_revoked_later_counts_until_its_revocation() -> None:
    no_grace = catalog(ContractVersion("2026.1", 0, None, T0))
    revoked = client(overrides=(Override("advanced_support", T0, T0 + DAY, revoked_at=T0 + timedelta(hours=2)),))
    assert codes(decide(revoked, SERVICES["advanced_support"], no_grace, T0 + timedelta(hours=1))) == ["OVERRIDE"]
    assert codes(decide(revoked, SERVICES["advanced_support"], no_grace, T0 + timedelta(hours=3))) == ["CONTRACT_UNSIGNED"]


def test_a_plan_off_sale_is_never_offered() -> None:
    d = decide(client(acceptances=(signed("2026.1", T0),)), SERVICES["priority_support"], catalog(V2), T0 + DAY)
    assert [p.code for p in d.upsell] == ["silver", "gold"]  # platinum, rank 3, is not on sale


def test_a_pending_warning_names_the_deadline() -> None:
    pending = decide(client(), SERVICES["advanced_support"], catalog(V2), T0 + DAY)
    assert codes(pending) == ["CONTRACT_PENDING"]
    assert pending.reasons[0].detail.endswith((T0 + 30 * DAY).isoformat())


def test_the_domain_imports_only_the_standard_library() -> None:
    import sys

    folder = Path(__file__).resolve().parents[2] / "service" / "domain"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name.startswith("service.domain") or top == "__future__", (
                    f"{path.name} imports {name}"
                )


# ---- properties ----------------------------------------------------------------------------------
times = st.integers(min_value=-400, max_value=800).map(lambda d: T0 + d * DAY)
answers = st.lists(
    st.builds(Acceptance, st.sampled_from(["2025.1", "2026.1"]), st.sampled_from(list(AcceptanceDecision)), times),
    max_size=4,
)
memberships = st.none() | st.builds(
    Membership, st.sampled_from(["silver", "gold", "platinum"]), st.sampled_from(list(MembershipStatus)), st.none() | times
)
overrides = st.lists(st.builds(Override, st.sampled_from(list(SERVICES)), times, times, st.none() | times), max_size=2)
clients = st.none() | st.builds(
    ClientState,
    id=st.just("cl_1"),
    name=st.just("Acme"),
    status=st.sampled_from(list(ClientStatus)),
    created_at=times,
    acceptances=answers.map(tuple),
    membership=memberships,
    overrides=overrides.map(tuple),
    grace_extensions=st.lists(st.builds(GraceExtension, st.sampled_from(["2025.1", "2026.1"]), times), max_size=1).map(tuple),
)
catalogs = st.sampled_from([catalog(), catalog(V2), catalog(V1, V2), catalog(V1, V2, term_days=90)])
services = st.sampled_from(list(SERVICES.values()))


@settings(max_examples=400, deadline=None)
@given(clients, services, catalogs, times)
def test_triage_is_always_allowed(state: ClientState | None, _service: Service, cat: Catalog, at: datetime) -> None:
    assert decide(state, SERVICES["triage"], cat, at).allowed


@settings(max_examples=400, deadline=None)
@given(clients, services, catalogs, times)
def test_a_refusal_always_names_a_refusing_reason_and_an_allowance_none(
    state: ClientState | None, service: Service, cat: Catalog, at: datetime
) -> None:
    d = decide(state, service, cat, at)
    refusing = [r for r in d.reasons if r.code in REFUSING_REASONS]
    if not d.allowed:
        assert refusing
    elif state is not None and state.status is ClientStatus.ACTIVE:
        assert not refusing
    if any(r.code is ReasonCode.TIER_REQUIRED for r in d.reasons):
        assert all(p.rank >= service.min_rank and p.active for p in d.upsell)
        assert [p.rank for p in d.upsell] == sorted(p.rank for p in d.upsell)


@settings(max_examples=300, deadline=None)
@given(clients.filter(lambda c: c is not None), catalogs, times, st.integers(min_value=1, max_value=10_000))
def test_waiting_never_turns_unsigned_into_signed(state: ClientState, cat: Catalog, at: datetime, days_later: int) -> None:
    before = contract_view(state, cat, at)
    if before.status is ContractStatus.UNSIGNED:
        later = contract_view(state, cat, at + days_later * DAY)
        # no new signature arrives by waiting, unless one was already on record with a later date
        future_signatures = [a for a in state.acceptances if a.signed_at > at and a.decision is AcceptanceDecision.SIGNED]
        if not future_signatures and later.status is ContractStatus.SIGNED:
            # The one way: a newer version came into force that the client had signed ahead of its
            # publication (a paper copy dated earlier, say), as PRODUCT.md counts any signature of V.
            assert later.current_version != before.current_version
            assert any(a.contract_version == later.current_version and a.decision is AcceptanceDecision.SIGNED
                       for a in state.acceptances)


@settings(max_examples=300, deadline=None)
@given(clients, services, catalogs, times)
def test_a_higher_rank_never_loses_a_service(state: ClientState | None, service: Service, cat: Catalog, at: datetime) -> None:
    if state is None or state.status is ClientStatus.ARCHIVED:
        return
    from dataclasses import replace

    silver = replace(state, membership=Membership("silver", MembershipStatus.ACTIVE, None))
    gold = replace(state, membership=Membership("gold", MembershipStatus.ACTIVE, None))
    if decide(silver, service, cat, at).allowed:
        assert decide(gold, service, cat, at).allowed
