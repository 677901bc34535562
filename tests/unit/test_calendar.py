"""Business-time arithmetic: properties on generated calendars, and worked examples with their instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.calendar import (
    BusinessCalendar,
    WorkingInterval,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
)
from service.domain.model import Clock, Sla
from service.domain.sla import sla_clock

NY = "America/New_York"
EPS = timedelta(microseconds=1)


def office(tz: str = NY, *, hours: tuple[tuple[int, int], ...] = ((8 * 60, 17 * 60),), closed: frozenset[date] = frozenset(),
           days: range = range(5)) -> BusinessCalendar:
    return BusinessCalendar(
        code="office", version=1, time_zone=tz,
        intervals=tuple(WorkingInterval(d, s, e) for d in days for s, e in hours), closed_dates=closed,
    )


def local(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


# ---- worked examples -----------------------------------------------------------------------------
def test_friday_afternoon_request_is_due_monday_morning_in_new_york() -> None:
    # Friday 2026-11-06 16:30 EST + 4 business hours: 30 min on Friday, 3 h 30 on Monday from 08:00.
    due = add_business_time(office(), local(NY, 2026, 11, 6, 16, 30), timedelta(hours=4))
    assert due == datetime(2026, 11, 9, 16, 30, tzinfo=UTC)  # Monday 11:30 EST


def test_across_the_march_dst_change() -> None:
    # Clocks go forward on Sunday 2026-03-08: Friday is EST (-5), Monday EDT (-4).
    due = add_business_time(office(), local(NY, 2026, 3, 6, 16, 30), timedelta(hours=4))
    assert due == datetime(2026, 3, 9, 15, 30, tzinfo=UTC)  # Monday 11:30 EDT
    assert due.astimezone(ZoneInfo(NY)).hour == 11


def test_across_the_november_dst_change() -> None:
    # Clocks go back on Sunday 2026-11-01: Friday is EDT (-4), Monday EST (-5).
    due = add_business_time(office(), local(NY, 2026, 10, 30, 16, 30), timedelta(hours=4))
    assert due == datetime(2026, 11, 2, 16, 30, tzinfo=UTC)  # Monday 11:30 EST


def test_across_christmas_with_us_holidays() -> None:
    from service.usecases.calendars import resolve_closed_dates

    closed = resolve_closed_dates({"country": "US", "subdivision": None}, [], around=date(2026, 12, 1))
    assert date(2026, 12, 25) in closed
    # Thursday 2026-12-24 16:00: one hour on Thursday, Friday is Christmas, then the weekend.
    due = add_business_time(office(closed=closed), local(NY, 2026, 12, 24, 16, 0), timedelta(hours=4))
    assert due == local(NY, 2026, 12, 28, 11, 0)


def test_a_calendar_with_a_lunch_break() -> None:
    cal = office(hours=((8 * 60, 12 * 60), (13 * 60, 17 * 60)))
    assert add_business_time(cal, local(NY, 2026, 12, 7, 11, 0), timedelta(hours=2)) == local(NY, 2026, 12, 7, 14, 0)
    assert not is_open(cal, local(NY, 2026, 12, 7, 12, 30))
    assert next_opening(cal, local(NY, 2026, 12, 7, 12, 30)) == local(NY, 2026, 12, 7, 13, 0)


def test_berlin_across_the_october_change() -> None:
    berlin = "Europe/Berlin"
    cal = office(berlin, hours=((9 * 60, 18 * 60),))
    # Friday 2026-10-23 17:00 CEST + 3 h: 1 h on Friday, 2 h on Monday (CET after 2026-10-25).
    due = add_business_time(cal, local(berlin, 2026, 10, 23, 17, 0), timedelta(hours=3))
    assert due == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)  # Monday 11:00 CET


def test_sydney_across_the_october_change() -> None:
    sydney = "Australia/Sydney"
    cal = office(sydney, hours=((9 * 60, 17 * 60),))
    # Friday 2026-10-02 16:00 AEST + 4 h; clocks go forward on Sunday 2026-10-04 (AEDT, +11).
    due = add_business_time(cal, local(sydney, 2026, 10, 2, 16, 0), timedelta(hours=4))
    assert due == datetime(2026, 10, 5, 1, 0, tzinfo=UTC)  # Monday 12:00 AEDT


def test_a_request_at_midnight_waits_for_the_morning() -> None:
    due = add_business_time(office(), local(NY, 2026, 12, 8, 0, 0), timedelta(minutes=30))
    assert due == local(NY, 2026, 12, 8, 8, 30)


def test_sla_clock_outside_hours_names_the_next_opening() -> None:
    sla = Sla(240, 72, first_response_business_minutes=240, onsite_response_business_hours=8)
    clock = sla_clock(sla, office(), local(NY, 2026, 11, 6, 18, 0))  # Friday evening
    assert clock.clock is Clock.OUTSIDE_HOURS
    assert clock.next_open_at == local(NY, 2026, 11, 9, 8, 0)
    assert clock.first_response_due_at == local(NY, 2026, 11, 9, 12, 0)
    assert clock.onsite_due_at == local(NY, 2026, 11, 9, 16, 0)
    assert (clock.calendar_code, clock.calendar_version) == ("office", 1)


def test_calendar_time_targets_ignore_the_calendar() -> None:
    at = local(NY, 2026, 11, 6, 18, 0)
    clock = sla_clock(Sla(240, 72), office(), at)
    assert clock.first_response_due_at == at + timedelta(minutes=240)
    assert clock.onsite_due_at == at + timedelta(hours=72)
    assert clock.clock is Clock.RUNNING and clock.calendar_code is None


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(ValueError):
        WorkingInterval(7, 0, 60)
    with pytest.raises(ValueError):
        WorkingInterval(0, 600, 600)
    with pytest.raises(ValueError):
        office(hours=((8 * 60, 12 * 60), (11 * 60, 17 * 60)))
    with pytest.raises(Exception):  # noqa: B017 - zoneinfo raises its own error for an unknown zone
        office("Mars/Olympus_Mons")


# ---- properties ----------------------------------------------------------------------------------
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Sao_Paulo"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    intervals: list[WorkingInterval] = []
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1, max_size=7)):
        cuts = sorted(draw(st.sets(st.integers(0, 96), min_size=2, max_size=6)))
        for start, end in zip(cuts[::2], cuts[1::2], strict=False):
            intervals.append(WorkingInterval(weekday, start * 15, end * 15))
    if not intervals:
        intervals.append(WorkingInterval(0, 0, 60))
    closed = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=30))
    return BusinessCalendar("gen", 1, zone, tuple(intervals), closed)


instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.just(UTC))


def durations_for(cal: BusinessCalendar) -> st.SearchStrategy[timedelta]:
    """Up to about 20 weeks of the calendar's working time, so that the deadline stays inside the horizon."""
    weekly = sum(i.end_minute - i.start_minute for i in cal.intervals)
    return st.timedeltas(timedelta(0), timedelta(minutes=max(1, weekly) * 20))


