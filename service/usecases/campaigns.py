"""Contract campaigns: create, start, pause, resume; counts and recipients; preview; one-click unsubscribe."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain import campaign as rules
from service.domain import model as dm
from service.domain.contract import current_version, grace_deadline
from service.errors import Conflict, InvalidInput, NotFound
from service.ids import new_id
from service.settings import Settings
from service.storage import campaigns as store
from service.storage import tables as t
from service.storage.sql import SqlRepository
from service.usecases import audit
from service.usecases.campaign_mail import Letter, Templates, check_templates, letter_values, render, sender_name, token_hash
from service.usecases.mail import mail_status

RECIPIENT_STATUSES = ("waiting", "sent", "opened", "signed", "declined", "bounced", "unsubscribed")
COUNT_NAMES = ("targeted", "messages_sent", "opened", "signed", "declined", "bounced", "unsubscribed", "waiting")
# Mail outbox states that mean the message reached the recipient's server.
DELIVERED = frozenset({"sent"})
BOUNCED = frozenset({"bounced", "failed"})


@dataclass(frozen=True, slots=True)
class StepView:
    step: str
    due_at: datetime | None
    sent_at: datetime | None
    message_id: str | None
    mail_status: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientView:
    client_id: str
    client_name: str
    email: str
    status: str
    steps: list[StepView] = field(default_factory=list)


def rules_of(row: t.Campaign) -> rules.CampaignRules:
    assert row.started_at is not None
    return rules.CampaignRules(row.contract_version, tuple(row.reminder_days), row.include_declined, row.started_at)


def templates_of(row: t.Campaign) -> Templates:
    return Templates(row.subject_template, row.text_template, row.html_template)


def snapshot(row: t.Campaign) -> dict[str, Any]:
    return {"status": row.status, "contract_version": row.contract_version, "name": row.name,
            "reminder_days": list(row.reminder_days), "include_declined": row.include_declined}


def get_row(session: Session, campaign_id: str, *, for_update: bool = False) -> t.Campaign:
    row = store.get(session, campaign_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    return row


def create_campaign(
    session: Session, *, contract_version: str, name: str | None, reminder_days: Sequence[int] | None,
    include_declined: bool, from_address: str | None, reply_to: str | None, templates: Templates, actor: str, now: datetime,
) -> t.Campaign:
    version = SqlRepository(session).get_version(contract_version)
    if version is None:
        raise InvalidInput(f"unknown contract version {contract_version!r}",
                           errors=[{"loc": ["body", "contract_version"], "msg": "no such version"}])
    try:
        days = rules.normalise_reminder_days(rules.DEFAULT_REMINDER_DAYS if reminder_days is None else reminder_days)
    except ValueError as exc:
        raise InvalidInput(str(exc), errors=[{"loc": ["body", "reminder_days"], "msg": str(exc)}]) from None
    for label, address in (("from_address", from_address), ("reply_to", reply_to)):
        if address is not None and not _mail_address(address):
            raise InvalidInput(f"{label} is not an e-mail address",
                               errors=[{"loc": ["body", label], "msg": "e.g. Support <support@example.com>"}])
    check_templates(templates)
    row = t.Campaign(
        id=new_id("cmp"), contract_version=contract_version, name=name or f"Contract {contract_version}",
        reminder_days=list(days), include_declined=include_declined, from_address=from_address, reply_to=reply_to,
        subject_template=templates.subject, text_template=templates.text, html_template=templates.html,
        status="draft", actor=actor, created_at=now, updated_at=now, started_at=None, paused_at=None, finished_at=None,
    )
    session.add(row)
    session.flush()
    audit.record(session, kind="campaign.created", actor=actor, at=now, scope="none", subject=row.id, after=snapshot(row))
    return row


def _mail_address(value: str) -> bool:
    """A header-safe address, bare or with a display name (a line break would inject headers)."""
    if any(ch in value for ch in "\r\n\0"):
        return False
    _name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address)


# Which transitions each action allows: from -> to.
_MOVES = {"start": ({"draft"}, "running"), "pause": ({"running"}, "paused"), "resume": ({"paused"}, "running")}


def move(session: Session, catalog: dm.Catalog, campaign_id: str, action: str, *, actor: str, now: datetime) -> t.Campaign:
    """start | pause | resume; the same action twice is a no-op, a move from the wrong state is 409."""
    row = get_row(session, campaign_id, for_update=True)
    allowed, target = _MOVES[action]
    if row.status == target:
        return row
    if row.status not in allowed:
        raise Conflict(f"a {row.status} campaign cannot be {'resumed' if action == 'resume' else action + 'ed'}")
    if action == "start":
        if rules.campaign_version(catalog, row.contract_version) is None:
            raise Conflict(f"contract version {row.contract_version!r} is not published yet: publish it, then start")
        row.started_at = now
    before = snapshot(row)
    try:
        with session.begin_nested():
            row.status = target
            row.paused_at = now if target == "paused" else None
            row.updated_at = now
            session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(f"another campaign for {row.contract_version} is running or paused: finish or pause that one") from None
    audit.record(session, kind=f"campaign.{action}ed" if action != "pause" else "campaign.paused", actor=actor, at=now,
                 scope="none", subject=row.id, before=before, after=snapshot(row))
    return row


def superseded(catalog: dm.Catalog, row: t.Campaign, now: datetime) -> bool:
    """A campaign whose version is no longer in force has nobody left to chase."""
    current = current_version(catalog.versions, now)
    return current is not None and current.version != row.contract_version


def finish(session: Session, row: t.Campaign, now: datetime) -> None:
    before = snapshot(row)
    row.status, row.finished_at, row.updated_at = "finished", now, now
    session.flush()
    audit.record(session, kind="campaign.finished", actor="scheduler", at=now, scope="none", subject=row.id,
                 before=before, after=snapshot(row))


# ---- who stands where ----------------------------------------------------------------------------

def targets(
    session: Session, catalog: dm.Catalog, campaign: rules.CampaignRules, now: datetime, batch: int = 500
) -> Iterator[tuple[dm.ClientState, str]]:
    """Clients the campaign chases now, with the e-mail it writes to (first live address)."""
    repo = SqlRepository(session)
    after: str | None = None
    while True:
        found = store.candidates(session, catalog, now, after=after, limit=batch)
        for client_id, email in found:
            state = repo.load_client_state(client_id)
            if state is not None and rules.is_target(state, catalog, campaign, has_email=True, at=now):
                yield state, email
        if len(found) < batch:
            return
        after = found[-1][0]


def _targets(session: Session, catalog: dm.Catalog, row: t.Campaign, now: datetime) -> Iterator[tuple[dm.ClientState, str]]:
    draft_rules = rules.CampaignRules(row.contract_version, tuple(row.reminder_days), row.include_declined,
                                      row.started_at or now)
    return targets(session, catalog, draft_rules, now)


def recipient_status(
    outcome: dm.ContractStatus | None, recipient: t.CampaignRecipient | None, messages: list[t.CampaignMessage],
    mail: dict[str, str], opened: set[str],
) -> str:
    """One word for where a client stands; an answer to the contract outranks anything about the mail."""
    if outcome is dm.ContractStatus.SIGNED:
        return "signed"
    if outcome is dm.ContractStatus.DECLINED:
        return "declined"
    if any(mail.get(m.message_id) in BOUNCED for m in messages):
        return "bounced"
    if recipient is not None and recipient.unsubscribed_at is not None:
        return "unsubscribed"
    if any(m.signing_link_id in opened for m in messages):
        return "opened"
    if messages:
        return "sent"
    return "waiting"


def recipients(session: Session, catalog: dm.Catalog, row: t.Campaign, now: datetime) -> list[RecipientView]:
    """Everyone the campaign wrote to, and everyone it still would (waiting), by client name."""
    repo = SqlRepository(session)
    written = store.recipients(session, row.id)
    by_client: dict[str, list[t.CampaignMessage]] = {}
    for message in store.messages(session, row.id):
        by_client.setdefault(message.client_id, []).append(message)
    mail = mail_status(session, [m.message_id for ms in by_client.values() for m in ms])
    opened = store.opened_links(session, [m.signing_link_id for ms in by_client.values() for m in ms if m.signing_link_id])
    states: dict[str, tuple[dm.ClientState, str]] = {}
    if row.status in ("draft", "running", "paused"):
        states = {state.id: (state, email) for state, email in _targets(session, catalog, row, now)}
    for client_id, recipient in written.items():
        if client_id not in states:
            state = repo.load_client_state(client_id)
            if state is not None:
                states[client_id] = (state, recipient.email)
    views = [
        _recipient_view(row, catalog, state, email, by_client.get(client_id, []), written.get(client_id), mail, opened, now)
        for client_id, (state, email) in states.items()
    ]
    views.sort(key=lambda v: (v.client_name.lower(), v.client_id))
    return views


def _recipient_view(
    row: t.Campaign, catalog: dm.Catalog, state: dm.ClientState, email: str, messages: list[t.CampaignMessage],
    recipient: t.CampaignRecipient | None, mail: dict[str, str], opened: set[str], now: datetime,
) -> RecipientView:
    """One client's standing: its steps planned (while it has not answered) and those sent."""
    outcome = rules.outcome(state, catalog, row.contract_version, now)
    status = recipient_status(outcome, recipient, messages, mail, opened)
    sent = {m.step: m for m in messages}
    planned: list[rules.Step] = []
    if rules.campaign_version(catalog, row.contract_version) is not None and row.started_at is not None and outcome is None:
        planned = rules.schedule(state, catalog, rules_of(row))
        if recipient is not None and recipient.unsubscribed_at is not None:
            planned = [s for s in planned if not rules.is_reminder(s.step) or s.step in sent]
    steps = [StepView(s.step, s.due_at, sent[s.step].created_at if s.step in sent else None,
                      sent[s.step].message_id if s.step in sent else None,
                      mail.get(sent[s.step].message_id) if s.step in sent else None) for s in planned]
    listed = {s.step for s in planned}
    steps += [StepView(m.step, m.due_at, m.created_at, m.message_id, mail.get(m.message_id))
              for m in messages if m.step not in listed]
    steps.sort(key=lambda s: (s.due_at or s.sent_at or now))
    return RecipientView(state.id, state.name, email, status, steps)


