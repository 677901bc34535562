"""decide(): the entitlement rules of PRODUCT.md for one client, one service, one moment."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.domain.allowance import AllowanceView, OveragePolicy, Q, allowance_view
from service.domain.calendar import BusinessCalendar
from service.domain.contacts import approvers_of, channel_ranked, contact_refusal, rank_needed
from service.domain.contract import contract_view
from service.domain.model import (
    Caller,
    Catalog,
    ClientState,
    ClientStatus,
    Contact,
    ContractStatus,
    ContractView,
    Decision,
    Membership,
    MembershipStatus,
    MembershipView,
    Plan,
    Reason,
    ReasonCode,
    Service,
)
from service.domain.sla import sla_clock

_REFUSING_STATUS = {
    ContractStatus.UNSIGNED: (ReasonCode.CONTRACT_UNSIGNED, "the current contract is not signed and the grace period is over"),
    ContractStatus.DECLINED: (ReasonCode.CONTRACT_DECLINED, "the client declined the current contract"),
    ContractStatus.EXPIRED: (ReasonCode.CONTRACT_EXPIRED, "the client's signature of the current contract has run out"),
}

_NO_CONTRACT = ContractView(
    status=ContractStatus.NOT_CONFIGURED, current_version=None, signed_version=None, signed_at=None, grace_until=None
)


def membership_grants(membership: Membership | None, catalog: Catalog, at: datetime) -> Plan | None:
    """The plan whose rank the membership grants at `at`, or None (rank 0)."""
    if membership is None:
        return None
    plan = catalog.plans.get(membership.plan_code)
    if plan is None:
        return None
    end = membership.current_period_end
    if membership.status in (MembershipStatus.ACTIVE, MembershipStatus.TRIALING):
        return plan if end is None or at < end else None
    if membership.status is MembershipStatus.PAST_DUE:
        if end is None:
            return plan
        return plan if at < end + timedelta(days=catalog.policy.dunning_grace_days) else None
    return None


def membership_view(membership: Membership | None, granted: Plan | None) -> MembershipView:
    return MembershipView(
        plan=granted.code if granted else None,
        rank=granted.rank if granted else 0,
        status=membership.status if membership else None,
        current_period_end=membership.current_period_end if membership else None,
    )


def plans_granting(service: Service, catalog: Catalog, rank: int | None = None) -> tuple[Plan, ...]:
    """Active plans of at least `rank` (default: the service's min_rank), lowest rank first."""
    needed = service.min_rank if rank is None else rank
    eligible = [p for p in catalog.plans.values() if p.active and p.rank >= needed]
    return tuple(sorted(eligible, key=lambda p: (p.rank, p.monthly_price.amount_minor, p.code)))


def sla_calendar(granted: Plan | None, catalog: Catalog) -> BusinessCalendar | None:
    """The calendar an SLA runs on: the member's plan's, else the default SLA's (None: 24/7)."""
    code = granted.calendar if granted is not None else catalog.policy.default_calendar
    return catalog.calendars.get(code) if code else None


def _open_to_anyone(service: Service, channel: str | None = None) -> bool:
    return not service.requires_contract and rank_needed(service, channel) == 0


def decide(
    client: ClientState | None, service: Service, catalog: Catalog, at: datetime, units_q: int = Q,
    *, channel: str | None = None, caller: Caller | None = None,
) -> Decision:
    """`units_q` are the quarter-units the agent means to use (allowances); `channel` may change the rank
    needed (channel_min_rank); `caller` is the person asking, for clients that restrict service to their contacts."""
    policy = catalog.policy
    if client is None or client.status is ClientStatus.ARCHIVED:
        code = ReasonCode.UNKNOWN_CLIENT if client is None else ReasonCode.CLIENT_INACTIVE
        allowed = _open_to_anyone(service, channel)
        detail = "caller not found" if client is None else "the client account is archived"
        detail += "; only services open to anyone are allowed" if not allowed else ""
        contract = _NO_CONTRACT if client is None else contract_view(client, catalog, at)
        return Decision(
            allowed=allowed,
            service=service.code,
            reasons=(Reason(code, detail),),
            contract=contract,
            membership=MembershipView(plan=None, rank=0, status=None, current_period_end=None),
            routing=policy.default_routing,
            sla=policy.default_sla,
            upsell=(),
            evaluated_at=at,
            sla_clock=sla_clock(policy.default_sla, sla_calendar(None, catalog), at),
        )

    contract = contract_view(client, catalog, at)
    granted = membership_grants(client.membership, catalog, at)
    membership = membership_view(client.membership, granted)
    routing = granted.routing if granted else policy.default_routing
    sla = granted.sla if granted else policy.default_sla
    clock = sla_clock(sla, sla_calendar(granted, catalog), at)
    allowance = client_allowance(client, granted, service.code, at)

    def answer(
        allowed: bool, reasons: list[Reason], upsell: tuple[Plan, ...] = (), approvers: tuple[Contact, ...] = ()
    ) -> Decision:
        return Decision(
            allowed=allowed,
            service=service.code,
            reasons=tuple(reasons),
            contract=contract,
            membership=membership,
            routing=routing,
            sla=sla,
            upsell=upsell,
            evaluated_at=at,
            sla_clock=clock,
            allowance=allowance,
            approvers=approvers,
        )

    # The client's own restriction comes first: not even an override lets a stranger order work.
    refusal = contact_refusal(client, service, caller)
    if refusal is not None:
        return answer(False, [refusal], approvers=approvers_of(client))

    for override in client.overrides:
        if override.service_code == service.code and override.active_at(at):
            detail = f"exception granted until {override.expires_at.isoformat()}"
            return answer(True, [Reason(ReasonCode.OVERRIDE, detail)])

    if service.requires_contract and contract.status in _REFUSING_STATUS:
        code, detail = _REFUSING_STATUS[contract.status]
        return answer(False, [Reason(code, detail)])

    min_rank = rank_needed(service, channel)
    if membership.rank < min_rank:
        upsell = plans_granting(service, catalog, min_rank)
        names = ", ".join(p.name for p in upsell) or "no plan on sale"
        detail = f"needs a membership of rank {min_rank} or higher ({names})"
        if channel_ranked(service, channel):
            detail = f"through the channel {channel} {detail}"
        return answer(False, [Reason(ReasonCode.TIER_REQUIRED, detail)], upsell)

    warnings: list[Reason] = []
    if allowance is not None:
        refusal = allowance_reason(allowance, units_q)
        if refusal is not None and refusal.code in (ReasonCode.ALLOWANCE_EXHAUSTED, ReasonCode.APPROVAL_REQUIRED):
            return answer(False, [refusal])
        if refusal is not None:
            warnings.append(refusal)
    if contract.status is ContractStatus.PENDING and contract.grace_until is not None:
        warnings.append(
            Reason(ReasonCode.CONTRACT_PENDING, f"contract not signed yet; grace until {contract.grace_until.isoformat()}")
        )
    elif contract.status is ContractStatus.NOT_CONFIGURED:
        warnings.append(Reason(ReasonCode.CONTRACT_NOT_CONFIGURED, "no contract version is published yet"))
    if granted is not None and client.membership is not None and client.membership.status is MembershipStatus.PAST_DUE:
        warnings.append(Reason(ReasonCode.MEMBERSHIP_PAST_DUE, "membership payment is past due"))
    return answer(True, warnings)


def client_allowance(client: ClientState, granted: Plan | None, service_code: str, at: datetime) -> AllowanceView | None:
    """The client's allowance of the service at `at`: its plan's (if the membership grants one) and its blocks.
    A view holds from the period's start (or the last block expiry) to its end (or the next block expiry),
    so the state remembers it for the checks that follow."""
    plan_allowance = next((a for a in granted.allowances if a.service == service_code), None) if granted else None
    if plan_allowance is None and not client.allowance_grants:
        return None
    hit = client.memo.get(service_code)
    if isinstance(hit, tuple) and hit[3] is plan_allowance and hit[0] <= at < hit[1]:
        view: AllowanceView | None = hit[2]
        return view
    view = allowance_view(service_code, plan_allowance, client.allowance_grants, client.allowance_legs, at, client.created_at)
    if view is not None:
        expiries = [g.expires_at for g in client.allowance_grants if g.service == service_code and g.expires_at is not None]
        since = max([view.period_start, *(e for e in expiries if e <= at)])
        until = min([view.period_end, *(e for e in expiries if e > at)])
        client.memo[service_code] = (since, until, view, plan_allowance)
    return view


def allowance_reason(view: AllowanceView, units_q: int) -> Reason | None:
    """The allowance rule (after the tier rule): refusal, overage or low-units warning, or nothing."""
    if view.remaining_q < units_q:
        if view.policy is OveragePolicy.REFUSE:
            return Reason(ReasonCode.ALLOWANCE_EXHAUSTED, f"{view.sentence()}; the plan refuses more")
        if view.policy is OveragePolicy.APPROVAL:
            return Reason(ReasonCode.APPROVAL_REQUIRED, f"{view.sentence()}; more needs an approval (an override)")
        return Reason(ReasonCode.ALLOWANCE_OVERAGE, f"{view.sentence()}; more is billable")
    if view.is_low:
        return Reason(ReasonCode.ALLOWANCE_LOW, view.sentence())
    return None
