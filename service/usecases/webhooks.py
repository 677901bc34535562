"""The webhook inbox: store each verified event once, then apply it, confirmed where the provider signs less.

Transactions are opened here rather than in the request's session dependency. A delivery only stores
its events (one short transaction: the inbox row and a request for the processing job); the job
applies them later, off the request loop. An event that must be confirmed with the provider's API is
held under a lease, the API is called outside any transaction (no lock held over the network), and
the result is applied in a second transaction that re-reads the event under a lock. Events that need
no confirmation are applied in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service import identifiers as ids
from service.domain.signature import advances
from service.errors import Conflict, InvalidInput, NotFound, ServiceError
from service.ids import new_id
from service.storage import tables as t
from service.storage.database import Database
from service.storage.sql import SqlRepository
from service.storage.webhook_inbox import DUE_STATUSES, InboxRepository
from service.usecases import audit, billing, jobs, records
from service.webhooks import NormalisedEvent, adobe_sign, docusign, dropbox_sign, pandadoc, standard, stripe_billing
from service.webhooks.confirm import Confirmation, ProviderUnreachable, needs_confirmation

# Inbox statuses: received (stored, waiting for the job or the provider's confirmation), processed, unmatched,
# failed (the provider could not be asked; retried), unconfirmed (the provider says it is not so),
# refused (genuine, but it contradicts what we know: another client or version than the registered
# envelope, or a date that cannot be a signature's). A refused event is kept and never applied.
INBOX_STATUSES = ("received", "processed", "unmatched", "failed", "unconfirmed", "refused")
# The metric outcome of each inbox status.
OUTCOME = {"processed": "applied", "unmatched": "unmatched", "failed": "failed", "unconfirmed": "rejected",
           "received": "failed", "refused": "rejected"}
RETRYABLE = ("received", "failed", "unmatched", "unconfirmed")
# Providers whose signature covers the whole body: its metadata may name the client and version.
BODY_SIGNED = frozenset({"docusign", "pandadoc", "standard"})
# A provider's clock may differ a little from ours; a signature dated further ahead, or further
# before its contract version was created here, is not one.
CLOCK_SKEW = timedelta(minutes=10)

Confirmer = Callable[[NormalisedEvent], Confirmation]
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    max_attempts: int = 20
    # How long a stored event may wait for its confirmation before the retry loop takes it over.
    lease_seconds: float = 60.0

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        if attempts >= self.max_attempts:
            return None
        delay = min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds)
        return now + timedelta(seconds=delay)


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str | None
    status: str
    outcome: str
    detail: str | None = None


def parse_stored(provider: str, body: str, headers: Mapping[str, str]) -> list[NormalisedEvent]:
    """Parse an event as it was stored (it was verified when it arrived)."""
    raw = body.encode()
    if provider == "docusign":
        return [docusign.parse(raw)]
    if provider == "pandadoc":
        return pandadoc.parse(raw, headers)
    if provider == "dropbox_sign":
        return [dropbox_sign.parse(body)]
    if provider == "adobe_sign":
        return [adobe_sign.parse(raw)]
    if provider == "standard":
        return [standard.parse(raw, headers)]
    if provider == stripe_billing.PROVIDER:
        return [stripe_billing.parse(raw)]
    raise InvalidInput(f"unknown provider {provider!r}")


def _finish(session: Session, row: t.WebhookEvent, status: str, detail: str, now: datetime, actor: str,
            client_id: str | None = None) -> None:
    before = row.status
    row.status, row.detail, row.processed_at = status, detail[:2000], now
    row.next_attempt_at = None
    audit.record(
        session, kind=f"webhook.{status}", actor=actor, at=now, scope="none", client_id=client_id, subject=row.id,
        before={"status": before}, after={"status": status, "provider": row.provider, "event_key": row.event_key,
                                          "detail": row.detail},
    )


def _match(repo: SqlRepository, event: NormalisedEvent) -> tuple[str, str] | str:
    """(client id, contract version) from the envelope's metadata, or why it does not match."""
    client_id = event.client_id
    if client_id is None and event.external_system and event.external_id:
        try:
            system, value = ids.normalize_external(event.external_system, event.external_id)
        except InvalidInput:
            return "the external reference is not valid"
        client_id = repo.identifier_owner("external", system, value)
        if client_id is None:
            return f"no client has the external reference {system}:{value}"
    if client_id is None:
        return "no registered signature request and no client_id in the envelope metadata"
    if repo.get_client(client_id) is None:
        return f"no client {client_id!r}"
    if event.contract_version is None:
        return "the envelope metadata names no contract_version"
    if repo.get_version(event.contract_version) is None:
        return f"no contract version {event.contract_version!r}"
    return client_id, event.contract_version


