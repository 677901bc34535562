"""The decision scenarios of PRODUCT.md as one table: run on the pure domain (tests/unit/test_decision.py) and
through HTTP (tests/api/test_rules.py), so both read the same rules and neither copies the other.

Times are days from the moment the client is created ("now"): a version published at 0 comes after the client,
one published before it makes the client a new one (its own grace from its creation). What HTTP cannot set up
(a signature in the future, a client created in the past) stays out of the table; such cases are unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MINUTE = 1 / (24 * 60)

# The catalog both runs decide on: the services the first migration seeds and the plans of tests.helpers.put_plans.
SERVICES: dict[str, tuple[str, bool, int]] = {  # code: (name, requires_contract, min_rank)
    "triage": ("Triage", False, 0),
    "remote_support": ("Remote support", True, 0),
    "advanced_support": ("Advanced support", True, 0),
    "onsite_support": ("On-site support", True, 0),
    "priority_support": ("Priority support", True, 1),
    "proactive_monitoring": ("Proactive monitoring", True, 1),
    "priority_onsite": ("Priority on-site", True, 2),
}
PLANS: dict[str, tuple[str, int, int, str, str]] = {  # code: (name, rank, price in cents, priority, queue)
    "silver": ("Silver", 1, 4900, "normal", "silver"),
    "gold": ("Gold", 2, 14900, "high", "priority"),
}


def plan_sla(rank: int) -> tuple[int, int]:
    """(first response minutes, on-site hours) of a plan of that rank."""
    return 30 * rank, 8 * rank


@dataclass(frozen=True)
class Version:
    version: str = "2026.1"
    published: float = 0
    grace_days: int = 30
    term_days: int | None = None


@dataclass(frozen=True)
class Answer:
    """A signature or a decline, on paper; never in the future nor before its version was published."""

    version: str
    decision: str
    at: float


@dataclass(frozen=True)
class Member:
    plan: str
    status: str
    period_end: float | None


@dataclass(frozen=True)
class OverrideGiven:
    """A time-boxed override granted now for one service, perhaps revoked at once."""

    service: str
    expires: float
    revoked: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    expect: dict[str, Any]
    service: str = "advanced_support"
    versions: tuple[Version, ...] = (Version(),)
    known: bool = True
    archived: bool = False
    answers: tuple[Answer, ...] = ()
    membership: Member | None = None
    overrides: tuple[OverrideGiven, ...] = ()
    grace_until: float | None = None
    at: float = 0


def outcome(expect: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The expected keys of an answer, to compare with `expect` in one assert."""
    return {key: found.get(key) for key in expect}


SIGNED_NOW = (Answer("2026.1", "signed", 0),)

