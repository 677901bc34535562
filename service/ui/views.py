"""What the web page shows, gathered from the use cases: the client card, search results, the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.api.deps import AppState
from service.cache import StateCache
from service.domain import model as dm
from service.domain.contract import current_version
from service.ids import random_hex
from service.storage.allowances import AllowanceRepository
from service.ui import timeline
from service.usecases import allowances, audit, campaign, client_view, contacts, memberships, records, reports
from service.usecases import clients as uc
from service.usecases.checks import ClientRef, run_check

STATUS_LABELS = {
    "signed": "Signed", "pending": "Pending", "unsigned": "Unsigned", "declined": "Declined", "expired": "Expired",
    "not_configured": "No contract yet",
}


@dataclass(frozen=True, slots=True)
class ServiceLine:
    code: str
    name: str
    allowed: bool
    reasons: list[dm.Reason]
    upsell: list[str]


def money(amount_minor: int, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    text = f"{amount_minor / 100:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def search(session: Session, cache: StateCache, q: str, region: str, now: datetime, limit: int = 20) -> list[dict[str, Any]]:
    text = q.strip()
    if not text:
        return []
    catalog = cache.catalog()
    rows = uc.search_clients(
        session, catalog=catalog, now=now, q=text, identifier_matches=uc.search_keys(text, region), contract_statuses=None,
        plan=None, status=None, limit=limit, after_id=None,
    )
    ids = [row.id for row, _status in rows]
    idents = uc.identifiers_for(session, ids)
    memberships = client_view.membership_views(session, catalog, ids, now)
    results: list[dict[str, Any]] = []
    for row, status in rows:
        view = memberships[row.id]
        plan = catalog.plans.get(view.plan or "")
        results.append({
            "id": row.id, "name": row.name, "archived": row.status == "archived", "contract_status": status,
            "plan": plan.name if plan and view.rank else None, "rank": view.rank,
            "phones": idents[row.id].phones, "emails": idents[row.id].emails,
        })
    results.sort(key=lambda r: (r["archived"], r["name"].lower()))
    return results


def card(session: Session, cache: StateCache, client_id: str, now: datetime, degraded_policy: str) -> dict[str, Any]:
    """Everything a technician needs mid-call. Raises NotFound for an unknown client."""
    row = uc.client_row(session, client_id)
    catalog = cache.catalog()
    view = client_view.client_view(session, catalog, client_id, now)
    state, contract, membership = view.state, view.contract, view.membership
    plan = catalog.plans.get(membership.plan or "")
    lines = []
    services = sorted(catalog.services.values(), key=lambda s: (s.min_rank, s.requires_contract, s.code))
    routing = None
    clock: dm.SlaClock | None = None
    for service in services:
        result = run_check(cache, ClientRef("id", client_id), service.code, now=now, at=None, allow_io=True,
                           degraded_policy=degraded_policy)
        decision = result.decision
        routing = routing or (decision.routing, decision.sla)
        clock = clock or decision.sla_clock
        lines.append(ServiceLine(service.code, service.name, decision.allowed, list(decision.reasons),
                                 [p.name for p in decision.upsell]))
    overrides = [o for o in records.list_overrides(session, client_id) if o.revoked_at is None and o.created_at <= now < o.expires_at]
    version = current_version(catalog.versions, now)
    events = uc.client_events(session, client_id, limit=50, before_seq=None)
    return {
        "client": row,
        "identifiers": uc.identifiers_for(session, [client_id])[client_id],
        "people": contacts.contacts_view(session, [client_id])[client_id],
        "contract": contract,
        "days_left": campaign.days_left(contract.grace_until, now) if contract.grace_until else None,
        "membership": membership,
        "membership_row": memberships.current_membership(session, client_id),
        "plan": plan,
        "lines": lines,
        "routing": routing,
        "overrides": overrides,
        "signature_requests": records.list_signature_requests(session, client_id),
        "acceptances": records.list_acceptances(session, client_id),
        "events": events,
        "services": services,
        "versions": [v.version for v in sorted(catalog.versions, key=lambda v: v.published_at or now, reverse=True)
                     if v.published_at is not None and v.published_at <= now],
        "current_version": version.version if version else None,
        "deadlines": deadlines(clock, catalog),
        **allowance_card(session, state, catalog, now),
    }


def deadlines(clock: dm.SlaClock | None, catalog: dm.Catalog) -> dict[str, str] | None:
    """The SLA deadlines of the card, in the calendar's own time zone (UTC for 24/7 SLAs)."""
    if not clock:
        return None
    calendar = catalog.calendars.get(clock.calendar_code or "")
    zone = ZoneInfo(calendar.time_zone) if calendar else UTC

    def shown(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%a %d %b %H:%M %Z") if at else "—"

    return {
        "first_response": shown(clock.first_response_due_at),
        "onsite": shown(clock.onsite_due_at),
        "clock": "running" if clock.clock is dm.Clock.RUNNING else f"outside hours — opens {shown(clock.next_open_at)}",
        "calendar": f"{calendar.code} v{calendar.version} ({calendar.time_zone})" if calendar else "24/7",
    }


def allowance_card(session: Session, state: dm.ClientState, catalog: dm.Catalog, now: datetime) -> dict[str, Any]:
    """Each allowance this period (used / included / granted and a bar) and the latest ledger entries."""
    views = []
    for view in allowances.client_allowances(state, catalog, now):
        total = view.included_q + view.rollover_q + view.granted_q
        views.append({**(allowances.view_json(view) or {}), "name": catalog.services[view.service].name
                      if view.service in catalog.services else view.service,
                      "used_pct": min(100, round(100 * view.used_q / total)) if total else 100})
    ledger = AllowanceRepository(session).usage_page(state.id, None, limit=20, before=None)
    return {"allowances": views, "ledger": [allowances.usage_dict(r) for r in ledger],
            "use_key": f"ui-{random_hex(64)}"}


def event_summary(event: Any) -> str:
    """One readable line of an audit event's change."""
    after = event.after or {}
    parts = []
    for key, value in after.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v.get("id", v)) if isinstance(v, dict) else str(v) for v in value)
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)[:300]


def dashboard(session: Session, state: AppState, now: datetime) -> dict[str, Any]:
    catalog = state.cache.catalog()
    coverage = reports.coverage(state.repository(session), session, catalog, now)
    events = audit.event_facts(session, timeline.KINDS)
    points = timeline.signed_share(events, now, catalog.policy)
    chase = campaign.clients_to_chase(session, catalog, now, statuses=list(campaign.TO_CHASE), limit=100)
    plans = sorted(catalog.plans.values(), key=lambda p: (p.rank, p.code))
    return {
        "coverage": coverage,
        "rmr": money(coverage["rmr"]["amount_minor"], coverage["rmr"]["currency"]),
        "plans": [(p, coverage["members"].get(p.code, 0)) for p in plans],
        "points": points,
        "chart": timeline.chart(points),
        "chart_box": (timeline.WIDTH, timeline.HEIGHT, timeline.LEFT, timeline.WIDTH - timeline.RIGHT),
        "chase": chase,
        "current_version": (v.version if (v := current_version(catalog.versions, now)) else None),
    }
