"""Campaign rules: who a contract campaign targets, its steps per client, which step is due (PRODUCT.md "Campaign")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.domain.contract import contract_view, grace_deadline
from service.domain.model import (
    AcceptanceDecision,
    Catalog,
    ClientState,
    ClientStatus,
    ContractStatus,
    ContractVersion,
)

INITIAL = "initial"
DEFAULT_REMINDER_DAYS = (14, 7, 2, 0)
MAX_REMINDER_DAYS = 365
# A client still to chase; `declined` only when the campaign asks for it.
CHASED = frozenset({ContractStatus.PENDING, ContractStatus.UNSIGNED, ContractStatus.EXPIRED})


def reminder_step(days: int) -> str:
    """The step name of the reminder `days` before the deadline (stable: part of the Message-ID)."""
    return f"reminder_{days}"


def is_reminder(step: str) -> bool:
    return step.startswith("reminder_")


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """What the rules need to know of one campaign."""

    contract_version: str
    reminder_days: tuple[int, ...]
    include_declined: bool
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    step: str
    due_at: datetime


def normalise_reminder_days(days: Iterable[int]) -> tuple[int, ...]:
    """Distinct days, furthest from the deadline first; a value out of 0..365 is a ValueError."""
    found = set()
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= MAX_REMINDER_DAYS:
            raise ValueError(f"a reminder day is a whole number of days from 0 to {MAX_REMINDER_DAYS}")
        found.add(day)
    return tuple(sorted(found, reverse=True))


def campaign_version(catalog: Catalog, label: str) -> ContractVersion | None:
    for version in catalog.versions:
        if version.version == label and version.published_at is not None:
            return version
    return None


def _declined_at(client: ClientState, label: str, at: datetime) -> datetime | None:
    """When the client's latest answer to `label` (as of `at`) is a decline, its time."""
    answers = [a for a in client.acceptances if a.contract_version == label and a.signed_at <= at]
    latest = max(answers, key=lambda a: (a.signed_at, a.decision is AcceptanceDecision.SIGNED), default=None)
    if latest is None or latest.decision is not AcceptanceDecision.DECLINED:
        return None
    return latest.signed_at


def is_target(client: ClientState, catalog: Catalog, rules: CampaignRules, *, has_email: bool, at: datetime) -> bool:
    """Whether the campaign still chases this client at `at`.

    Active, has an e-mail, the campaign's version is the one in force, and the client has not signed
    it. A declined client is chased only with `include_declined`, and only for a decline that came
    before the campaign started: a decline during the campaign is an answer, and stops it.
    """
    if client.status is not ClientStatus.ACTIVE or not has_email:
        return False
    view = contract_view(client, catalog, at)
    if view.current_version != rules.contract_version:
        return False
    if view.status in CHASED:
        return True
    if view.status is ContractStatus.DECLINED and rules.include_declined:
        declined_at = _declined_at(client, rules.contract_version, at)
        return declined_at is not None and declined_at < rules.started_at
    return False


def schedule(client: ClientState, catalog: Catalog, rules: CampaignRules) -> list[Step]:
    """The client's steps in order: the first message, then each reminder not already past when it started.

    The first message goes at the campaign's start (or when a client created later appears); a
    reminder due before that moment is skipped, not sent late.
    """
    version = campaign_version(catalog, rules.contract_version)
    if version is None:
        return []
    first = max(rules.started_at, client.created_at)
    deadline = grace_deadline(client, version, catalog.policy)
    steps = [Step(INITIAL, first)]
    for days in sorted(set(rules.reminder_days), reverse=True):
        due = deadline - timedelta(days=days)
        if due > first:
            steps.append(Step(reminder_step(days), due))
    return steps


def due_step(
    client: ClientState,
    catalog: Catalog,
    rules: CampaignRules,
    *,
    has_email: bool,
    sent: Mapping[str, datetime],
    unsubscribed: bool,
    now: datetime,
    bounced: bool = False,
) -> Step | None:
    """The one step to send now, or None.

    `sent` maps the steps already sent to when. At most one message per pass: the first message
    before anything else; then only the latest reminder whose time has come since the last message
    (when the scheduler was down, or the campaign paused, over a reminder day, that reminder is not
    sent late on top of another). Unsubscribing mutes reminders, never the first message; after a
    bounce nothing more goes to that address (the client is chased by phone).
    """
    if not is_target(client, catalog, rules, has_email=has_email, at=now):
        return None
    steps = schedule(client, catalog, rules)
    if not steps:
        return None
    first, reminders = steps[0], steps[1:]
    if first.step not in sent:
        return first if first.due_at <= now else None
    if unsubscribed or bounced:
        return None
    last_sent = max(sent.values())
    come = [s for s in reminders if last_sent < s.due_at <= now]
    if not come or come[-1].step in sent:
        return None
    return come[-1]


def days_left(deadline: datetime, now: datetime) -> int:
    """Whole days until the deadline, rounded up; 0 once it has passed (a letter never says "-3 days")."""
    seconds = (deadline - now).total_seconds()
    if seconds <= 0:
        return 0
    return int(-(-seconds // 86400))


def outcome(client: ClientState, catalog: Catalog, label: str, at: datetime) -> ContractStatus | None:
    """`signed` or `declined` when the client has answered the campaign's version by `at` (any route), else None."""
    view = contract_view(client, catalog, at)
    if view.current_version == label:
        if view.status in (ContractStatus.SIGNED, ContractStatus.DECLINED):
            return view.status
        return None
    # The campaign's version is no longer the one in force: its own latest answer.
    answers = [a for a in client.acceptances if a.contract_version == label and a.signed_at <= at]
    latest = max(answers, key=lambda a: (a.signed_at, a.decision is AcceptanceDecision.SIGNED), default=None)
    if latest is None:
        return None
    return ContractStatus.SIGNED if latest.decision is AcceptanceDecision.SIGNED else ContractStatus.DECLINED