durations = st.timedeltas(timedelta(0), timedelta(days=20))


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, st.data())
def test_adding_then_measuring_gives_the_duration_back(cal: BusinessCalendar, at: datetime, data: st.DataObject) -> None:
    duration = data.draw(durations_for(cal))
    due = add_business_time(cal, at, duration)
    assert due is not None
    assert business_time_between(cal, at, due) == duration


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, st.data())
def test_deadlines_never_fall_in_closed_time(cal: BusinessCalendar, at: datetime, data: st.DataObject) -> None:
    duration = data.draw(durations_for(cal))
    due = add_business_time(cal, at, duration)
    assert due is not None
    # A positive duration ends inside a working window or at its very end; a zero one starts in one.
    assert is_open(cal, due - EPS) if duration > timedelta(0) else is_open(cal, due)
    assert cal.local_date(due) not in cal.closed_dates or not is_open(cal, due)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, st.data())
def test_adding_in_two_steps_equals_adding_once(cal: BusinessCalendar, at: datetime, data: st.DataObject) -> None:
    first, second = data.draw(durations_for(cal)), data.draw(durations_for(cal))
    middle = add_business_time(cal, at, first)
    assert middle is not None
    assert add_business_time(cal, middle, second) == add_business_time(cal, at, first + second)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), instants, durations)
def test_a_round_the_clock_calendar_gives_at_plus_target(zone: str, at: datetime, duration: timedelta) -> None:
    cal = BusinessCalendar("24x7", 1, zone)
    assert add_business_time(cal, at, duration) == at + duration
    assert is_open(cal, at) and next_opening(cal, at) is None


@settings(max_examples=200, deadline=None)
@given(calendars(), instants)
def test_next_opening_is_open_and_nothing_is_open_before_it(cal: BusinessCalendar, at: datetime) -> None:
    opening = next_opening(cal, at)
    if opening is None:
        assert is_open(cal, at)
        return
    assert opening > at and is_open(cal, opening)
    assert business_time_between(cal, at, opening) == timedelta(0)


def test_a_deadline_beyond_the_horizon_is_unknown_not_a_hang() -> None:
    sparse = BusinessCalendar("sparse", 1, NY, (WorkingInterval(0, 0, 15),))
    assert add_business_time(sparse, local(NY, 2026, 12, 7, 0, 0), timedelta(days=30)) is None
