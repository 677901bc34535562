"""Working calendars (admin): versioned definitions, holidays resolved from the `holidays` package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import holidays
from sqlalchemy.orm import Session

from service.domain.calendar import BusinessCalendar, WorkingInterval
from service.errors import InvalidInput, NotFound
from service.storage import calendars as store
from service.storage import tables as t
from service.usecases import audit

# Holidays are resolved for these years around the version's creation and stored with it, so a later
# release of the holidays data never rewrites what an earlier answer was computed on.
YEARS_BEFORE, YEARS_AFTER = 5, 10


@dataclass(frozen=True)
class CalendarInput:
    name: str
    time_zone: str
    intervals: list[dict[str, Any]]  # [{weekday, start "HH:MM", end "HH:MM"}]
    holidays: dict[str, Any] | None  # {country, subdivision?}
    closed_dates: list[date]


def resolve_closed_dates(spec: dict[str, Any] | None, own: list[date], *, around: date) -> frozenset[date]:
    """The country's public holidays for the years around `around`, plus the calendar's own closed dates."""
    closed = set(own)
    if spec:
        years = range(around.year - YEARS_BEFORE, around.year + YEARS_AFTER + 1)
        try:
            found = holidays.country_holidays(spec["country"], subdiv=spec.get("subdivision"), years=years)
        except NotImplementedError as exc:
            raise InvalidInput(
                str(exc) or "unknown holiday country or subdivision",
                errors=[{"loc": ["body", "holidays"], "msg": "a country (ISO 3166-1 alpha-2) and subdivision the holidays data knows"}],
            ) from exc
        closed.update(found.keys())
    return frozenset(closed)


def _validated(body: CalendarInput, code: str) -> BusinessCalendar:
    """The definition as a domain calendar; a bad time zone or interval is a 422 naming the field."""
    try:
        intervals = tuple(
            WorkingInterval(int(i["weekday"]), store.minutes_of(i["start"]), store.minutes_of(i["end"])) for i in body.intervals
        )
    except ValueError as exc:
        raise InvalidInput(f"bad working interval: {exc}", errors=[{"loc": ["body", "intervals"], "msg": str(exc)}]) from exc
    try:
        return BusinessCalendar(code=code, version=0, time_zone=body.time_zone, intervals=intervals)
    except ValueError as exc:  # overlapping intervals; ZoneInfoNotFoundError is a KeyError, checked by the schema
        raise InvalidInput(str(exc), errors=[{"loc": ["body", "intervals"], "msg": str(exc)}]) from exc


def version_dict(row: t.CalendarVersion) -> dict[str, Any]:
    return {
        "code": row.calendar_code,
        "version": row.version,
        "name": row.name,
        "time_zone": row.time_zone,
        "intervals": row.intervals,
        "holidays": row.holidays,
        "closed_dates": row.closed_dates,
        "created_at": row.created_at,
    }


def _definition(row: t.CalendarVersion) -> dict[str, Any]:
    return {k: v for k, v in version_dict(row).items() if k not in ("version", "created_at", "code")}


def put_calendar(session: Session, code: str, body: CalendarInput, *, actor: str, now: datetime) -> tuple[t.CalendarVersion, bool]:
    """Write a new version when the definition differs from the current one; the same definition again changes nothing."""
    _validated(body, code)
    holidays_spec = None
    if body.holidays:
        holidays_spec = {"country": body.holidays["country"].upper(), "subdivision": body.holidays.get("subdivision")}
    own = sorted(set(body.closed_dates))
    resolved = resolve_closed_dates(holidays_spec, own, around=now.date())
    calendar = store.get_calendar(session, code, for_update=True)
    created = calendar is None
    candidate = t.CalendarVersion(
        calendar_code=code, version=1 if calendar is None else calendar.current_version + 1, name=body.name,
        time_zone=body.time_zone, intervals=[{"weekday": int(i["weekday"]), "start": i["start"], "end": i["end"]} for i in body.intervals],
        holidays=holidays_spec, closed_dates=[d.isoformat() for d in own],
        resolved_closed_dates=sorted(d.isoformat() for d in resolved), created_at=now,
    )
    if calendar is None:
        calendar = t.Calendar(code=code, current_version=1, created_at=now, updated_at=now)
        session.add(calendar)
        session.flush()
    else:
        current = store.get_version(session, code, calendar.current_version)
        if current is not None and _definition(current) == _definition(candidate):
            return current, False
        calendar.current_version = candidate.version
        calendar.updated_at = now
    session.add(candidate)
    after = version_dict(candidate) | {"created_at": now.isoformat()}
    audit.record(session, kind="calendar.put", actor=actor, at=now, scope="catalog", subject=code,
                 before=None if created else {"version": candidate.version - 1}, after=after)
    session.flush()
    return candidate, created


def calendar_page(session: Session, *, after: str | None, limit: int) -> Sequence[t.CalendarVersion]:
    """The current version of each calendar, by code, after the code `after`."""
    return store.current_versions(session, after=after, limit=limit)


def get_calendar(session: Session, code: str, version: int | None = None) -> t.CalendarVersion:
    calendar = store.get_calendar(session, code)
    row = None if calendar is None else store.get_version(session, code, version or calendar.current_version)
    if row is None:
        raise NotFound(f"no calendar {code!r}" + (f" version {version}" if version else ""))
    return row


def require_calendar(session: Session, code: str | None) -> None:
    """A plan may only name a calendar that exists."""
    if code is not None and store.get_calendar(session, code) is None:
        raise InvalidInput(f"no calendar {code!r}", errors=[{"loc": ["body", "calendar"], "msg": "the code of an existing calendar"}])
