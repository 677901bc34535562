"""Queries of working calendars and their versions, and their mapping to the domain's calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.domain.calendar import BusinessCalendar, WorkingInterval
from service.storage import tables as t


def minutes_of(clock: str) -> int:
    """"08:30" -> 510; "24:00" -> 1440."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def to_calendar(row: t.CalendarVersion) -> BusinessCalendar:
    return BusinessCalendar(
        code=row.calendar_code,
        version=row.version,
        time_zone=row.time_zone,
        intervals=tuple(
            WorkingInterval(int(i["weekday"]), minutes_of(i["start"]), minutes_of(i["end"])) for i in row.intervals
        ),
        closed_dates=frozenset(date.fromisoformat(d) for d in row.resolved_closed_dates),
    )


def get_calendar(session: Session, code: str, *, for_update: bool = False) -> t.Calendar | None:
    query = sa.select(t.Calendar).where(t.Calendar.code == code)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def get_version(session: Session, code: str, version: int) -> t.CalendarVersion | None:
    return session.scalars(
        sa.select(t.CalendarVersion).where(t.CalendarVersion.calendar_code == code, t.CalendarVersion.version == version)
    ).first()


def current_versions(session: Session, *, after: str | None = None, limit: int | None = None) -> Sequence[t.CalendarVersion]:
    """The current version of every calendar, by code."""
    query = sa.select(t.CalendarVersion).join(
        t.Calendar,
        sa.and_(t.Calendar.code == t.CalendarVersion.calendar_code, t.Calendar.current_version == t.CalendarVersion.version),
    )
    if after is not None:
        query = query.where(t.CalendarVersion.calendar_code > after)
    query = query.order_by(t.CalendarVersion.calendar_code)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def calendar_codes(session: Session) -> set[str]:
    return set(session.scalars(sa.select(t.Calendar.code)))
