"""The allowance arithmetic on the pure domain: examples, then properties on generated ledgers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import allowance as da
from service.domain.decision import decide
from service.domain.model import (
    Catalog,
    ClientState,
    ClientStatus,
    Membership,
    MembershipStatus,
    Money,
    Plan,
    ReasonCode,
    Routing,
    Sla,
)
from service.domain.model import Service as CatalogService

Q = da.Q
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def hours(n: float, *, rollover: float = 0, overage: str = "refuse", period: str = "month") -> da.PlanAllowance:
    return da.PlanAllowance("remote", da.Unit.HOURS, int(n * Q), da.Period(period), int(rollover * Q), da.OveragePolicy(overage))


def block(gid: str, n: float, expires: datetime | None) -> da.BlockGrant:
    return da.BlockGrant(gid, "remote", da.Unit.HOURS, int(n * Q), expires, SINCE)


def run(allowance: da.PlanAllowance | None, grants: list[da.BlockGrant], uses: list[tuple[datetime, int]]) -> list[da.Allocation]:
    """Record each use in order (as the ledger does under its lock); return what each took."""
    legs: tuple[da.Leg, ...] = ()
    taken = []
    for at, units_q in uses:
        allocation = da.allocate("remote", allowance, grants, legs, at, units_q, SINCE)
        assert allocation is not None
        legs += allocation.legs
        taken.append(allocation)
    return taken


# ---- examples -----------------------------------------------------------------------------------
def test_quarter_hours_and_whole_units() -> None:
    assert da.to_quarters(Decimal("2.5"), da.Unit.HOURS) == 10
    assert da.to_quarters("0.25", da.Unit.HOURS) == 1
    assert da.to_quarters(3, da.Unit.VISITS) == 12
    for bad, unit in (("0.1", da.Unit.HOURS), ("1.5", da.Unit.INCIDENTS), ("0.5", da.Unit.VISITS), ("0", da.Unit.HOURS),
                      ("-1", da.Unit.HOURS), ("NaN", da.Unit.HOURS), ("x", da.Unit.HOURS), ("1e9", da.Unit.HOURS)):
        with pytest.raises(da.UnitsError):
            da.to_quarters(bad, unit)
    assert da.from_quarters(10) == 2.5 and da.from_quarters(8) == 2 and isinstance(da.from_quarters(8), int)


def test_calendar_periods_in_utc() -> None:
    at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert da.period_bounds(da.Period.MONTH, at) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert da.period_bounds(da.Period.QUARTER, at) == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert da.period_bounds(da.Period.YEAR, at)[1] == datetime(2027, 1, 1, tzinfo=UTC)
    local = datetime(2026, 12, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # still November in UTC
    assert da.period_bounds(da.Period.MONTH, local)[0] == datetime(2026, 11, 1, tzinfo=UTC)


def test_consumption_order_included_then_rollover_then_soonest_expiring_block() -> None:
    allowance = hours(1, rollover=1)
    grants = [block("late", 1, T0 + timedelta(days=300)), block("never", 1, None), block("soon", 1, T0 + timedelta(days=50))]
    feb = datetime(2026, 2, 10, tzinfo=UTC)
    [jan, use] = run(allowance, grants, [(T0 + timedelta(days=3), 0 * Q + 1), (feb, 5 * Q)])
    assert jan.legs == (da.Leg("remote", da.Pool.INCLUDED, T0, 1),)
    pools = [(leg.pool, leg.grant_id, leg.units_q) for leg in use.legs]
    # January left 0.75 h of its included hour unused: 0.75 rolls over (rollover_max 1).
    assert pools == [(da.Pool.INCLUDED, None, 4), (da.Pool.ROLLOVER, None, 3), (da.Pool.BLOCK, "soon", 4),
                     (da.Pool.BLOCK, "late", 4), (da.Pool.BLOCK, "never", 4), (da.Pool.OVERAGE, None, 1)]
    assert use.overage_q == 1


def test_a_refused_allocation_is_seen_by_the_decision() -> None:
    allowance = hours(1, overage="approval")
    plan = Plan("gold", "Gold", 2, Money(0, "USD"), Routing("high", "p"), Sla(1, 1), allowances=(allowance,))
    service = CatalogService("remote", "Remote", False, 0)
    catalog = Catalog(services={"remote": service}, plans={"gold": plan})
    state = ClientState("c", "C", ClientStatus.ACTIVE, SINCE, membership=Membership("gold", MembershipStatus.ACTIVE, None))
    assert decide(state, service, catalog, T0).allowed
    assert [r.code for r in decide(state, service, catalog, T0, units_q=5).reasons] == [ReasonCode.APPROVAL_REQUIRED]
    legs = run(allowance, [], [(T0, 4)])[0].legs
    used = ClientState("c", "C", ClientStatus.ACTIVE, SINCE, membership=state.membership, allowance_legs=legs)
    decision = decide(used, service, catalog, T0)
    assert not decision.allowed and decision.allowance is not None and decision.allowance.state is da.AllowanceState.EXHAUSTED
    assert decide(used, service, catalog, T0 + timedelta(days=31)).allowed  # February: a fresh hour


def test_sentence_reads_like_speech() -> None:
    view = da.allowance_view("remote", hours(4), [], run(hours(4), [], [(T0, 6)])[0].legs, T0, SINCE)
    assert view is not None and view.sentence() == "2.5 hours left this month"
    one = da.allowance_view("remote", hours(1), [], (), T0, SINCE)
    assert one is not None and one.sentence() == "1 hour left this month"


# ---- properties ---------------------------------------------------------------------------------
days = st.integers(min_value=0, max_value=500)
uses_strategy = st.lists(st.tuples(days, st.integers(min_value=1, max_value=12)), max_size=25)
allowances = st.builds(
    lambda amount, rollover, period, overage: da.PlanAllowance(
        "remote", da.Unit.HOURS, amount, da.Period(period), rollover, da.OveragePolicy(overage)),
    st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=20),
    st.sampled_from(["month", "quarter", "year"]), st.sampled_from(["refuse", "allow", "approval"]),
)
blocks = st.lists(st.builds(
    lambda i, n, exp: block(f"b{i}", n / Q, None if exp is None else T0 + timedelta(days=exp)),
    st.integers(0, 1000), st.integers(1, 40), st.none() | days,
), max_size=3, unique_by=lambda g: g.id)


def _ledger(allowance: da.PlanAllowance, grants: list[da.BlockGrant], uses: list[tuple[int, int]]) -> tuple[da.Leg, ...]:
    legs: tuple[da.Leg, ...] = ()
    for day, units_q in sorted(uses):
        allocation = da.allocate("remote", allowance, grants, legs, T0 + timedelta(days=day), units_q, SINCE)
        assert allocation is not None
        legs += allocation.legs
    return legs


@settings(max_examples=200, deadline=None)
@given(allowances, blocks, uses_strategy, days)
def test_remaining_identity_and_rollover_bound(
    allowance: da.PlanAllowance, grants: list[da.BlockGrant], uses: list[tuple[int, int]], day: int,
) -> None:
    legs = _ledger(allowance, grants, uses)
    at = T0 + timedelta(days=day)
    view = da.allowance_view("remote", allowance, grants, legs, at, SINCE)
    assert view is not None
    assert view.remaining_q == view.included_q + view.rollover_q + view.granted_q - view.used_q
    assert 0 <= view.rollover_q <= allowance.rollover_max_q
    assert view.rollover_q <= allowance.amount_q
    assert view.remaining_q >= 0  # overage is counted apart: never a negative remainder
    assert view.used_q <= view.included_q + view.rollover_q + view.granted_q


@settings(max_examples=200, deadline=None)
@given(allowances, blocks, uses_strategy, st.integers(min_value=1, max_value=12), days)
def test_a_use_takes_exactly_its_units_and_its_reversal_restores_them(
    allowance: da.PlanAllowance, grants: list[da.BlockGrant], uses: list[tuple[int, int]], units_q: int, day: int,
) -> None:
    legs = _ledger(allowance, grants, uses)
    at = T0 + timedelta(days=day)
    before = da.allowance_view("remote", allowance, grants, legs, at, SINCE)
    allocation = da.allocate("remote", allowance, grants, legs, at, units_q, SINCE)
    assert before is not None and allocation is not None
    assert allocation.units_q == units_q and all(leg.units_q > 0 for leg in allocation.legs)
    assert allocation.overage_q == max(0, units_q - before.remaining_q)
    after = da.allowance_view("remote", allowance, grants, legs + allocation.legs, at, SINCE)
    assert after is not None and after.remaining_q == max(0, before.remaining_q - units_q)
    restored = da.allowance_view("remote", allowance, grants, legs + allocation.legs + da.reversal(allocation.legs), at, SINCE)
    assert restored == before
    # Later periods see exactly what they saw before the use and its reversal, too.
    later = at + timedelta(days=400)
    assert da.allowance_view("remote", allowance, grants, legs + allocation.legs + da.reversal(allocation.legs), later, SINCE) \
        == da.allowance_view("remote", allowance, grants, legs, later, SINCE)


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2))
def test_only_quarter_hours_are_accepted(value: Decimal) -> None:
    if (value * 4) % 1 == 0:
        assert da.to_quarters(value, da.Unit.HOURS) == int(value * 4)
        assert Decimal(str(da.from_quarters(da.to_quarters(value, da.Unit.HOURS)))) == value
    else:
        with pytest.raises(da.UnitsError):
            da.to_quarters(value, da.Unit.HOURS)
