"""The base of the SQL repositories: one session, flushed, never committed (the request commits)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.storage import tables as t


class SessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: t.Base) -> None:
        self.session.add(row)
        self.session.flush()
