"""The decision rules of PRODUCT.md on the pure domain: one test per rule, then properties."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


# ---- contract status table -----------------------------------------------------------------------
def test_not_configured_when_no_version_is_published() -> None:
    view = contract_view(client(), catalog(), T0)
    assert view.status is ContractStatus.NOT_CONFIGURED


def test_signed_current_version() -> None:
    assert contract_view(client(acceptances=(signed("2026.1", T0 + DAY),)), catalog(V2), T0 + 2 * DAY).status is ContractStatus.SIGNED


def test_pending_before_and_unsigned_after_the_grace_deadline() -> None:
    c = client()
    assert contract_view(c, catalog(V2), T0 + 29 * DAY).status is ContractStatus.PENDING
    view = contract_view(c, catalog(V2), T0 + 30 * DAY)
    assert view.status is ContractStatus.UNSIGNED
    assert view.grace_until == T0 + 30 * DAY


def test_new_clients_get_their_own_grace_from_creation() -> None:
    late = client(created_at=T0 + 100 * DAY)
    view = contract_view(late, catalog(V2), T0 + 110 * DAY)
    assert view.status is ContractStatus.PENDING
    assert view.grace_until == T0 + 114 * DAY
    assert contract_view(late, catalog(V2), T0 + 114 * DAY).status is ContractStatus.UNSIGNED


def test_grace_extension_for_one_client() -> None:
    c = client(grace_extensions=(GraceExtension("2026.1", T0 + 60 * DAY),))
    assert contract_view(c, catalog(V2), T0 + 45 * DAY).status is ContractStatus.PENDING
    assert contract_view(c, catalog(V2), T0 + 60 * DAY).status is ContractStatus.UNSIGNED
    # an extension of an older version does not carry over
    old = client(grace_extensions=(GraceExtension("2025.1", T0 + 60 * DAY),))
    assert contract_view(old, catalog(V1, V2), T0 + 45 * DAY).status is ContractStatus.UNSIGNED


def test_signed_an_older_version_is_pending_then_unsigned_and_says_which_version() -> None:
    c = client(acceptances=(signed("2025.1", T0 - 300 * DAY),))
    pending = contract_view(c, catalog(V1, V2), T0 + DAY)
    assert pending.status is ContractStatus.PENDING and pending.signed_version == "2025.1"
    unsigned = contract_view(c, catalog(V1, V2), T0 + 31 * DAY)
    assert unsigned.status is ContractStatus.UNSIGNED
    assert unsigned.signed_version == "2025.1" and unsigned.current_version == "2026.1"


def test_declined_and_a_later_signature_wins() -> None:
    c = client(acceptances=(declined("2026.1", T0 + DAY),))
    assert contract_view(c, catalog(V2), T0 + 2 * DAY).status is ContractStatus.DECLINED
    c2 = client(acceptances=(declined("2026.1", T0 + DAY), signed("2026.1", T0 + 2 * DAY)))
    assert contract_view(c2, catalog(V2), T0 + 3 * DAY).status is ContractStatus.SIGNED
    # declining after signing is the latest answer
    c3 = client(acceptances=(signed("2026.1", T0 + DAY), declined("2026.1", T0 + 2 * DAY)))
    assert contract_view(c3, catalog(V2), T0 + 3 * DAY).status is ContractStatus.DECLINED


def test_expired_after_the_term() -> None:
    c = client(acceptances=(signed("2026.1", T0 + DAY),))
    cat = catalog(V2, term_days=365)
    assert contract_view(c, cat, T0 + 365 * DAY).status is ContractStatus.SIGNED
    assert contract_view(c, cat, T0 + 366 * DAY).status is ContractStatus.EXPIRED


def test_what_if_in_the_past_ignores_later_answers() -> None:
    c = client(acceptances=(signed("2026.1", T0 + 40 * DAY),))
    assert contract_view(c, catalog(V2), T0 + 35 * DAY).status is ContractStatus.UNSIGNED
    assert contract_view(c, catalog(V2), T0 + 41 * DAY).status is ContractStatus.SIGNED


def test_a_version_published_in_the_future_is_not_current_yet() -> None:
    future = ContractVersion("2027.1", 30, None, T0 + 100 * DAY)
    c = client(acceptances=(signed("2026.1", T0 + DAY),))
    assert contract_view(c, catalog(V2, future), T0 + 50 * DAY).current_version == "2026.1"
    assert contract_view(c, catalog(V2, future), T0 + 101 * DAY).status is ContractStatus.PENDING


# ---- the decision --------------------------------------------------------------------------------
def test_unknown_client_gets_only_open_services() -> None:
    cat = catalog(V2)
    assert decide(None, SERVICES["triage"], cat, T0).allowed
    refused = decide(None, SERVICES["advanced_support"], cat, T0)
    assert not refused.allowed and codes(refused) == ["UNKNOWN_CLIENT"]
    assert not decide(None, SERVICES["ranked_no_contract"], cat, T0).allowed


def test_archived_client_is_treated_like_an_unknown_one() -> None:
    c = client(status=ClientStatus.ARCHIVED, acceptances=(signed("2026.1", T0),),
               membership=Membership("gold", MembershipStatus.ACTIVE, T0 + 30 * DAY))
    d = decide(c, SERVICES["advanced_support"], catalog(V2), T0 + DAY)
    assert not d.allowed and codes(d) == ["CLIENT_INACTIVE"]
    assert decide(c, SERVICES["triage"], catalog(V2), T0 + DAY).allowed


def test_override_lets_through_until_it_expires_or_is_revoked() -> None:
    o = Override("advanced_support", T0, T0 + DAY)
    no_grace = catalog(ContractVersion("2026.1", 0, None, T0))
    c = client(overrides=(o,))
    assert codes(decide(c, SERVICES["advanced_support"], no_grace, T0 + timedelta(hours=1))) == ["OVERRIDE"]
    assert codes(decide(c, SERVICES["advanced_support"], no_grace, T0 + 2 * DAY)) == ["CONTRACT_UNSIGNED"]
    revoked = client(overrides=(Override("advanced_support", T0, T0 + DAY, revoked_at=T0 + timedelta(hours=2)),))
    d = decide(revoked, SERVICES["advanced_support"], catalog(ContractVersion("2026.1", 0, None, T0)), T0 + timedelta(hours=3))
    assert codes(d) == ["CONTRACT_UNSIGNED"]


def test_override_is_per_service() -> None:
    c = client(overrides=(Override("priority_support", T0, T0 + DAY),))
    cat = catalog(ContractVersion("2026.1", 0, None, T0))
    assert codes(decide(c, SERVICES["advanced_support"], cat, T0 + timedelta(hours=1))) == ["CONTRACT_UNSIGNED"]
    assert codes(decide(c, SERVICES["priority_support"], cat, T0 + timedelta(hours=1))) == ["OVERRIDE"]


def test_contract_refusals() -> None:
    cat = catalog(V2, term_days=10)
    unsigned = decide(client(), SERVICES["advanced_support"], cat, T0 + 31 * DAY)
    assert not unsigned.allowed and codes(unsigned) == ["CONTRACT_UNSIGNED"]
    dec = decide(client(acceptances=(declined("2026.1", T0),)), SERVICES["advanced_support"], cat, T0 + DAY)
    assert codes(dec) == ["CONTRACT_DECLINED"]
    exp = decide(client(acceptances=(signed("2026.1", T0),)), SERVICES["advanced_support"], cat, T0 + 11 * DAY)
    assert codes(exp) == ["CONTRACT_EXPIRED"]
    # triage never needs the contract
    assert decide(client(acceptances=(declined("2026.1", T0),)), SERVICES["triage"], cat, T0 + DAY).allowed


def test_tier_required_lists_active_plans_lowest_rank_first() -> None:
    c = client(acceptances=(signed("2026.1", T0),))
    d = decide(c, SERVICES["priority_support"], catalog(V2), T0 + DAY)
    assert not d.allowed and codes(d) == ["TIER_REQUIRED"]
    assert [p.code for p in d.upsell] == ["silver", "gold"]  # platinum is not on sale
    d2 = decide(c, SERVICES["priority_onsite"], catalog(V2), T0 + DAY)
    assert [p.code for p in d2.upsell] == ["gold"]


def test_member_gets_plan_routing_and_sla() -> None:
    c = client(acceptances=(signed("2026.1", T0),), membership=Membership("gold", MembershipStatus.ACTIVE, T0 + 30 * DAY))
    d = decide(c, SERVICES["priority_onsite"], catalog(V2), T0 + DAY)
    assert d.allowed and codes(d) == []
    assert d.routing == GOLD.routing and d.sla == GOLD.sla and d.membership.rank == 2


def test_membership_statuses_and_period_end() -> None:
    cat = catalog(V2)
    signed_ = (signed("2026.1", T0),)
    at = T0 + DAY
    for status, rank in ((MembershipStatus.ACTIVE, 1), (MembershipStatus.TRIALING, 1), (MembershipStatus.CANCELED, 0),
                         (MembershipStatus.EXPIRED, 0)):
        c = client(acceptances=signed_, membership=Membership("silver", status, T0 + 10 * DAY))
        assert decide(c, SERVICES["priority_support"], cat, at).membership.rank == rank
    ended = client(acceptances=signed_, membership=Membership("silver", MembershipStatus.ACTIVE, T0))
    assert decide(ended, SERVICES["priority_support"], cat, at).membership.rank == 0


def test_past_due_keeps_rank_through_dunning_grace_with_a_warning() -> None:
    c = client(acceptances=(signed("2026.1", T0),), membership=Membership("silver", MembershipStatus.PAST_DUE, T0 + DAY))
    inside = decide(c, SERVICES["priority_support"], catalog(V2), T0 + 7 * DAY)
    assert inside.allowed and codes(inside) == ["MEMBERSHIP_PAST_DUE"]
    after = decide(c, SERVICES["priority_support"], catalog(V2), T0 + 8 * DAY)
    assert not after.allowed and codes(after) == ["TIER_REQUIRED"]


def test_warnings_ride_along() -> None:
    pending = decide(client(), SERVICES["advanced_support"], catalog(V2), T0 + DAY)
    assert pending.allowed and codes(pending) == ["CONTRACT_PENDING"]
    assert pending.reasons[0].detail.endswith((T0 + 30 * DAY).isoformat())
    nothing = decide(client(), SERVICES["advanced_support"], catalog(), T0)
    assert nothing.allowed and codes(nothing) == ["CONTRACT_NOT_CONFIGURED"]


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
    state: ClientState | None, service: Service, cat: Catalog, at: datetime,
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
