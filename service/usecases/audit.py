"""Recording audit events. Each event is also a change-log entry that invalidates caches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage import changes
from service.storage import tables as t
from service.storage.bulk import bulk_insert
from service.storage.sql import SqlRepository

Scope = Literal["client", "catalog", "keys", "none"]


def record(
    session: Session,
    *,
    kind: str,
    actor: str,
    at: datetime,
    scope: Scope,
    client_id: str | None = None,
    subject: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> t.Event:
    event = t.Event(
        client_id=client_id,
        scope=scope,
        kind=kind,
        subject=subject,
        actor=actor,
        before=before,
        after=after,
        created_at=at,
    )
    session.add(event)  # the flush hook (service.storage.changes) derives what it invalidates
    return event


def record_many(session: Session, events: list[dict[str, Any]]) -> None:
    """Many events at once (bulk import): one multi-row INSERT instead of an ORM object each.
    Each dict holds the arguments of record() (kind, actor, at, scope, client_id, ...)."""
    if not events:
        return
    bulk_insert(session, t.Event, [
        {"client_id": e.get("client_id"), "scope": e["scope"], "kind": e["kind"], "subject": e.get("subject"),
         "actor": e["actor"], "before": e.get("before"), "after": e.get("after"), "created_at": e["at"]}
        for e in events
    ])
    changes.report(session, ((e["scope"], e.get("client_id")) for e in events if e["scope"] != "none"))


def event_facts(session: Session, kinds: Sequence[str]) -> Sequence[sa.Row[Any]]:
    """What a replay needs of the events of these kinds (kind, client, subject, after, time), oldest first."""
    return SqlRepository(session).event_facts(kinds)