def client_campaigns(session: Session, catalog: dm.Catalog, client_id: str, now: datetime) -> list[tuple[t.Campaign, RecipientView]]:
    """The client card's view: each started campaign that wrote to this client or still chases it."""
    state = SqlRepository(session).load_client_state(client_id)
    if state is None:
        return []
    emails = store.client_emails(session, client_id)
    found = []
    for row in store.started(session):
        recipient = store.recipient(session, row.id, client_id)
        messages = store.messages(session, row.id, [client_id])
        chased = row.status in ("running", "paused") and row.started_at is not None and rules.is_target(
            state, catalog, rules_of(row), has_email=bool(emails), at=now)
        if recipient is None and not messages and not chased:
            continue
        email = recipient.email if recipient is not None else (emails[0] if emails else "")
        mail = mail_status(session, [m.message_id for m in messages])
        opened = store.opened_links(session, [m.signing_link_id for m in messages if m.signing_link_id])
        found.append((row, _recipient_view(row, catalog, state, email, messages, recipient, mail, opened, now)))
    return found


def counts(views: list[RecipientView]) -> dict[str, int]:
    found = dict.fromkeys(COUNT_NAMES, 0)
    found["targeted"] = len(views)
    for view in views:
        if view.status in found:  # "sent" has no count of its own: messages_sent counts the messages
            found[view.status] += 1
        found["messages_sent"] += sum(1 for s in view.steps if s.mail_status in DELIVERED)
    return found


