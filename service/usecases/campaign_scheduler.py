"""The campaign scheduler: a periodic job that writes each due (campaign, client, step) exactly once.

A step's row (unique on campaign, client, step), its signing link and its queued mail are written in
one transaction: a pass that dies writes nothing, and of two replicas racing for the same step one
inserts the row and the other meets the unique constraint and skips it. The mail outbox delivers.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain import campaign as rules
from service.domain import model as dm
from service.ids import new_id
from service.settings import Settings
from service.storage import campaigns as store
from service.storage import tables as t
from service.storage.database import Database
from service.storage.sql import SqlRepository
from service.usecases import campaign_mail as letters
from service.usecases.campaigns import BOUNCED, finish, letter_for, new_unsubscribe_token, rules_of, superseded
from service.usecases.jobs import JobContext, job_handler, periodic
from service.usecases.mail import mail_status, queue_mail
from service.usecases.signing_links import create_signing_link

log = logging.getLogger("supportgate.campaigns")

KIND = "campaigns.schedule"
BATCH = 200


def policy_of(settings: Settings) -> dm.Policy:
    """The part of the policy the grace deadline reads (the rest only matters to decisions)."""
    return dm.Policy(new_client_grace_days=settings.new_client_grace_days, dunning_grace_days=settings.dunning_grace_days)


def _ensure_recipient(session: Session, campaign_id: str, client_id: str, email: str, now: datetime) -> None:
    if store.recipient(session, campaign_id, client_id) is not None:
        return
    try:
        with session.begin_nested():
            session.execute(sa.insert(t.CampaignRecipient).values(
                id=new_id("crc"), campaign_id=campaign_id, client_id=client_id, email=email, unsubscribed_at=None,
                created_at=now,
            ))
    except sa.exc.IntegrityError:
        pass  # written by a concurrent pass


def send_step(
    session: Session, row: t.Campaign, version: t.ContractVersion, state: dm.ClientState, email: str, step: rules.Step,
    catalog: dm.Catalog, settings: Settings, now: datetime,
) -> bool:
    """Write one step (row, signing link, queued mail) in the session's transaction; False if already written."""
    message_id = letters.message_id(settings.public_url, row.id, state.id, step.step)
    token = new_unsubscribe_token() if rules.is_reminder(step.step) else None
    message_row_id = new_id("cms")
    inserted = store.insert_message(session, {
        "id": message_row_id, "campaign_id": row.id, "client_id": state.id, "step": step.step, "due_at": step.due_at,
        "email": email, "message_id": message_id, "signing_link_id": None,
        "unsubscribe_token_hash": letters.token_hash(token) if token else None, "created_at": now,
    })
    if not inserted:
        return False
    _ensure_recipient(session, row.id, state.id, email, now)
    link, url = create_signing_link(session, client_id=state.id, email=email, contract_version=row.contract_version,
                                    now=now, actor=f"campaign:{row.id}", public_url=settings.public_url)
    session.execute(sa.update(t.CampaignMessage).where(t.CampaignMessage.id == message_row_id)
                    .values(signing_link_id=link.id))
    letter = letter_for(row, version, state, catalog, settings, step=step.step, signing_url=url, now=now)
    queue_mail(
        session, to=email, subject=letter.subject, text=letter.text, html=letter.html, message_id=message_id,
        headers=letters.headers(campaign_id=row.id, step=step.step, public_url=settings.public_url,
                                unsubscribe_token=token, reply_to=row.reply_to, from_address=row.from_address),
        ref_kind="campaign", ref_id=row.id, now=now,
    )
    return True


def _due_step(
    row: t.Campaign, catalog: dm.Catalog, state: dm.ClientState, recipient: t.CampaignRecipient | None,
    messages: list[t.CampaignMessage], mail: dict[str, str], now: datetime,
) -> rules.Step | None:
    return rules.due_step(
        state, catalog, rules_of(row), has_email=True, sent={m.step: m.created_at for m in messages},
        unsubscribed=recipient is not None and recipient.unsubscribed_at is not None, now=now,
        bounced=any(mail.get(m.message_id) in BOUNCED for m in messages),
    )


