"""Allowances: plan allowances, block grants, recording and reversing uses, the ledger's answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain import allowance as da
from service.domain import model as dm
from service.domain.decision import client_allowance, membership_grants
from service.errors import AllowanceRefused, Conflict, InvalidInput, NotFound
from service.ids import new_id
from service.storage import tables as t
from service.storage.allowances import AllowanceRepository
from service.storage.sql import SqlRepository
from service.usecases import audit

Quantity = Decimal | int | float | str


@lru_cache(maxsize=4096)
def view_json(view: da.AllowanceView | None) -> dict[str, Any] | None:
    """The `allowance` object of every answer (a decision, a use). Memoised (views are frozen and the
    hot check serialises the same one again and again): callers must not change the dict."""
    if view is None:
        return None
    q = da.from_quarters
    return {
        "service": view.service, "unit": view.unit.value, "included": q(view.included_q), "rollover": q(view.rollover_q),
        "granted": q(view.granted_q), "used": q(view.used_q), "remaining": q(view.remaining_q),
        "overage": q(view.overage_q), "period": view.period.value, "period_start": view.period_start.isoformat(),
        "period_end": view.period_end.isoformat(), "state": view.state.value, "policy": view.policy.value,
        "warn_at_pct": view.warn_at_pct, "sentence": view.sentence(),
    }


def quarters(value: Quantity, unit: da.Unit | None, loc: list[str | int], *, allow_zero: bool = False) -> int:
    """A request's quantity in quarter-units, or 422 naming the field."""
    if isinstance(value, bool):
        raise InvalidInput(f"{loc[-1]} must be a number", errors=[{"loc": loc, "msg": "number expected"}])
    raw = Decimal(str(value)) if isinstance(value, float) else value
    try:
        return da.to_quarters(raw, unit, allow_zero=allow_zero)
    except da.UnitsError as exc:
        raise InvalidInput(f"{loc[-1]}: {exc}", errors=[{"loc": loc, "msg": str(exc)}]) from None


def _service(catalog: dm.Catalog, code: str, loc: list[str | int]) -> dm.Service:
    service = catalog.services.get(code)
    if service is None:
        raise InvalidInput(f"unknown service {code!r}", errors=[{"loc": loc, "msg": "no such service"}])
    return service


# ---- plans --------------------------------------------------------------------------------------
def put_plan_allowances(session: Session, plan_code: str, items: list[dict[str, Any]], *, actor: str, now: datetime) -> None:
    """Replace a plan's allowances (PUT /v1/plans/{code} with `allowances`)."""
    repo = SqlRepository(session)
    parsed: list[da.PlanAllowance] = []
    for index, item in enumerate(items):
        loc: list[str | int] = ["body", "allowances", index]
        if repo.get_service(item["service"]) is None:
            raise InvalidInput(f"unknown service {item['service']!r}", errors=[{"loc": [*loc, "service"], "msg": "no such service"}])
        if any(a.service == item["service"] for a in parsed):
            raise InvalidInput("one allowance per service", errors=[{"loc": [*loc, "service"], "msg": "service given twice"}])
        unit = da.Unit(item["unit"])
        parsed.append(da.PlanAllowance(
            service=item["service"], unit=unit, amount_q=quarters(item["amount"], unit, [*loc, "amount"], allow_zero=True),
            period=da.Period(item["period"]),
            rollover_max_q=quarters(item.get("rollover_max", 0), unit, [*loc, "rollover_max"], allow_zero=True),
            overage=da.OveragePolicy(item.get("overage", "refuse")), warn_at_pct=int(item.get("warn_at_pct", 80)),
        ))
    records = [da.allowance_record(a) for a in parsed]
    row = AllowanceRepository(session).plan_allowances(plan_code)
    before = list(row.allowances) if row is not None else []
    if before == records:
        return
    if row is None:
        session.add(t.PlanAllowances(plan_code=plan_code, allowances=records, updated_at=now))
    else:
        row.allowances, row.updated_at = records, now
    audit.record(session, kind="plan.allowances", actor=actor, at=now, scope="catalog", subject=plan_code,
                 before={"allowances": before}, after={"allowances": records})
    session.flush()


def plan_allowances_out(session: Session, plan_code: str) -> list[dict[str, Any]]:
    row = AllowanceRepository(session).plan_allowances(plan_code)
    return [allowance_item(da.allowance_from_record(r)) for r in (row.allowances if row else [])]


def allowance_item(a: da.PlanAllowance) -> dict[str, Any]:
    q = da.from_quarters
    return {"service": a.service, "unit": a.unit.value, "amount": q(a.amount_q), "period": a.period.value,
            "rollover_max": q(a.rollover_max_q), "overage": a.overage.value, "warn_at_pct": a.warn_at_pct}


# ---- block grants -------------------------------------------------------------------------------
def grant_dict(row: t.AllowanceGrant, used_q: int, now: datetime) -> dict[str, Any]:
    q = da.from_quarters
    return {
        "id": row.id, "client_id": row.client_id, "service": row.service_code, "unit": row.unit, "amount": q(row.amount_q),
        "used": q(used_q), "remaining": q(max(0, row.amount_q - used_q)), "expires_at": row.expires_at,
        "reason": row.reason, "actor": row.actor, "created_at": row.created_at,
        "active": row.expires_at is None or now < row.expires_at,
    }