def _refuse(session: Session, row: t.WebhookEvent, detail: str, now: datetime, actor: str,
            client_id: str | None = None) -> Outcome:
    _finish(session, row, "refused", f"refused, not applied: {detail}", now, actor, client_id)
    return Outcome(row.id, "refused", "rejected", row.detail)


def _disagreement(repo: SqlRepository, request: t.SignatureRequest, event: NormalisedEvent) -> str | None:
    """Why trusted metadata contradicts the registered envelope, or None when it agrees (or says nothing)."""
    named = event.client_id
    if named is None and event.external_system and event.external_id:
        try:
            system, value = ids.normalize_external(event.external_system, event.external_id)
        except InvalidInput:
            return "the external reference is not valid"
        named = repo.identifier_owner("external", system, value)
    # A name that is no client (yet) is what registering the envelope corrects; another client is a conflict.
    if named is not None and named != request.client_id and repo.get_client(named) is not None:
        return f"the envelope is registered to client {request.client_id}, the event names {named}"
    if (event.contract_version is not None and event.contract_version != request.contract_version
            and repo.get_version(event.contract_version) is not None):
        return (f"the envelope is registered for contract {request.contract_version}, "
                f"the event names {event.contract_version}")
    return None


def _undatable(repo: SqlRepository, event: NormalisedEvent, version: str, now: datetime) -> str | None:
    """Why the event's date cannot be this signature's, or None."""
    if event.occurred_at is None:
        return None
    if event.occurred_at > now + CLOCK_SKEW:
        return f"the signature is dated {event.occurred_at.isoformat()}, in the future"
    row = repo.get_version(version)
    if row is not None and event.occurred_at < row.created_at - CLOCK_SKEW:
        return f"the signature is dated {event.occurred_at.isoformat()}, before contract {version} existed"
    return None


def _untrusted(event: NormalisedEvent) -> NormalisedEvent:
    """The event without the fields that could choose a client or version."""
    return replace(event, client_id=None, contract_version=None, external_system=None, external_id=None)


def apply(session: Session, row: t.WebhookEvent, event: NormalisedEvent, now: datetime, *, actor: str,
          trust_metadata: bool, confirmed: bool = False) -> Outcome:
    """Match the event to a client and contract version and apply its status; always finishes `row`.

    `trust_metadata` says the signature (or the provider's API) covers the event's client and version
    fields; without it they are dropped here, so nothing unsigned can register an envelope or choose
    a client. A provider that does not sign its events moves a status only once its API confirmed it.
    """
    if event.provider == stripe_billing.PROVIDER:
        # A subscription event, not a signature: billing applies it through the membership use case.
        applied = billing.apply_stripe_event(session, row.body, now)
        _finish(session, row, applied.status, applied.detail, now, actor, applied.client_id)
        session.flush()
        return Outcome(row.id, applied.status, OUTCOME[applied.status], applied.detail)
    if not trust_metadata:
        event = _untrusted(event)
    if event.refusal is not None:
        return _refuse(session, row, event.refusal, now, actor)
    if event.status is None:
        _finish(session, row, "processed", f"{event.event_type} changes no status", now, actor)
        return Outcome(row.id, "processed", "applied", row.detail)
    if event.provider not in BODY_SIGNED and not confirmed:
        # Dropbox Sign signs only time + type, Adobe Sign nothing: a replayed hash can carry any
        # envelope id and metadata, so an unconfirmed event is kept as a record and changes nothing.
        detail = f"recorded, not applied: {event.event_type} is not signed by {event.provider} and not confirmed"
        _finish(session, row, "processed", detail, now, actor)
        return Outcome(row.id, "processed", "applied", detail)
    repo, inbox = SqlRepository(session), InboxRepository(session)
    request = inbox.lock_signature_request(event.provider, event.envelope_id) if event.envelope_id else None
    if request is not None:
        disagreement = _disagreement(repo, request, event)
        if disagreement is not None:
            return _refuse(session, row, disagreement, now, actor, request.client_id)
        client_id, version = request.client_id, request.contract_version
    else:
        match = _match(repo, event) if trust_metadata else "no registered signature request for this envelope"
        if isinstance(match, str):
            _finish(session, row, "unmatched", match, now, actor)
            return Outcome(row.id, "unmatched", "unmatched", match)
        client_id, version = match
    final = event.status in ("signed", "declined")
    undatable = _undatable(repo, event, version, now) if final else None
    if undatable is not None:
        return _refuse(session, row, undatable, now, actor, client_id)
    if request is not None and not advances(request.status, event.status, confirmed=confirmed):
        detail = f"recorded, not applied: {event.status} after {request.status}"
        _finish(session, row, "processed", detail, now, actor, client_id)
        return Outcome(row.id, "processed", "applied", detail)
    if request is not None:
        audit.record(
            session, kind="signature_request.status_changed", actor=actor, at=now, scope="client", client_id=client_id,
            subject=request.external_id, before={"status": request.status},
            after={"status": event.status, "provider": event.provider, "event_key": event.event_key},
        )
        request.status, request.updated_at = event.status, now
    elif event.envelope_id:
        # Matched by signed or confirmed metadata: register the envelope so later events are matched and ordered.
        registered = inbox.insert_signature_request(t.SignatureRequest(
            id=new_id("sr"), client_id=client_id, provider=event.provider, external_id=event.envelope_id,
            contract_version=version, status=event.status, created_at=now, updated_at=now,
        ))
        if not registered:
            # Another event of this envelope registered it meanwhile: apply against that row instead.
            return apply(session, row, event, now, actor=actor, trust_metadata=trust_metadata, confirmed=confirmed)
        audit.record(
            session, kind="signature_request.registered", actor=actor, at=now, scope="client", client_id=client_id,
            subject=event.envelope_id,
            after={"provider": event.provider, "external_id": event.envelope_id, "contract_version": version,
                   "status": event.status, "matched_by": "metadata"},
        )
    if final and repo.acceptance_by_event_key(f"{event.provider}:{event.event_key}") is None:
        signed_at = min(event.occurred_at or now, now)
        records.record_acceptance(
            session, client_id, contract_version=version, decision=event.status, method="provider",
            signer_name=event.signer_name, signer_email=event.signer_email, signed_at=signed_at, actor=actor, now=now,
            provider=event.provider, envelope_id=event.envelope_id, event_key=f"{event.provider}:{event.event_key}",
        )
    detail = f"applied: {event.status} for client {client_id}, contract {version}"
    _finish(session, row, "processed", detail, now, actor, client_id)
    session.flush()
    return Outcome(row.id, "processed", "applied", detail)


