"""SLA deadlines of a decision: targets in business time on a calendar, or in calendar time (24/7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain.calendar import BusinessCalendar, add_business_time, is_open, next_opening
from service.domain.model import Clock, Sla, SlaClock


def uses_business_time(sla: Sla) -> bool:
    return sla.first_response_business_minutes is not None or sla.onsite_response_business_hours is not None


def _due(calendar: BusinessCalendar | None, at: datetime, business: timedelta | None, wall: timedelta) -> datetime | None:
    if business is not None and calendar is not None:
        return add_business_time(calendar, at, business)
    return at.astimezone(UTC) + wall


def sla_clock(sla: Sla, calendar: BusinessCalendar | None, at: datetime) -> SlaClock:
    """The deadlines counted from `at`. A target given in business time runs on `calendar` (24/7 without one);
    a target given only in calendar time is `at + target`. The clock is the calendar's when any target uses it."""
    business_calendar = calendar if calendar is not None and uses_business_time(sla) else None
    fr_business = sla.first_response_business_minutes
    on_business = sla.onsite_response_business_hours
    first = _due(business_calendar, at, timedelta(minutes=fr_business) if fr_business is not None else None,
                 timedelta(minutes=sla.first_response_minutes))
    onsite = _due(business_calendar, at, timedelta(hours=on_business) if on_business is not None else None,
                  timedelta(hours=sla.onsite_response_hours))
    if business_calendar is None:
        return SlaClock(first, onsite, Clock.RUNNING, None, None, None)
    running = is_open(business_calendar, at)
    return SlaClock(
        first_response_due_at=first,
        onsite_due_at=onsite,
        clock=Clock.RUNNING if running else Clock.OUTSIDE_HOURS,
        next_open_at=None if running else next_opening(business_calendar, at),
        calendar_code=business_calendar.code,
        calendar_version=business_calendar.version,
    )