def grant_block(
    session: Session, catalog: dm.Catalog, client_id: str, *, service: str, unit: str, amount: Quantity,
    expires_at: datetime | None, reason: str, actor: str, now: datetime,
) -> dict[str, Any]:
    _service(catalog, service, ["body", "service"])
    block_unit = da.Unit(unit)
    amount_q = quarters(amount, block_unit, ["body", "amount"])
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at is in the past", errors=[{"loc": ["body", "expires_at"], "msg": "must be in the future"}])
    state = AllowanceRepository(session).locked_state(client_id)
    if state is None:
        raise NotFound(f"no client {client_id!r}")
    granted = membership_grants(state.membership, catalog, now)
    plan_allowance = next((a for a in granted.allowances if a.service == service), None) if granted else None
    if plan_allowance is not None and plan_allowance.unit is not block_unit:
        raise InvalidInput(
            f"the client's plan counts {service} in {plan_allowance.unit.value}",
            errors=[{"loc": ["body", "unit"], "msg": f"must be {plan_allowance.unit.value}"}],
        )
    row = t.AllowanceGrant(id=new_id("blk"), client_id=client_id, service_code=service, unit=block_unit.value,
                           amount_q=amount_q, expires_at=expires_at, reason=reason, actor=actor, created_at=now)
    session.add(row)
    after = grant_dict(row, 0, now)
    audit.record(session, kind="allowance.grant", actor=actor, at=now, scope="client", client_id=client_id, subject=service,
                 after={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in after.items()})
    session.flush()
    return after


# ---- uses ---------------------------------------------------------------------------------------
def _plan_allowance(state: dm.ClientState, catalog: dm.Catalog, service: str, at: datetime) -> da.PlanAllowance | None:
    granted = membership_grants(state.membership, catalog, at)
    return next((a for a in granted.allowances if a.service == service), None) if granted else None


def record_use(
    session: Session, catalog: dm.Catalog, client_id: str, *, service: str, units: Quantity, idempotency_key: str,
    ticket_ref: str | None, at: datetime | None, actor: str, now: datetime,
) -> tuple[dict[str, Any], bool]:
    """(the answer, True when recorded now); the same key again gives the stored answer and False.
    A use the policy refuses raises AllowanceRefused and records nothing."""
    _service(catalog, service, ["body", "service"])
    repo = AllowanceRepository(session)
    state = repo.locked_state(client_id)  # from here on, this client's ledger is ours until commit
    if state is None:
        raise NotFound(f"no client {client_id!r}")
    # A statement of its own, after the lock: on PostgreSQL it reads a fresh snapshot, so it sees a use
    # of the same key committed while this request waited (a join in the locking statement would not).
    existing = repo.usage_by_key(client_id, idempotency_key)
    if existing is not None:
        recorded_service, kind, recorded = existing
        if recorded_service != service or kind != "use":
            raise Conflict("this idempotency_key was used for another use", errors=[
                {"loc": ["body", "idempotency_key"], "msg": "already used with other values"}])
        return dict(recorded), False
    if state.status is dm.ClientStatus.ARCHIVED:
        raise Conflict("the client is archived")
    when = at or now
    plan_allowance = _plan_allowance(state, catalog, service, when)
    view = da.allowance_view(service, plan_allowance, state.allowance_grants, state.allowance_legs, when, state.created_at)
    if view is None:
        raise InvalidInput(f"the client has no allowance of {service}", errors=[{"loc": ["body", "service"], "msg": "no allowance"}])
    units_q = quarters(units, view.unit, ["body", "units"])
    allocation = da.allocate(service, plan_allowance, state.allowance_grants, state.allowance_legs, when, units_q,
                             state.created_at)
    assert allocation is not None
    if allocation.overage_q > 0 and view.policy is not da.OveragePolicy.ALLOW:
        approved = any(o.service_code == service and o.active_at(when) for o in state.overrides)
        if not approved:
            code = "ALLOWANCE_EXHAUSTED" if view.policy is da.OveragePolicy.REFUSE else "APPROVAL_REQUIRED"
            raise AllowanceRefused(f"{view.sentence()}; {da.format_units(units_q)} asked", problem_code=code)
    after = da.allowance_view(service, plan_allowance, state.allowance_grants, state.allowance_legs + allocation.legs,
                              when, state.created_at)
    usage_id = new_id("use")
    answer: dict[str, Any] = {
        "usage_id": usage_id, "client_id": client_id, "service": service, "units": da.from_quarters(units_q),
        "overage_units": da.from_quarters(allocation.overage_q), "idempotency_key": idempotency_key,
        "ticket_ref": ticket_ref, "at": when.isoformat(), "allowance": view_json(after),
    }
    row = {
        "id": usage_id, "client_id": client_id, "service_code": service, "kind": "use", "units_q": units_q,
        "overage_q": allocation.overage_q, "idempotency_key": idempotency_key, "ticket_ref": ticket_ref, "at": when,
        "reverses_id": None, "reason": None, "actor": actor, "created_at": now, "answer": answer,
    }
    try:
        repo.add_entry(row, allocation.legs)
    except sa.exc.IntegrityError:
        # Unreachable while the client's row is held (the unique index is the last line): ask again.
        raise Conflict("this idempotency_key is being recorded by another request; send it again") from None
    audit.record(session, kind="allowance.use", actor=actor, at=now, scope="client", client_id=client_id, subject=service,
                 after={k: answer[k] for k in ("usage_id", "units", "overage_units", "idempotency_key", "ticket_ref", "at")})
    return answer, True