PROCESS_KIND = "webhooks.process"


class Inbox:
    """Receives, processes, confirms and replays webhook events against one database.

    Receiving only stores: the verified event is written as `received` (due at once) and a run of the
    processing job is requested in the same short transaction, so the delivery is answered without
    waiting for its effects. The job (service/usecases/webhook_jobs.py) takes up due events one by
    one: it applies them, asks the provider where the event is not signed, and retries failures.
    """

    def __init__(self, db: Database, confirm: Confirmer, clock: Clock, policy: RetryPolicy) -> None:
        self.db = db
        self.confirm = confirm
        self.clock = clock
        self.policy = policy

    def receive(self, event: NormalisedEvent, *, body: str, headers: dict[str, Any]) -> Outcome:
        """Store a verified event once per (provider, event key); its processing is the job's."""
        now = self.clock()
        event_id = new_id("whe")
        with self.db.writer() as session:
            stored = InboxRepository(session).insert_new({
                "id": event_id, "provider": event.provider, "event_key": event.event_key,
                "envelope_id": event.envelope_id, "event_type": event.event_type, "status": "received",
                "detail": None, "body": body, "headers": headers, "received_at": now, "processed_at": None,
                "attempts": 0, "next_attempt_at": now,
            })
            if not stored:
                session.rollback()
                return Outcome(None, "duplicate", "duplicate", "this event was received before")
            jobs.request_run(session, PROCESS_KIND, now=now)
            session.commit()
        return Outcome(event_id, "received", "received", "stored; it is processed by a background job")

    def process_next(self, actor_prefix: str = "webhook") -> tuple[str, Outcome, bool] | None:
        """Take up the oldest due event: apply it (or ask its provider, then apply). Returns (provider,
        outcome, whether it was a retry), or None when nothing is due. One short transaction per event;
        a provider is asked with no transaction open. An attempt that raises leaves the event failed,
        retried later with backoff, so one bad event never blocks the others."""
        now = self.clock()
        with self.db.reader() as session:
            if not InboxRepository(session).any_due(now):
                return None
        event_id = None
        try:
            with self.db.writer() as session:
                row = InboxRepository(session).next_due(now)
                if row is None:
                    session.commit()
                    return None
                provider, event_id, retry = row.provider, row.id, row.attempts > 0 or row.status == "failed"
                actor = f"{actor_prefix}:{provider}"
                try:
                    event = self._stored_event(row)
                except ServiceError as exc:
                    # Cannot happen for a body that was verified and parsed on arrival; never loop on it.
                    _finish(session, row, "failed", f"the stored event cannot be read: {exc.detail}", now, actor)
                    session.commit()
                    return provider, Outcome(event_id, "failed", "failed", row.detail), retry
                if not needs_confirmation(event) or event.refusal is not None:
                    outcome = apply(session, row, event, now, actor=actor, trust_metadata=event.provider in BODY_SIGNED)
                    session.commit()
                    return provider, outcome, retry
                # The provider is asked outside any transaction: hold the event for the call's length (a
                # processor that dies meanwhile leaves it due again after the lease).
                row.next_attempt_at = now + timedelta(seconds=self.policy.lease_seconds)
                session.commit()
            return provider, self.confirm_and_apply(event_id, event, actor=actor), retry
        except Exception as exc:
            if event_id is None:
                raise  # nothing taken up: the database itself is in trouble (the job is retried)
            detail = exc.detail if isinstance(exc, ServiceError) else type(exc).__name__
            self.hold_after_error(event_id, detail)
            return provider, Outcome(event_id, "failed", "failed", detail), retry

    def hold_after_error(self, event_id: str, error: str) -> None:
        """An attempt that raised (a bug, or the database): keep the event, retried later with backoff."""
        now = self.clock()
        with self.db.writer() as session:
            row = InboxRepository(session).lock(event_id)
            if row is None or row.status not in DUE_STATUSES:
                session.rollback()
                return
            row.attempts += 1
            row.status, row.detail = "failed", f"processing failed: {error}"[:2000]
            row.next_attempt_at = self.policy.next_attempt(row.attempts, now)
            audit.record(session, kind="webhook.failed", actor="webhook-job", at=now, scope="none", subject=row.id,
                         after={"provider": row.provider, "event_key": row.event_key, "detail": row.detail,
                                "attempts": row.attempts})
            session.commit()

    def confirm_and_apply(self, event_id: str, event: NormalisedEvent, *, actor: str) -> Outcome:
        try:
            confirmation: Confirmation | None = self.confirm(event)
            reason = ""
        except ProviderUnreachable as exc:
            confirmation, reason = None, str(exc)
        now = self.clock()
        with self.db.writer() as session:
            row = InboxRepository(session).lock(event_id)
            if row is None:
                raise NotFound(f"no webhook event {event_id!r}")
            if row.status not in ("received", "failed", "unmatched", "unconfirmed", "refused"):
                # Another worker finished it while we were asking the provider.
                session.rollback()
                return Outcome(row.id, row.status, OUTCOME.get(row.status, "applied"), row.detail)
            row.attempts += 1
            if confirmation is None:
                row.status, row.detail = "failed", f"provider not reached: {reason}"[:2000]
                row.next_attempt_at = self.policy.next_attempt(row.attempts, now)
                audit.record(session, kind="webhook.failed", actor=actor, at=now, scope="none", subject=row.id,
                             after={"provider": row.provider, "event_key": row.event_key, "detail": row.detail,
                                    "attempts": row.attempts,
                                    "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None})
                outcome = Outcome(row.id, "failed", "failed", row.detail)
            elif not confirmation.confirmed:
                _finish(session, row, "unconfirmed", confirmation.detail, now, actor)
                outcome = Outcome(row.id, "unconfirmed", "rejected", confirmation.detail)
            else:
                # Only what the API answered may choose the client: the body's metadata is dropped.
                trusted = _untrusted(event)
                if confirmation.metadata is not None:
                    trusted = trusted.with_metadata(confirmation.metadata)
                if confirmation.signer_email or confirmation.signer_name:
                    trusted = replace(trusted, signer_name=confirmation.signer_name or event.signer_name,
                                      signer_email=confirmation.signer_email or event.signer_email)
                outcome = apply(session, row, trusted, now, actor=actor,
                                trust_metadata=confirmation.metadata is not None, confirmed=True)
            session.commit()
            return outcome

    def _stored_event(self, row: t.WebhookEvent) -> NormalisedEvent:
        for event in parse_stored(row.provider, row.body, row.headers):
            if event.event_key == row.event_key:
                return event
        raise Conflict("the stored body no longer yields this event")

    def replay(self, event_id: str, *, actor: str) -> Outcome:
        """Process a stored event again (e.g. after its envelope was registered)."""
        now = self.clock()
        with self.db.writer() as session:
            row = InboxRepository(session).lock(event_id)
            if row is None:
                raise NotFound(f"no webhook event {event_id!r}")
            if row.status == "processed":
                raise Conflict("this event is processed already")
            event = self._stored_event(row)
            if not needs_confirmation(event) or event.refusal is not None:
                outcome = apply(session, row, event, now, actor=actor, trust_metadata=event.provider in BODY_SIGNED)
                session.commit()
                return outcome
            session.rollback()
        return self.confirm_and_apply(event_id, event, actor=actor)
