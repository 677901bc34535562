"""In-process cost of the SLA deadlines: decide() on a 24/7 SLA against decide() on a business-hours calendar.

    .venv/bin/python -m benchmarks.sla_clock [--rounds 7] [--calls 20000]

Both sides run in the same process, alternating, and the median of each is reported with their
difference (µs per decision), so a noisy machine moves both. Each call is at a different instant
(one minute apart, over weeks), as live checks are, so the per-day memo of a calendar is exercised
the way traffic does, not one cached day.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from service.domain import model as dm
from service.domain.calendar import BusinessCalendar, WorkingInterval
from service.domain.decision import decide

NY_OFFICE = BusinessCalendar(
    "nyc", 1, "America/New_York",
    tuple(WorkingInterval(d, s, e) for d in range(5) for s, e in ((480, 720), (780, 1020))),
    frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
)


def _catalog(calendar: BusinessCalendar | None) -> tuple[dm.Catalog, dm.ClientState, dm.Service]:
    business = calendar is not None
    gold = dm.Plan(
        "gold", "Gold", 2, dm.Money(14900, "USD"), dm.Routing("high", "priority"),
        dm.Sla(30, 8, 240 if business else None, 8 if business else None), calendar="nyc" if business else None,
    )
    service = dm.Service("advanced_support", "Advanced support", True, 0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    catalog = dm.Catalog(
        services={service.code: service}, plans={"gold": gold},
        versions=(dm.ContractVersion("2026.1", 30, None, start),),
        calendars={"nyc": calendar} if calendar else {},
    )
    client = dm.ClientState(
        id="cl_1", name="Globex", status=dm.ClientStatus.ACTIVE, created_at=start,
        acceptances=(dm.Acceptance("2026.1", dm.AcceptanceDecision.SIGNED, start),),
        membership=dm.Membership("gold", dm.MembershipStatus.ACTIVE, None),
    )
    return catalog, client, service


def per_call_us(calendar: BusinessCalendar | None, calls: int) -> float:
    catalog, client, service = _catalog(calendar)
    at = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    step = timedelta(minutes=1)
    began = time.perf_counter()
    for _ in range(calls):
        decide(client, service, catalog, at)
        at += step
    return (time.perf_counter() - began) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    plain, business = [], []
    per_call_us(None, 2000), per_call_us(NY_OFFICE, 2000)  # warm-up
    for _ in range(args.rounds):
        plain.append(per_call_us(None, args.calls))
        business.append(per_call_us(NY_OFFICE, args.calls))
    a, b = statistics.median(plain), statistics.median(business)
    print(f"decide() 24/7 SLA:            {a:6.2f} µs per call (median of {args.rounds})")
    print(f"decide() business calendar:   {b:6.2f} µs per call")
    print(f"added by the deadlines:       {b - a:6.2f} µs (ratio {b / a:.2f})")


if __name__ == "__main__":
    main()
