"""Web page sessions held server-side: started at sign-in, checked on every page, ended at sign-out."""

from __future__ import annotations

import secrets
from datetime import datetime

from service.storage.database import Database
from service.storage.ui_sessions import UiSessionRepository
from service.usecases import audit


def start(db: Database, key_hash: str, key_name: str, now: datetime) -> str:
    """A new session id for a key that just signed in."""
    session_id = secrets.token_urlsafe(32)
    with db.writer() as session:
        UiSessionRepository(session).add(session_id, key_hash, now)
        audit.record(session, kind="ui.signed_in", actor=key_name, at=now, scope="none", subject=session_id[:8])
        session.commit()
    return session_id


def is_live(db: Database, session_id: str, key_hash: str) -> bool:
    if not session_id:
        return False
    with db.reader() as session:
        live = UiSessionRepository(session).live(session_id, key_hash)
        session.rollback()
        return live


def end(db: Database, session_id: str, actor: str, now: datetime) -> None:
    """Sign-out: the session stops working everywhere, even in a copy of the cookie."""
    if not session_id:
        return
    with db.writer() as session:
        if UiSessionRepository(session).end(session_id, now):
            audit.record(session, kind="ui.signed_out", actor=actor, at=now, scope="none", subject=session_id[:8])
        session.commit()
