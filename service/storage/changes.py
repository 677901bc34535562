"""Which cached decision inputs a write touches, derived from the rows it flushes (never passed by hand).

Every flush is inspected: a row of a table holding a client's decision inputs (any table with a
`client_id`, and `clients` itself) touches that client; a row of a catalog table touches the
catalog; an API key row touches the keys. The touched scopes are kept on the session until commit
(the process's cache drops them then) and each one is carried by an event row of the same flush,
which is how other processes hear of it: when the transaction recorded no audit event for that
scope, a `state.changed` event is added at commit. Bulk writes that bypass the ORM (imports) report their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import chain
from typing import Any, Literal

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from service.storage import tables as t

Scope = Literal["client", "catalog", "keys", "none"]
Change = tuple[str, str | None]
CHANGES_KEY = "supportgate.changes"

CATALOG_TABLES = frozenset({
    "plans", "services", "contract_versions", "calendars", "calendar_versions", "plan_allowances", "plan_external_prices",
})
KEY_TABLES = frozenset({"api_keys"})
# Tables that hold no decision input: the change feed itself, inboxes, outboxes, work queues, and the
# records beside a decision (a campaign's steps, a link, a document, evidence) whose effect on it is
# written elsewhere (the acceptance, the membership) and invalidates from there.
NOT_STATE = frozenset({
    "events", "webhook_events", "outbox", "mail_outbox", "jobs", "job_files", "ui_sessions",
    "campaigns", "campaign_recipients", "campaign_messages", "signing_links", "contract_documents", "click_through_evidence",
    "billing_subscriptions",
})


def classify(table: str, columns: Iterable[str]) -> str:
    """client | catalog | keys | none, for a table; "unclassified" is a table nobody has thought about yet."""
    if table in NOT_STATE:
        return "none"
    if table in CATALOG_TABLES:
        return "catalog"
    if table in KEY_TABLES:
        return "keys"
    if table == "clients" or "client_id" in columns:
        return "client"
    return "unclassified"


def _touched(row: Any) -> Change | None:
    if isinstance(row, t.Event):
        return (row.scope, row.client_id) if row.scope != "none" else None
    table = getattr(row, "__table__", None)
    if table is None:
        return None
    kind = classify(table.name, table.columns.keys())
    if kind == "client":
        client_id = row.id if table.name == "clients" else getattr(row, "client_id", None)
        return ("client", client_id) if client_id else None
    if kind in ("catalog", "keys"):
        return (kind, None)
    return None


_TOUCHED, _CARRIED = "supportgate.touched", "supportgate.carried"


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    touched: set[Change] = session.info.setdefault(_TOUCHED, set())
    carried: set[Change] = session.info.setdefault(_CARRIED, set())
    found: set[Change] = set()
    for row in chain(session.new, session.deleted, (r for r in session.dirty if session.is_modified(r))):
        change = _touched(row)
        if change is not None:
            found.add(change)
        if isinstance(row, t.Event) and row in session.new:
            carried.add((row.scope, row.client_id))
    touched.update(found)
    session.info.setdefault(CHANGES_KEY, []).extend(found)


def _before_commit(session: Session) -> None:
    """Each scope the transaction touched travels to other processes on an event row of its own."""
    session.flush()  # commit flushes after this hook: flush first so that every row written is seen
    missing = session.info.get(_TOUCHED, set()) - session.info.get(_CARRIED, set())
    if not missing:
        return
    now = datetime.now(UTC)
    for scope, client_id in sorted(missing, key=lambda c: (c[0], c[1] or "")):
        session.add(t.Event(client_id=client_id, scope=scope, kind="state.changed", subject=None, actor="system",
                            before=None, after=None, created_at=now))
    session.flush()


def _forget(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
    session.info.pop(_CARRIED, None)


def install(sessions: sessionmaker[Session]) -> None:
    if sa_event.contains(sessions, "before_flush", _before_flush):
        return
    sa_event.listen(sessions, "before_flush", _before_flush)
    sa_event.listen(sessions, "before_commit", _before_commit)
    sa_event.listen(sessions, "after_commit", _forget)
    sa_event.listen(sessions, "after_rollback", _forget)


def report(session: Session, changes: Iterable[Change]) -> None:
    """For writes that bypass the ORM (bulk inserts, which write their own event rows): what they touched."""
    session.info.setdefault(CHANGES_KEY, []).extend(changes)


def pending_changes(session: Session) -> list[Change]:
    changes: list[Change] = session.info.pop(CHANGES_KEY, [])
    return changes
