"""Authorized contacts and per-channel ranks on the pure domain (issue 18): examples, then properties
over every combination of restricted/unrestricted x caller (nobody named, a stranger, a contact of
any roles) x service (requiring the contract or not, any rank) x the rest of the client's state."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.contacts import approvers_of, contact_refusal, identify, rank_needed
from service.domain.decision import decide
from service.domain.model import (
    Caller,
    Channel,
    ClientState,
    ClientStatus,
    Contact,
    ContactRole,
    Membership,
    MembershipStatus,
    Override,
    ReasonCode,
    Service,
)
from tests.unit.test_decision import DAY, T0, V2, catalog, client, codes, signed

ADA = Contact("ct_ada", "Ada", frozenset({"requester", "approver"}), "ada@acme.com", "+12125550199")
BOB = Contact("ct_bob", "bob", frozenset({"approver"}), None, "+12125550177")
CAROL = Contact("ct_carol", "Carol", frozenset({"billing"}), "carol@acme.com", None)
ADVANCED = Service("advanced_support", "Advanced", True, 0)
TRIAGE = Service("triage", "Triage", False, 0)
ROLES = [r.value for r in ContactRole]
CHANNELS = [c.value for c in Channel]


def acme(restricted: bool = True, **changes: Any) -> ClientState:
    return client(contacts=(ADA, BOB, CAROL), restrict_to_contacts=restricted,
                  acceptances=(signed("2026.1", T0 + DAY),), **changes)


# ---- examples ------------------------------------------------------------------------------------
def test_a_stranger_is_refused_contract_services_with_the_approvers_but_gets_triage() -> None:
    state = acme()
    stranger = Caller(identified=True)
    refused = decide(state, ADVANCED, catalog(V2), T0 + 2 * DAY, caller=stranger)
    assert not refused.allowed and codes(refused) == ["CONTACT_NOT_AUTHORIZED"]
    assert [a.name for a in refused.approvers] == ["Ada", "bob"]  # by name, case-insensitively
    assert decide(state, TRIAGE, catalog(V2), T0 + 2 * DAY, caller=stranger).allowed


def test_an_override_does_not_let_a_stranger_through() -> None:
    state = acme(overrides=(Override("advanced_support", T0, T0 + 10 * DAY),))
    refused = decide(state, ADVANCED, catalog(V2), T0 + 2 * DAY, caller=Caller(identified=True))
    assert codes(refused) == ["CONTACT_NOT_AUTHORIZED"]


def test_identify_names_the_contact_or_the_stranger() -> None:
    state = acme()
    assert identify(state, "phone", ("phone", "+12125550199"), None) == (Caller(True, ADA), "contact")
    assert identify(state, "phone", ("phone", "+12125550142"), None) == (Caller(False), "phone")
    assert identify(state, "domain", ("email", "dave@acme.com"), None) == (Caller(True), "domain")
    assert identify(state, "email", ("email", "office@acme.com"), ("email", "carol@acme.com")) == (
        Caller(True, CAROL), "email")
    assert identify(state, "id", ("id", "cl_1"), ("phone", "+33100000000")) == (Caller(True), "id")


def test_a_channel_of_its_own_rank_is_named_in_the_refusal() -> None:
    phone_gold = Service("priority_support", "Priority", True, 1, (("phone", 2),))
    silver = acme(restricted=False, membership=Membership("silver", MembershipStatus.ACTIVE, None))
    by_phone = decide(silver, phone_gold, catalog(V2), T0 + 2 * DAY, channel="phone")
    assert codes(by_phone) == ["TIER_REQUIRED"] and "channel phone" in by_phone.reasons[0].detail
    assert [p.code for p in by_phone.upsell] == ["gold"]
    assert decide(silver, phone_gold, catalog(V2), T0 + 2 * DAY, channel="email").allowed
    assert decide(silver, phone_gold, catalog(V2), T0 + 2 * DAY).allowed
    # A channel that lowers the rank opens the service through it.
    email_free = Service("priority_support", "Priority", True, 2, (("email", 0),))
    assert decide(silver, email_free, catalog(V2), T0 + 2 * DAY, channel="email").allowed
    assert not decide(silver, email_free, catalog(V2), T0 + 2 * DAY, channel="chat").allowed


# ---- properties ----------------------------------------------------------------------------------
contacts_st = st.lists(
    st.builds(lambda i, name, roles: Contact(f"ct_{i}", name, frozenset(roles)),
              st.integers(0, 10_000), st.sampled_from(["Ada", "bob", "Carol", "dan"]), st.sets(st.sampled_from(ROLES))),
    max_size=4, unique_by=lambda c: c.id,
)
callers_st = st.one_of(
    st.none(),
    st.just(Caller(identified=False)),
    st.just(Caller(identified=True)),  # a person the client has not named
    st.builds(lambda roles: Caller(True, Contact("ct_x", "Xavier", frozenset(roles))), st.sets(st.sampled_from(ROLES))),
)
services_st = st.builds(
    lambda contract, rank, ranks: Service("svc", "Service", contract, rank, tuple(sorted(ranks.items()))),
    st.booleans(), st.integers(0, 3), st.dictionaries(st.sampled_from(CHANNELS), st.integers(0, 3), max_size=3),
)
states_st = st.builds(
    lambda restricted, contacts, archived, acceptances, plan, override: client(
        restrict_to_contacts=restricted, contacts=tuple(contacts),
        status=ClientStatus.ARCHIVED if archived else ClientStatus.ACTIVE,
        acceptances=acceptances,
        membership=Membership(plan, MembershipStatus.ACTIVE, None) if plan else None,
        overrides=(Override("svc", T0, T0 + 100 * DAY),) if override else (),
    ),
    st.booleans(), contacts_st, st.booleans(),
    st.sampled_from([(), (signed("2026.1", T0 + DAY),)]),
    st.sampled_from([None, "silver", "gold"]), st.booleans(),
)
moments_st = st.sampled_from([T0 + 2 * DAY, T0 + 60 * DAY])  # in grace, after it


@settings(max_examples=400, deadline=None)
@given(states_st, services_st, callers_st, st.none() | st.sampled_from(CHANNELS), moments_st)
def test_the_caller_only_ever_adds_contact_not_authorized(
    state: ClientState, service: Service, caller: Caller | None, channel: str | None, at: datetime,
) -> None:
    cat = catalog(V2)
    with_caller = decide(state, service, cat, at, channel=channel, caller=caller)
    without = decide(state, service, cat, at, channel=channel)
    unauthorized = (
        state.status is ClientStatus.ACTIVE
        and state.restrict_to_contacts
        and service.requires_contract
        and caller is not None
        and caller.identified
        and (caller.contact is None or "requester" not in caller.contact.roles)
    )
    if unauthorized:
        assert not with_caller.allowed and codes(with_caller) == [ReasonCode.CONTACT_NOT_AUTHORIZED.value]
        assert with_caller.approvers == approvers_of(state)
        assert all("approver" in a.roles for a in with_caller.approvers)
        assert contact_refusal(state, service, caller) is not None
    else:
        assert with_caller == without  # a named contact with the role, or no restriction: nothing changes
        assert with_caller.approvers == ()
    if not service.requires_contract and rank_needed(service, channel) == 0:
        assert with_caller.allowed  # triage stays open to anyone, restricted or not


@settings(max_examples=300, deadline=None)
@given(states_st, services_st, st.none() | st.sampled_from(CHANNELS), moments_st)
def test_a_channel_needs_exactly_its_own_rank(state: ClientState, service: Service, channel: str | None, at: datetime) -> None:
    cat = catalog(V2)
    through = decide(state, service, cat, at, channel=channel)
    plain = decide(state, replace(service, min_rank=rank_needed(service, channel), channel_min_rank=()), cat, at)
    assert (through.allowed, codes(through), through.upsell) == (plain.allowed, codes(plain), plain.upsell)
    own_rank = channel is not None and channel in dict(service.channel_min_rank)
    if codes(through) == ["TIER_REQUIRED"]:
        assert (f"channel {channel}" in through.reasons[0].detail) == own_rank
        assert all(p.rank >= rank_needed(service, channel) for p in through.upsell)
    if not own_rank:
        assert through == decide(state, service, cat, at)  # a channel without its own rank changes nothing


people_st = st.lists(
    st.builds(lambda i, roles, mail, phone: Contact(f"ct_{i}", f"P{i}", frozenset(roles),
                                                    f"p{mail}@acme.com" if mail is not None else None,
                                                    f"+1212555{phone:04d}" if phone is not None else None),
              st.integers(0, 50), st.sets(st.sampled_from(ROLES)), st.none() | st.integers(0, 5), st.none() | st.integers(0, 5)),
    max_size=4, unique_by=(lambda c: c.id, lambda c: c.email or c.id, lambda c: c.phone or c.id),
)
keys_st = st.one_of(
    st.tuples(st.just("email"), st.integers(0, 6).map(lambda n: f"p{n}@acme.com")),
    st.tuples(st.just("phone"), st.integers(0, 6).map(lambda n: f"+1212555{n:04d}")),
)


@settings(max_examples=300, deadline=None)
@given(people_st, st.sampled_from(["email", "phone", "domain", "id", "external_ref"]), keys_st, st.none() | keys_st)
def test_identify_names_exactly_the_contact_holding_the_identifier(
    people: list[Contact], matched_by: str, ref: tuple[str, str], contact: tuple[str, str] | None,
) -> None:
    state = client(contacts=tuple(people))
    caller, final = identify(state, matched_by, ref, contact)
    holder = {(k, v): c for c in people for k, v in (("email", c.email), ("phone", c.phone)) if v}
    ref_is_contact = matched_by in ("email", "phone") and ref[0] == matched_by and ref in holder
    named = contact if contact is not None and contact != ref else None
    if matched_by in ("email", "phone") and ref[0] == matched_by:
        assert (final == "contact") == ref_is_contact
    if named is not None:
        assert caller == Caller(True, holder.get(named))
    elif ref in holder and ref[0] in ("email", "phone"):
        assert caller == Caller(True, holder[ref])
    else:
        assert caller == Caller(matched_by == "domain")
