"""The durable mail outbox: queue in the caller's transaction, deliver off the request loop, retry with backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.mail.transport import MailTransport, PermanentMailError, TemporaryMailError, build_transport
from service.settings import Settings
from service.storage import mail as store
from service.storage import tables as t
from service.storage.database import Database
from service.usecases import audit

log = logging.getLogger("supportgate.mail")

# A claimed row is left alone by other workers this long (much longer than one SMTP conversation).
LEASE = timedelta(minutes=5)
# A round stops starting new sends after this (one SMTP attempt times out after 30 s), well inside LEASE.
SEND_BUDGET = timedelta(minutes=3)
MAX_RETRY_DELAY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=3)
# Headers a caller may not set: they are the message's identity, written from the row.
RESERVED = {"message-id", "to", "subject", "date"}


def angle(message_id: str) -> str:
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def new_message_id(domain: str = "supportgate") -> str:
    return make_msgid(domain=domain)


def queue_mail(
    session: Session, *, to: str, subject: str, text: str, html: str | None, message_id: str,
    headers: dict[str, str] | None = None, ref_kind: str | None = None, ref_id: str | None = None, now: datetime,
) -> str:
    """Queue one message in the caller's transaction; the id of its outbox row. The same
    message_id again adds nothing and returns the first row's id (exactly once per Message-ID)."""
    extra = {k: v for k, v in (headers or {}).items() if k.lower() not in RESERVED}
    _check_fields(to, subject, message_id, extra)
    row = store.insert_once(session, message_id=message_id, now=now, values={
        "to_address": to, "subject": subject, "text": text, "html": html, "headers": extra,
        "ref_kind": ref_kind, "ref_id": ref_id,
    })
    return row.id


def _check_fields(to: str, subject: str, message_id: str, headers: dict[str, str]) -> None:
    """A line break in a header would let one field write others (header injection): refused at the door,
    before a row exists that no transport could ever send."""
    for name, value in (("to", to), ("subject", subject), ("message_id", message_id), *headers.items()):
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise InvalidInput(f"the mail's {name} holds a line break")
    if not to.strip() or "@" not in to:
        raise InvalidInput(f"not an e-mail address: {to[:60]!r}")
    if len(to) > 320 or len(subject) > 1000 or len(message_id) > 400:
        raise InvalidInput("the mail's address, subject or Message-ID is too long")


def mail_status(session: Session, message_ids: Iterable[str]) -> dict[str, str]:
    """message_id -> status for those known (queued, sending, sent, retrying, bounced, failed)."""
    return store.statuses(session, message_ids)


def build_message(row: t.MailOutbox, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    headers = dict(row.headers or {})
    message["From"] = headers.pop("From", None) or settings.mail_from
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = angle(row.message_id)
    for name, value in headers.items():
        message[name] = value
    message.set_content(row.text)
    if row.html:
        message.add_alternative(row.html, subtype="html")
    return message


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """base after the first failure, doubling, at most an hour."""
    seconds = base_seconds * 2.0 ** min(max(attempts - 1, 0), 30)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    message: EmailMessage


def _claim(db: Database, settings: Settings, now: datetime, limit: int) -> list[_Claimed]:
    # A reader looks first: on SQLite a writer takes the database's write lock even when nothing is due.
    with db.reader() as session:
        if not store.any_due(session, now=now):
            return []
    claimed: list[_Claimed] = []
    with db.writer() as session:
        for row in store.claim_due(session, now=now, lease=LEASE, limit=limit):
            try:
                claimed.append(_Claimed(row.id, build_message(row, settings)))
            except (ValueError, TypeError) as exc:  # a row no transport can send must not block the others
                row.status, row.next_attempt_at, row.last_error = store.FAILED, None, f"cannot build the message: {exc}"[:2000]
                audit.record(session, kind="mail.failed", actor="mail", at=now, scope="none", subject=row.message_id[:200],
                             after={"mail_id": row.id, "to": row.to_address, "last_error": row.last_error})
        session.commit()
    return claimed


def _record(db: Database, settings: Settings, mail_id: str, now: datetime, error: Exception | None) -> None:
    with db.writer() as session:
        row = store.get(session, mail_id)
        if row is None or row.status != store.SENDING:
            return
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.next_attempt_at, row.last_error = store.SENT, now, None, None
        elif isinstance(error, PermanentMailError):
            row.status, row.next_attempt_at, row.last_error = store.BOUNCED, None, str(error)[:2000]
        else:
            row.last_error = str(error)[:2000]
            retry_at = now + retry_delay(row.attempts, settings.mail_retry_base_seconds)
            if retry_at - row.created_at > GIVE_UP_AFTER:
                row.status, row.next_attempt_at = store.FAILED, None
            else:
                row.status, row.next_attempt_at = store.RETRYING, retry_at
        if row.status != store.RETRYING:
            audit.record(
                session, kind=f"mail.{row.status}", actor="mail", at=now, scope="none", subject=row.message_id[:200],
                after={"mail_id": row.id, "to": row.to_address, "ref_kind": row.ref_kind, "ref_id": row.ref_id,
                       "attempts": row.attempts, "last_error": row.last_error},
            )
        session.commit()


def _release(db: Database, mail_ids: list[str], now: datetime) -> None:
    """Hand unsent claimed rows back at once (due now), before their lease could let another worker send them too."""
    with db.writer() as session:
        for mail_id in mail_ids:
            row = store.get(session, mail_id)
            if row is not None and row.status == store.SENDING:
                row.status = store.RETRYING if row.attempts else store.QUEUED
                row.next_attempt_at = now
        session.commit()


def deliver_due_mail(db: Database, settings: Settings, now: datetime, limit: int = 100,
                     transport: MailTransport | None = None) -> int:
    """One round: claim the due messages, hand each to the transport once, record each outcome.
    Returns how many were attempted. Runs off the request loop (the job runner's periodic job)."""
    # Built first: a bad SUPPORTGATE_SMTP_URL fails the round before any row is claimed.
    transport = transport or build_transport(settings)
    claimed = _claim(db, settings, now, limit)
    if not claimed:
        return 0
    started = time.monotonic()
    for index, item in enumerate(claimed):
        if time.monotonic() - started > SEND_BUDGET.total_seconds():
            # A slow server: stop well inside the lease, so no row is sent by two workers.
            _release(db, [rest.id for rest in claimed[index:]], now)
            return index
        error: Exception | None = None
        try:
            transport.send(item.message)
        except (TemporaryMailError, PermanentMailError) as exc:
            error = exc
            log.warning("mail %s to %s: %s", item.message["Message-ID"], item.message["To"], exc)
        _record(db, settings, item.id, now, error)
    return len(claimed)