SCENARIOS: tuple[Scenario, ...] = (
    # ---- the contract status table
    Scenario("no version published: allowed with a warning", versions=(),
             expect={"allowed": True, "reasons": ["CONTRACT_NOT_CONFIGURED"], "contract_status": "not_configured"}),
    Scenario("the current version signed: allowed without reasons", answers=SIGNED_NOW,
             expect={"allowed": True, "reasons": [], "contract_status": "signed", "signed_version": "2026.1"}),
    Scenario("unsigned inside the grace period: pending", at=29,
             expect={"allowed": True, "reasons": ["CONTRACT_PENDING"], "contract_status": "pending"}),
    Scenario("unsigned after the grace period: refused", at=31,
             expect={"allowed": False, "reasons": ["CONTRACT_UNSIGNED"], "contract_status": "unsigned"}),
    Scenario("an older version signed: pending, and says which",
             versions=(Version("2025.1", published=-1), Version("2026.1", grace_days=10)),
             answers=(Answer("2025.1", "signed", -1 / 24),), at=1,
             expect={"reasons": ["CONTRACT_PENDING"], "signed_version": "2025.1", "current_version": "2026.1"}),
    Scenario("an older version signed: unsigned after the grace period",
             versions=(Version("2025.1", published=-1), Version("2026.1", grace_days=10)),
             answers=(Answer("2025.1", "signed", -1 / 24),), at=11,
             expect={"allowed": False, "reasons": ["CONTRACT_UNSIGNED"], "contract_status": "unsigned",
                     "signed_version": "2025.1", "current_version": "2026.1"}),
    Scenario("a client newer than the version has its own grace", versions=(Version(published=-1, grace_days=0),), at=13,
             expect={"allowed": True, "reasons": ["CONTRACT_PENDING"]}),
    Scenario("a new client's own grace ends", versions=(Version(published=-1, grace_days=0),), at=15,
             expect={"allowed": False, "reasons": ["CONTRACT_UNSIGNED"]}),
    Scenario("a grace extension for one client holds", versions=(Version(grace_days=5),), grace_until=20, at=10,
             expect={"allowed": True, "reasons": ["CONTRACT_PENDING"]}),
    Scenario("a grace extension for one client ends", versions=(Version(grace_days=5),), grace_until=20, at=21,
             expect={"allowed": False, "reasons": ["CONTRACT_UNSIGNED"]}),
    Scenario("declined: refused", versions=(Version(published=-1 / 24),),
             answers=(Answer("2026.1", "declined", -5 * MINUTE),),
             expect={"allowed": False, "reasons": ["CONTRACT_DECLINED"], "contract_status": "declined"}),
    Scenario("a signature after a decline wins", versions=(Version(published=-1 / 24),),
             answers=(Answer("2026.1", "declined", -5 * MINUTE), Answer("2026.1", "signed", -1 * MINUTE)),
             expect={"allowed": True, "reasons": [], "contract_status": "signed"}),
    Scenario("a decline after a signature is the latest answer", versions=(Version(published=-1 / 24),),
             answers=(Answer("2026.1", "signed", -5 * MINUTE), Answer("2026.1", "declined", -1 * MINUTE)),
             expect={"allowed": False, "reasons": ["CONTRACT_DECLINED"]}),
    Scenario("a signature within its term", versions=(Version(term_days=10),), answers=SIGNED_NOW, at=9,
             expect={"allowed": True, "contract_status": "signed"}),
    Scenario("a signature past its term: expired", versions=(Version(term_days=10),), answers=SIGNED_NOW, at=11,
             expect={"allowed": False, "reasons": ["CONTRACT_EXPIRED"], "contract_status": "expired"}),
    Scenario("triage never needs the contract", service="triage", answers=(Answer("2026.1", "declined", 0),),
             expect={"allowed": True}),
    # ---- who asks
    Scenario("an unknown caller is refused a contract service", known=False,
             expect={"allowed": False, "reasons": ["UNKNOWN_CLIENT"], "client": None}),
    Scenario("an unknown caller gets triage", known=False, service="triage",
             expect={"allowed": True, "reasons": ["UNKNOWN_CLIENT"]}),
    Scenario("an archived client is inactive", archived=True, answers=SIGNED_NOW,
             membership=Member("gold", "active", 30),
             expect={"allowed": False, "reasons": ["CLIENT_INACTIVE"]}),
    Scenario("an archived client gets triage", archived=True, service="triage", answers=SIGNED_NOW,
             expect={"allowed": True}),
    # ---- overrides
    Scenario("an override lets an unsigned client through", versions=(Version(grace_days=0),),
             overrides=(OverrideGiven("advanced_support", expires=1),),
             expect={"allowed": True, "reasons": ["OVERRIDE"]}),
    Scenario("an override ends when it expires", versions=(Version(grace_days=0),),
             overrides=(OverrideGiven("advanced_support", expires=1),), at=2,
             expect={"allowed": False, "reasons": ["CONTRACT_UNSIGNED"]}),
    Scenario("an override is for its service only", versions=(Version(grace_days=0),), service="onsite_support",
             overrides=(OverrideGiven("advanced_support", expires=1),),
             expect={"allowed": False, "reasons": ["CONTRACT_UNSIGNED"]}),
    Scenario("a revoked override lets nobody through", versions=(Version(grace_days=0),),
             overrides=(OverrideGiven("advanced_support", expires=1, revoked=True),),
             expect={"allowed": False, "reasons": ["CONTRACT_UNSIGNED"]}),
    # ---- tiers and memberships
    Scenario("a service above the client's rank names the plans that grant it", service="priority_support",
             answers=SIGNED_NOW,
             expect={"allowed": False, "reasons": ["TIER_REQUIRED"], "upsell": ["silver", "gold"]}),
    Scenario("the upsell lists only plans of the service's rank or above", service="priority_onsite", answers=SIGNED_NOW,
             expect={"allowed": False, "upsell": ["gold"]}),
    Scenario("a member gets the plan's routing and SLA", service="priority_onsite", answers=SIGNED_NOW,
             membership=Member("gold", "active", 30),
             expect={"allowed": True, "reasons": [], "plan": "gold", "rank": 2, "routing": ("high", "priority"),
                     "sla": plan_sla(2)}),
    Scenario("a membership past its period end grants nothing", service="priority_onsite", answers=SIGNED_NOW,
             membership=Member("gold", "active", 30), at=31,
             expect={"allowed": False, "reasons": ["TIER_REQUIRED"], "rank": 0}),
    Scenario("a trialing membership grants its rank", service="priority_support", answers=SIGNED_NOW,
             membership=Member("silver", "trialing", 10), expect={"allowed": True, "rank": 1}),
    Scenario("a canceled membership grants nothing", service="priority_support", answers=SIGNED_NOW,
             membership=Member("silver", "canceled", 10), expect={"allowed": False, "rank": 0}),
    Scenario("an expired membership grants nothing", service="priority_support", answers=SIGNED_NOW,
             membership=Member("silver", "expired", 10), expect={"allowed": False, "rank": 0}),
    Scenario("past due inside the dunning grace: allowed with a warning", service="priority_support",
             answers=SIGNED_NOW, membership=Member("silver", "past_due", -1),
             expect={"allowed": True, "reasons": ["MEMBERSHIP_PAST_DUE"], "rank": 1}),
    Scenario("past due after the dunning grace: refused", service="priority_support", answers=SIGNED_NOW,
             membership=Member("silver", "past_due", -1), at=7,
             expect={"allowed": False, "reasons": ["TIER_REQUIRED"], "rank": 0}),
)
