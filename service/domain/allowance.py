"""Allowances: included and prepaid units and the ledger arithmetic (pure; the time is an argument).

Units are counted in integer quarter-units (`Q` per unit), so that hours go by the quarter hour
and no sum ever rounds. A use takes from pools in a fixed order: the period's included units,
then the units rolled over from the previous period, then the live blocks soonest-expiring
first; what is left is overage. Each use records what it took (its legs); a reversal records the
same legs negated, so it restores exactly what the use took.

Rollover: the included units left unused at the end of a period (included minus what the period
took from its included pool) carry into the next period, up to `rollover_max`. Rolled-over units
are taken after the new period's own included units and do not roll again, so the carry never
depends on more than the one previous period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

Q = 4  # quarter-units per unit
MAX_UNITS = 1_000_000


class Unit(StrEnum):
    INCIDENTS = "incidents"
    HOURS = "hours"
    VISITS = "visits"


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class OveragePolicy(StrEnum):
    REFUSE = "refuse"
    ALLOW = "allow"
    APPROVAL = "approval"


class Pool(StrEnum):
    INCLUDED = "included"
    ROLLOVER = "rollover"
    BLOCK = "block"
    OVERAGE = "overage"


class AllowanceState(StrEnum):
    OK = "ok"
    LOW = "low"
    EXHAUSTED = "exhausted"
    OVERAGE = "overage"


class UnitsError(ValueError):
    """A quantity that is not a whole number of units (or of quarter hours), or out of range."""


@dataclass(frozen=True, slots=True)
class PlanAllowance:
    service: str
    unit: Unit
    amount_q: int
    period: Period
    rollover_max_q: int = 0
    overage: OveragePolicy = OveragePolicy.REFUSE
    warn_at_pct: int = 80


@dataclass(frozen=True, slots=True)
class BlockGrant:
    id: str
    service: str
    unit: Unit
    amount_q: int
    expires_at: datetime | None
    granted_at: datetime

    def live_at(self, at: datetime) -> bool:
        return self.expires_at is None or at < self.expires_at


@dataclass(frozen=True, slots=True)
class Leg:
    """Units taken from one pool (negative in a reversal); blocks name their grant.
    The state cache holds these summed per (service, pool, grant, period)."""

    service: str
    pool: Pool
    period_start: datetime
    units_q: int
    grant_id: str | None = None


@dataclass(frozen=True, slots=True)
class AllowanceView:
    service: str
    unit: Unit
    included_q: int
    rollover_q: int
    granted_q: int
    used_q: int
    overage_q: int
    period: Period
    period_start: datetime
    period_end: datetime
    policy: OveragePolicy
    warn_at_pct: int

    @property
    def remaining_q(self) -> int:
        return self.included_q + self.rollover_q + self.granted_q - self.used_q

    @property
    def state(self) -> AllowanceState:
        if self.overage_q > 0:
            return AllowanceState.OVERAGE
        if self.remaining_q <= 0:
            return AllowanceState.EXHAUSTED
        if self.is_low:
            return AllowanceState.LOW
        return AllowanceState.OK

    @property
    def is_low(self) -> bool:
        """At or past warn_at_pct of what the period offers is used."""
        total = self.included_q + self.rollover_q + self.granted_q
        return total > 0 and self.used_q * 100 >= self.warn_at_pct * total

    def sentence(self) -> str:
        """What an IVR can read out: "2.5 hours left this month"."""
        left = self.remaining_q
        when = f"this {self.period.value}"
        if left <= 0:
            text = f"no {self.unit.value} left {when}"
        else:
            text = f"{format_units(left)} {unit_word(self.unit, left)} left {when}"
        if self.overage_q > 0:
            text += f"; {format_units(self.overage_q)} {unit_word(self.unit, self.overage_q)} over, billable"
        return text


@dataclass(frozen=True, slots=True)
class Allocation:
    """What one use takes: its legs (overage included) and the overage part."""

    legs: tuple[Leg, ...]
    overage_q: int

    @property
    def units_q(self) -> int:
        return sum(leg.units_q for leg in self.legs)


# ---- quantities ---------------------------------------------------------------------------------
def to_quarters(value: Decimal | int | str, unit: Unit | None = None, *, allow_zero: bool = False) -> int:
    """A quantity in quarter-units; hours (or an unknown unit) to the quarter, others whole."""
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise UnitsError(f"not a number: {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise UnitsError("not a finite number")
    if number < 0 or (number == 0 and not allow_zero):
        raise UnitsError("must be more than zero" if not allow_zero else "must not be negative")
    if number > MAX_UNITS:
        raise UnitsError(f"at most {MAX_UNITS}")
    quarters = number * Q
    if quarters != quarters.to_integral_value():
        raise UnitsError("hours go by the quarter hour (0.25, 0.5, 0.75)")
    if unit is not None and unit is not Unit.HOURS and number != number.to_integral_value():
        raise UnitsError(f"{unit.value} are counted in whole units")
    return int(quarters)


def from_quarters(quarters: int) -> int | float:
    """Quarter-units as a JSON number: whole units as integers, else a float (quarters are exact in binary)."""
    return quarters // Q if quarters % Q == 0 else quarters / Q


def format_units(quarters: int) -> str:
    value = from_quarters(quarters)
    return str(value) if isinstance(value, int) else f"{value:g}"


def unit_word(unit: Unit, quarters: int) -> str:
    if quarters == Q:
        return unit.value[:-1]  # "1 hour", "1 visit", "1 incident"
    return unit.value


# ---- periods ------------------------------------------------------------------------------------
def period_bounds(period: Period, at: datetime) -> tuple[datetime, datetime]:
    """The calendar period (UTC) holding `at`: [start, end)."""
    at = at.astimezone(UTC)
    if period is Period.YEAR:
        return datetime(at.year, 1, 1, tzinfo=UTC), datetime(at.year + 1, 1, 1, tzinfo=UTC)
    months = 3 if period is Period.QUARTER else 1
    first = (at.month - 1) // months * months + 1
    start = datetime(at.year, first, 1, tzinfo=UTC)
    year, month = (at.year + 1, 1) if first + months > 12 else (at.year, first + months)
    return start, datetime(year, month, 1, tzinfo=UTC)


def previous_period_start(period: Period, start: datetime) -> datetime:
    return period_bounds(period, start - timedelta(microseconds=1))[0]


# ---- the ledger ---------------------------------------------------------------------------------
def _sum(legs: Iterable[Leg], pool: Pool, period_start: datetime) -> int:
    return sum(leg.units_q for leg in legs if leg.pool is pool and leg.period_start == period_start)


def rollover_into(allowance: PlanAllowance, legs: Iterable[Leg], start: datetime, since: datetime | None) -> int:
    """Units carried into the period starting at `start` (0 when the client did not exist before it)."""
    if allowance.rollover_max_q <= 0 or (since is not None and since >= start):
        return 0
    previous = previous_period_start(allowance.period, start)
    unused = allowance.amount_q - _sum(legs, Pool.INCLUDED, previous)
    return max(0, min(allowance.rollover_max_q, unused))


def _block_order(grant: BlockGrant) -> tuple[bool, datetime, datetime, str]:
    far = datetime.max.replace(tzinfo=UTC)
    return (grant.expires_at is None, grant.expires_at or far, grant.granted_at, grant.id)


@dataclass(frozen=True, slots=True)
class _Pools:
    view: AllowanceView
    included_free: int
    rollover_free: int
    blocks_free: tuple[tuple[BlockGrant, int], ...]


def _pools(
    service: str, allowance: PlanAllowance | None, grants: Iterable[BlockGrant], legs: Iterable[Leg], at: datetime,
    since: datetime | None,
) -> _Pools | None:
    legs = tuple(leg for leg in legs if leg.service == service)
    unit = allowance.unit if allowance is not None else None
    blocks = [g for g in grants if g.service == service and g.live_at(at) and (unit is None or g.unit is unit)]
    if allowance is None and not blocks:
        return None
    if allowance is None:
        unit = min(blocks, key=_block_order).unit
        blocks = [g for g in blocks if g.unit is unit]
    assert unit is not None
    period = allowance.period if allowance is not None else Period.MONTH
    start, end = period_bounds(period, at)
    included = allowance.amount_q if allowance is not None else 0
    rollover = rollover_into(allowance, legs, start, since) if allowance is not None else 0
    included_used = _sum(legs, Pool.INCLUDED, start)
    rollover_used = _sum(legs, Pool.ROLLOVER, start)
    block_used: dict[str, int] = {}
    for leg in legs:
        if leg.pool is Pool.BLOCK and leg.grant_id is not None:
            block_used[leg.grant_id] = block_used.get(leg.grant_id, 0) + leg.units_q
    blocks.sort(key=_block_order)
    blocks_free = tuple((g, max(0, g.amount_q - block_used.get(g.id, 0))) for g in blocks)
    granted = sum(g.amount_q for g in blocks)
    used = included_used + rollover_used + sum(g.amount_q - free for g, free in blocks_free)
    view = AllowanceView(
        service=service, unit=unit, included_q=included, rollover_q=rollover, granted_q=granted, used_q=used,
        overage_q=max(0, _sum(legs, Pool.OVERAGE, start)), period=period, period_start=start, period_end=end,
        policy=allowance.overage if allowance is not None else OveragePolicy.ALLOW,
        warn_at_pct=allowance.warn_at_pct if allowance is not None else 80,
    )
    return _Pools(view, max(0, included - included_used), max(0, rollover - rollover_used), blocks_free)


def allowance_view(
    service: str, allowance: PlanAllowance | None, grants: Iterable[BlockGrant], legs: Iterable[Leg], at: datetime,
    since: datetime | None = None,
) -> AllowanceView | None:
    """The client's allowance of `service` at `at`; None when it has neither a plan allowance nor a live block."""
    pools = _pools(service, allowance, grants, legs, at, since)
    return pools.view if pools is not None else None


