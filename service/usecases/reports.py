"""Coverage report: contract statuses, members by plan and recurring revenue, computed in SQL."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.domain import model as dm
from service.storage.repository import CoverageCounts
from service.usecases.allowances import coverage_allowances

REPORTED = ("signed", "pending", "unsigned", "declined", "expired")


def coverage(counts_of: CoverageCounts, session: Session, catalog: dm.Catalog, now: datetime) -> dict[str, Any]:
    raw = counts_of.coverage(catalog, now)
    counts: dict[str, int] = {status: int(raw["contract"].get(status, 0)) for status in REPORTED}
    not_configured = int(raw["contract"].get("not_configured", 0))
    active = sum(counts.values()) + not_configured
    members = {code: n for code, n, _price, _cur in raw["members"]}
    for code in catalog.plans:
        members.setdefault(code, 0)
    revenue: Counter[str] = Counter()
    for _code, n, price, currency in raw["members"]:
        revenue[currency] += n * price
    main_currency = revenue.most_common(1)[0][0] if revenue else next(
        (p.monthly_price.currency for p in catalog.plans.values()), "USD"
    )
    member_total = sum(members.values())
    return {
        "clients_active": active,
        "contract": {**counts, "not_configured": not_configured},
        "signed_pct": round(100.0 * counts["signed"] / active, 2) if active else 0.0,
        "members": members,
        "members_pct": round(100.0 * member_total / active, 2) if active else 0.0,
        "rmr": {"amount_minor": revenue.get(main_currency, 0), "currency": main_currency},
        "rmr_by_currency": [{"amount_minor": v, "currency": c} for c, v in sorted(revenue.items())],
        "evaluated_at": now,
        "allowances": coverage_allowances(session, catalog, now),
    }