# ---- letters -------------------------------------------------------------------------------------

def compose(
    templates: Templates, from_address: str | None, version: t.ContractVersion, state: dm.ClientState, catalog: dm.Catalog,
    settings: Settings, *, step: str, signing_url: str, now: datetime,
) -> Letter:
    """The letter of one step to one client, with the client's own deadline and days left."""
    published = rules.campaign_version(catalog, version.version)
    deadline = grace_deadline(state, published, catalog.policy) if published is not None else now
    values = letter_values(
        client_name=state.name, contract_title=version.title, contract_version=version.version, signing_url=signing_url,
        deadline=deadline, days_left=rules.days_left(deadline, now),
        sender_name=sender_name(from_address or settings.mail_from), step=step, now=now,
    )
    return render(templates, values)


def letter_for(
    row: t.Campaign, version: t.ContractVersion, state: dm.ClientState, catalog: dm.Catalog, settings: Settings, *,
    step: str, signing_url: str, now: datetime,
) -> Letter:
    return compose(templates_of(row), row.from_address, version, state, catalog, settings, step=step,
                   signing_url=signing_url, now=now)


def preview(session: Session, catalog: dm.Catalog, settings: Settings, campaign_id: str, client_id: str, now: datetime) -> Letter:
    """The first message this client would get, with a placeholder link; nothing is created or sent."""
    row = get_row(session, campaign_id)
    repo = SqlRepository(session)
    state = repo.load_client_state(client_id)
    if state is None:
        raise InvalidInput(f"unknown client {client_id!r}", errors=[{"loc": ["body", "client_id"], "msg": "no such client"}])
    version = repo.get_version(row.contract_version)
    assert version is not None
    url = f"{settings.public_url.rstrip('/')}/sign/preview-link-not-valid"
    return letter_for(row, version, state, catalog, settings, step=rules.INITIAL, signing_url=url, now=now)


def unsubscribe(session: Session, token: str, now: datetime) -> bool:
    """Mute the reminders of one campaign for one client (RFC 8058); an unknown token changes nothing."""
    message = store.message_by_token_hash(session, token_hash(token))
    if message is None:
        return False
    recipient = store.recipient(session, message.campaign_id, message.client_id)
    if recipient is None or recipient.unsubscribed_at is not None:
        return recipient is not None
    recipient.unsubscribed_at = now
    session.flush()
    audit.record(session, kind="campaign.unsubscribed", actor="recipient", at=now, scope="none", client_id=message.client_id,
                 subject=message.campaign_id, after={"email": recipient.email})
    return True


def new_unsubscribe_token() -> str:
    return secrets.token_urlsafe(24)


def campaign_page(session: Session, *, limit: int, after: tuple[datetime, str] | None) -> Sequence[t.Campaign]:
    """A page of campaigns, newest first."""
    return store.page(session, limit=limit, after=after)


def client_emails(session: Session, client_id: str) -> list[str]:
    """The client's live e-mail addresses (where a campaign writes)."""
    return store.client_emails(session, client_id)


def first_target(session: Session, catalog: dm.Catalog, contract_version: str, now: datetime) -> str | None:
    """A client a new campaign for `contract_version` would write to, for the preview (None: nobody to write to)."""
    if rules.campaign_version(catalog, contract_version) is None:
        return None
    campaign = rules.CampaignRules(contract_version, rules.DEFAULT_REMINDER_DAYS, False, now)
    first = next(targets(session, catalog, campaign, now, batch=200), None)
    return first[0].id if first else None