def reverse_use(session: Session, catalog: dm.Catalog, usage_id: str, *, reason: str, actor: str, now: datetime) -> dict[str, Any]:
    """A reversing entry: the use's legs negated, so it gives back exactly what the use took."""
    repo = AllowanceRepository(session)
    usage = repo.get_usage(usage_id)
    if usage is None:
        raise NotFound(f"no use {usage_id!r}")
    if usage.kind != "use":
        raise Conflict("a reversal cannot be reversed")
    state = repo.locked_state(usage.client_id)
    assert state is not None
    if repo.reversal_of(usage_id) is not None:
        raise Conflict("this use is reversed already")
    legs = da.reversal(repo.legs_of(usage_id))
    plan_allowance = _plan_allowance(state, catalog, usage.service_code, usage.at)
    after = da.allowance_view(usage.service_code, plan_allowance, state.allowance_grants, state.allowance_legs + legs,
                              usage.at, state.created_at)
    reversal_id = new_id("use")
    answer: dict[str, Any] = {
        "usage_id": reversal_id, "reverses": usage_id, "client_id": usage.client_id, "service": usage.service_code,
        "units": da.from_quarters(-usage.units_q), "overage_units": da.from_quarters(-usage.overage_q),
        "reason": reason, "at": usage.at.isoformat(), "allowance": view_json(after),
    }
    row = {
        "id": reversal_id, "client_id": usage.client_id, "service_code": usage.service_code, "kind": "reversal",
        "units_q": -usage.units_q, "overage_q": -usage.overage_q, "idempotency_key": f"reversal:{usage_id}",
        "ticket_ref": usage.ticket_ref, "at": usage.at, "reverses_id": usage_id, "reason": reason, "actor": actor,
        "created_at": now, "answer": answer,
    }
    try:
        repo.add_entry(row, legs)
    except sa.exc.IntegrityError:
        raise Conflict("this use is reversed already") from None
    audit.record(session, kind="allowance.reverse", actor=actor, at=now, scope="client", client_id=usage.client_id,
                 subject=usage.service_code, before={"usage_id": usage_id}, after={"usage_id": reversal_id, "reason": reason})
    return answer


def usage_dict(row: t.AllowanceUsage) -> dict[str, Any]:
    return {
        "usage_id": row.id, "kind": row.kind, "service": row.service_code, "units": da.from_quarters(row.units_q),
        "overage_units": da.from_quarters(row.overage_q), "idempotency_key": row.idempotency_key,
        "ticket_ref": row.ticket_ref, "at": row.at, "reverses": row.reverses_id, "reason": row.reason, "actor": row.actor,
        "created_at": row.created_at,
    }


def client_allowances(state: dm.ClientState, catalog: dm.Catalog, at: datetime) -> list[da.AllowanceView]:
    """Every allowance the client holds at `at` (the client card)."""
    granted = membership_grants(state.membership, catalog, at)
    services = {a.service for a in granted.allowances} if granted else set()
    services |= {g.service for g in state.allowance_grants if g.live_at(at)}
    views = (client_allowance(state, granted, code, at) for code in sorted(services))
    return [v for v in views if v is not None]


# ---- the coverage report ------------------------------------------------------------------------
def coverage_allowances(session: Session, catalog: dm.Catalog, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Per plan and allowance: the units members used this period, and the members at or past the warning."""
    repo = AllowanceRepository(session)
    report: dict[str, list[dict[str, Any]]] = {}
    for code, plan in sorted(catalog.plans.items()):
        items = []
        for allowance in plan.allowances:
            start, end = da.period_bounds(allowance.period, now)
            states = repo.client_states(repo.members_with_usage(code, allowance.service, start))
            used = warned = 0
            for state in states:
                if membership_grants(state.membership, catalog, now) is not plan:
                    continue
                used += sum(leg.units_q for leg in state.allowance_legs
                            if leg.service == allowance.service and leg.period_start == start)
                view = client_allowance(state, plan, allowance.service, now)
                if view is not None and (view.is_low or view.state is not da.AllowanceState.OK):
                    warned += 1
            items.append({"service": allowance.service, "unit": allowance.unit.value, "period_start": start.isoformat(),
                          "period_end": end.isoformat(), "used": da.from_quarters(used), "clients_at_warning": warned})
        if items:
            report[code] = items
    return report