def _due_in_batch(
    session: Session, row: t.Campaign, catalog: dm.Catalog, batch: list[tuple[str, str]], now: datetime,
) -> list[tuple[str, str]]:
    """The clients of a batch with a step due (a read: the recipients and messages of the batch at once)."""
    ids = [client_id for client_id, _ in batch]
    recipients = store.recipients(session, row.id, ids)
    messages: dict[str, list[t.CampaignMessage]] = {}
    for message in store.messages(session, row.id, ids):
        messages.setdefault(message.client_id, []).append(message)
    mail = mail_status(session, [m.message_id for ms in messages.values() for m in ms])
    repo = SqlRepository(session)
    due = []
    for client_id, email in batch:
        state = repo.load_client_state(client_id)
        sent = messages.get(client_id, [])
        if state is not None and _due_step(row, catalog, state, recipients.get(client_id), sent, mail, now):
            due.append((client_id, email))
    return due


def _write_one(
    db: Database, settings: Settings, catalog: dm.Catalog, campaign_id: str, client_id: str, email: str, now: datetime,
) -> str:
    """One client's due step in its own transaction: written | none | stopped (the campaign is no longer running).

    Everything is read again inside the transaction: a pause, a signature or another replica's
    message since the batch was read is respected."""
    with db.writer() as session:
        row = store.get(session, campaign_id)
        if row is None or row.status != "running":
            return "stopped"
        repo = SqlRepository(session)
        state = repo.load_client_state(client_id)
        if state is None:
            return "none"
        recipient = store.recipient(session, row.id, client_id)
        messages = store.messages(session, row.id, [client_id])
        step = _due_step(row, catalog, state, recipient, messages, mail_status(session, [m.message_id for m in messages]), now)
        if step is None:
            return "none"
        version = repo.get_version(row.contract_version)
        assert version is not None
        # A recipient keeps the address its first message went to while the client still has it.
        live = store.client_emails(session, client_id)
        address = recipient.email if recipient is not None and recipient.email in live else email
        if recipient is not None and recipient.email != address:
            recipient.email = address
        written = send_step(session, row, version, state, address, step, catalog, settings, now)
        session.commit()
        return "written" if written else "none"


def _pass_over(db: Database, settings: Settings, campaign_id: str, now: datetime) -> int:
    """Read a batch of candidates, then write each due step in a transaction of its own: a failure (or a
    replica that got there first) costs that one step of this pass, and a pause stops the pass at once."""
    written = 0
    after: str | None = None
    while True:
        with db.reader() as session:
            catalog = SqlRepository(session).load_catalog(policy_of(settings))
            row = store.get(session, campaign_id)
            if row is None or row.status != "running":
                return written
            if superseded(catalog, row, now):
                _finish(db, campaign_id, now)
                return written
            batch = store.candidates(session, catalog, now, after=after, limit=BATCH)
            due = _due_in_batch(session, row, catalog, batch, now)
        for client_id, email in due:
            try:
                outcome = _write_one(db, settings, catalog, campaign_id, client_id, email, now)
            except Exception as exc:  # one client's failure must not hold up the others
                log.warning("campaign step not written", extra={"campaign_id": campaign_id, "client_id": client_id,
                                                                "error": type(exc).__name__})
                continue
            if outcome == "stopped":
                return written
            written += outcome == "written"
        if len(batch) < BATCH:
            return written
        after = batch[-1][0]


def _finish(db: Database, campaign_id: str, now: datetime) -> None:
    with db.writer() as session:
        row = store.get(session, campaign_id, for_update=True)
        if row is not None and row.status == "running":
            finish(session, row, now)
            session.commit()


def run_pass(db: Database, settings: Settings, now: datetime) -> int:
    """Write every step due at `now` in every running campaign; returns how many were written."""
    with db.reader() as session:
        campaign_ids = [row.id for row in store.running(session)]
    written = 0
    for campaign_id in campaign_ids:
        written += _pass_over(db, settings, campaign_id, now)
    if written:
        log.info("campaign steps queued", extra={"count": written})
    return written


@job_handler(KIND)
def scheduled_pass(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"queued": run_pass(ctx.db, ctx.settings, ctx.now())}


periodic(KIND, every=lambda settings: settings.scheduler_interval_seconds)
