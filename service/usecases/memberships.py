"""Memberships: put a client on a plan, cancel; every change keeps the previous row as history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.errors import InvalidInput, NotFound
from service.ids import new_id
from service.storage import tables as t
from service.storage.locks import lock_client
from service.storage.sql import SqlRepository
from service.usecases import audit
from service.usecases.clients import known_client


def membership_dict(row: t.Membership | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "plan": row.plan_code,
        "status": row.status,
        "current_period_end": row.current_period_end.isoformat() if row.current_period_end else None,
        "external_ref": row.external_ref,
    }


def current_membership(session: Session, client_id: str) -> t.Membership | None:
    """The live membership row (not superseded), if any."""
    return SqlRepository(session).current_membership(client_id)


def _locked_client(session: Session, client_id: str) -> t.Client:
    """The client, locked: its membership is read and replaced by one request at a time."""
    return known_client(lock_client(session, client_id), client_id)


def put_membership(
    session: Session,
    client_id: str,
    *,
    plan: str,
    status: str,
    current_period_end: datetime | None,
    external_ref: str | None,
    actor: str,
    now: datetime,
) -> t.Membership:
    repo = SqlRepository(session)
    _locked_client(session, client_id)
    if repo.get_plan(plan) is None:
        raise InvalidInput(f"unknown plan {plan!r}", errors=[{"loc": ["body", "plan"], "msg": "no such plan"}])
    previous = repo.current_membership(client_id)
    before = membership_dict(previous)
    if previous is not None:
        previous.superseded_at = now
        session.flush()  # the old row leaves the live index before the new one enters it
    row = t.Membership(
        id=new_id("mb"),
        client_id=client_id,
        plan_code=plan,
        status=status,
        current_period_end=current_period_end,
        external_ref=external_ref,
        created_at=now,
        superseded_at=None,
        actor=actor,
    )
    session.add(row)
    audit.record(
        session, kind="membership.put", actor=actor, at=now, scope="client", client_id=client_id,
        subject=plan, before=before, after=membership_dict(row),
    )
    session.flush()
    return row


def cancel_membership(session: Session, client_id: str, *, actor: str, now: datetime) -> t.Membership:
    repo = SqlRepository(session)
    _locked_client(session, client_id)
    previous = repo.current_membership(client_id)
    if previous is None:
        raise NotFound("the client has no membership")
    if previous.status == "canceled":
        return previous
    return put_membership(
        session, client_id, plan=previous.plan_code, status="canceled", current_period_end=previous.current_period_end,
        external_ref=previous.external_ref, actor=actor, now=now,
    )