def allocate(
    service: str, allowance: PlanAllowance | None, grants: Iterable[BlockGrant], legs: Iterable[Leg], at: datetime,
    units_q: int, since: datetime | None = None,
) -> Allocation | None:
    """What a use of `units_q` at `at` takes; None without an allowance. The caller enforces the policy
    (an allocation with overage under `refuse` or `approval` must not be recorded)."""
    pools = _pools(service, allowance, grants, legs, at, since)
    if pools is None:
        return None
    start = pools.view.period_start
    left = units_q
    taken: list[Leg] = []
    for pool, free in ((Pool.INCLUDED, pools.included_free), (Pool.ROLLOVER, pools.rollover_free)):
        take = min(left, free)
        if take > 0:
            taken.append(Leg(service, pool, start, take))
            left -= take
    for grant, free in pools.blocks_free:
        take = min(left, free)
        if take > 0:
            taken.append(Leg(service, Pool.BLOCK, start, take, grant.id))
            left -= take
    if left > 0:
        taken.append(Leg(service, Pool.OVERAGE, start, left))
    return Allocation(tuple(taken), left)


def reversal(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """The legs that undo a use: each of its legs negated (same pool, period and block)."""
    return tuple(Leg(leg.service, leg.pool, leg.period_start, -leg.units_q, leg.grant_id) for leg in legs)


def allowance_record(allowance: PlanAllowance) -> dict[str, object]:
    """A plan allowance as stored (JSON, quarter-units)."""
    return {
        "service": allowance.service, "unit": allowance.unit.value, "amount_q": allowance.amount_q,
        "period": allowance.period.value, "rollover_max_q": allowance.rollover_max_q,
        "overage": allowance.overage.value, "warn_at_pct": allowance.warn_at_pct,
    }


def allowance_from_record(record: dict[str, object]) -> PlanAllowance:
    def number(name: str, default: int) -> int:
        value = record.get(name, default)
        return value if isinstance(value, int) else default

    return PlanAllowance(
        service=str(record["service"]), unit=Unit(str(record["unit"])), amount_q=number("amount_q", 0),
        period=Period(str(record["period"])), rollover_max_q=number("rollover_max_q", 0),
        overage=OveragePolicy(str(record.get("overage", "refuse"))), warn_at_pct=number("warn_at_pct", 80),
    )
