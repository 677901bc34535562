"""A client's contract records: acceptances, signature requests, grace extensions, overrides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from service.errors import Conflict, InvalidInput, NotFound
from service.ids import new_id
from service.storage import tables as t
from service.storage.sql import SqlRepository
from service.usecases import audit
from service.usecases.clients import get_client_row


def _known_version(repo: SqlRepository, version: str) -> t.ContractVersion:
    row = repo.get_version(version)
    if row is None:
        raise InvalidInput(
            f"unknown contract version {version!r}", errors=[{"loc": ["body", "contract_version"], "msg": "no such version"}]
        )
    return row


def record_acceptance(
    session: Session,
    client_id: str,
    *,
    contract_version: str,
    decision: str,
    method: str,
    signer_name: str | None,
    signer_email: str | None,
    signed_at: datetime,
    actor: str,
    now: datetime,
    provider: str | None = None,
    envelope_id: str | None = None,
    event_key: str | None = None,
) -> t.Acceptance:
    repo = SqlRepository(session)
    get_client_row(repo, client_id)
    version = _known_version(repo, contract_version)
    if signed_at > now:
        raise InvalidInput("signed_at lies in the future", errors=[{"loc": ["body", "signed_at"], "msg": "in the future"}])
    # Nobody signs a text before it existed: before it was written and before the moment it was published for.
    # (A provider's event is bounded where its delivery is read: service/webhooks.)
    existed = min(version.created_at, version.published_at or version.created_at)
    if provider is None and signed_at < existed:
        raise InvalidInput(
            f"signed_at lies before contract version {contract_version!r} existed ({existed.isoformat()})",
            errors=[{"loc": ["body", "signed_at"], "msg": "before the contract version existed"}],
        )
    row = t.Acceptance(
        id=new_id("acc"),
        client_id=client_id,
        contract_version=contract_version,
        decision=decision,
        method=method,
        signer_name=signer_name,
        signer_email=signer_email,
        signed_at=signed_at,
        provider=provider,
        envelope_id=envelope_id,
        event_key=event_key,
        actor=actor,
        created_at=now,
    )
    session.add(row)
    audit.record(
        session, kind=f"acceptance.{decision}", actor=actor, at=now, scope="client", client_id=client_id,
        subject=contract_version,
        after={
            "contract_version": contract_version, "decision": decision, "method": method, "signer_name": signer_name,
            "signer_email": signer_email, "signed_at": signed_at.isoformat(), "provider": provider,
            "envelope_id": envelope_id,
        },
    )
    session.flush()
    return row


def register_signature_request(
    session: Session, client_id: str, *, provider: str, external_id: str, contract_version: str, actor: str, now: datetime
) -> t.SignatureRequest:
    repo = SqlRepository(session)
    get_client_row(repo, client_id)
    _known_version(repo, contract_version)
    if repo.signature_request(provider, external_id) is not None:
        raise Conflict(f"{provider} envelope {external_id!r} is registered already")
    row = t.SignatureRequest(
        id=new_id("sr"),
        client_id=client_id,
        provider=provider,
        external_id=external_id,
        contract_version=contract_version,
        status="sent",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    audit.record(
        session, kind="signature_request.registered", actor=actor, at=now, scope="client", client_id=client_id,
        subject=external_id, after={"provider": provider, "external_id": external_id, "contract_version": contract_version},
    )
    session.flush()
    return row


def extend_grace(
    session: Session, client_id: str, *, until: datetime, current_version: str | None, actor: str, now: datetime
) -> t.GraceExtension:
    repo = SqlRepository(session)
    get_client_row(repo, client_id)
    if current_version is None:
        raise Conflict("no contract version is published: there is no grace period to extend")
    if until <= now:
        raise InvalidInput("the new grace deadline must lie in the future", errors=[{"loc": ["body", "until"], "msg": "in the past"}])
    row = t.GraceExtension(client_id=client_id, contract_version=current_version, until=until, actor=actor, created_at=now)
    session.add(row)
    audit.record(
        session, kind="grace.extended", actor=actor, at=now, scope="client", client_id=client_id, subject=current_version,
        after={"contract_version": current_version, "until": until.isoformat()},
    )
    session.flush()
    return row


def grant_override(
    session: Session, client_id: str, *, service: str, expires_at: datetime, reason: str, actor: str, now: datetime
) -> t.Override:
    repo = SqlRepository(session)
    get_client_row(repo, client_id)
    if repo.get_service(service) is None:
        raise InvalidInput(f"unknown service {service!r}", errors=[{"loc": ["body", "service"], "msg": "no such service"}])
    if expires_at <= now:
        raise InvalidInput("expires_at must lie in the future", errors=[{"loc": ["body", "expires_at"], "msg": "in the past"}])
    if not reason.strip():
        raise InvalidInput("an override needs a reason", errors=[{"loc": ["body", "reason"], "msg": "must not be blank"}])
    row = t.Override(
        id=new_id("ovr"),
        client_id=client_id,
        service_code=service,
        reason=reason.strip(),
        actor=actor,
        created_at=now,
        expires_at=expires_at,
        revoked_at=None,
        revoked_by=None,
    )
    session.add(row)
    audit.record(
        session, kind="override.granted", actor=actor, at=now, scope="client", client_id=client_id, subject=row.id,
        after={"service": service, "expires_at": expires_at.isoformat(), "reason": row.reason},
    )
    session.flush()
    return row


def revoke_override(session: Session, override_id: str, *, actor: str, now: datetime) -> t.Override:
    repo = SqlRepository(session)
    row = repo.get_override(override_id)
    if row is None:
        raise NotFound(f"no override {override_id!r}")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = now, actor
        audit.record(
            session, kind="override.revoked", actor=actor, at=now, scope="client", client_id=row.client_id,
            subject=row.id, before={"revoked_at": None}, after={"revoked_at": now.isoformat()},
        )
        session.flush()
    return row


def acceptance_page(session: Session, client_id: str, *, limit: int, before: tuple[datetime, str] | None) -> Sequence[t.Acceptance]:
    """The client's signatures and declines, newest first."""
    return SqlRepository(session).acceptance_page(client_id, limit=limit, before=before)


def signature_request_page(
    session: Session, client_id: str, *, limit: int, before: tuple[datetime, str] | None
) -> Sequence[t.SignatureRequest]:
    """The client's envelopes, newest registration first."""
    return SqlRepository(session).signature_request_page(client_id, limit=limit, before=before)


def override_page(
    session: Session, client_id: str, *, limit: int, before: tuple[datetime, str] | None, active: bool | None, now: datetime
) -> Sequence[t.Override]:
    """The client's overrides, newest first; `active`: only those in force at `now` (True) or the others (False)."""
    return SqlRepository(session).override_page(client_id, limit=limit, before=before, active=active, now=now)


def list_overrides(session: Session, client_id: str) -> Sequence[t.Override]:
    """Every override of the client, newest first."""
    return SqlRepository(session).list_overrides(client_id)


def list_signature_requests(session: Session, client_id: str) -> Sequence[t.SignatureRequest]:
    return SqlRepository(session).list_signature_requests(client_id)


def list_acceptances(session: Session, client_id: str) -> Sequence[t.Acceptance]:
    """The client's signatures and declines, newest first."""
    return SqlRepository(session).list_acceptances(client_id)
