"""Queries on the web page's server-side sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage import tables as t


class UiSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, session_id: str, key_hash: str, now: datetime) -> None:
        self.session.add(t.UiSession(id=session_id, key_hash=key_hash, created_at=now, ended_at=None))
        self.session.flush()

    def live(self, session_id: str, key_hash: str) -> bool:
        """True while the session exists for this key and has not been ended."""
        found = self.session.scalar(
            sa.select(t.UiSession.id).where(
                t.UiSession.id == session_id, t.UiSession.key_hash == key_hash, t.UiSession.ended_at.is_(None)
            )
        )
        return found is not None

    def end(self, session_id: str, now: datetime) -> bool:
        """Mark the session ended (kept, never deleted); False when it was not live."""
        result = self.session.execute(
            sa.update(t.UiSession).where(t.UiSession.id == session_id, t.UiSession.ended_at.is_(None)).values(ended_at=now)
        )
        return bool(getattr(result, "rowcount", 0))
