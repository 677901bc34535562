"""Business-time arithmetic on working calendars: pure, standard library only (zoneinfo), time an argument.

A calendar has a time zone, weekly working intervals in local wall time and closed dates (holidays
already resolved by the caller). A calendar without intervals is open 24/7. Every instant given or
returned is timezone-aware; arithmetic is done on absolute instants, so daylight-saving changes
shorten or lengthen a local day exactly as a wall clock does.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
# How far ahead a deadline is looked for (two years); past this the deadline is unknown (None).
HORIZON_DAYS = 732
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class WorkingInterval:
    """[start, end) in minutes after local midnight of a weekday (Monday 0); end may be 1440 (24:00)."""

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday is 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError("an interval starts before it ends, within one day")


@dataclass(frozen=True, slots=True)
class _Chunk:
    """The working windows of CHUNK_DAYS local dates as microseconds since the epoch, with running totals."""

    starts: list[int]
    ends: list[int]
    before: list[int]  # working time before window i (within the chunk)
    through: list[int]  # working time up to the end of window i
    total: int


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    code: str
    version: int
    time_zone: str
    intervals: tuple[WorkingInterval, ...] = ()
    closed_dates: frozenset[date] = frozenset()
    # Chunks of working windows, memoised per calendar version (a pure function's cache).
    _chunks: dict[int, _Chunk] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        ZoneInfo(self.time_zone)  # an unknown zone fails here, not in the middle of a check
        by_day: dict[int, list[WorkingInterval]] = {}
        for interval in self.intervals:
            by_day.setdefault(interval.weekday, []).append(interval)
        for day in by_day.values():
            day.sort(key=lambda i: i.start_minute)
            for before, after in zip(day, day[1:], strict=False):
                if after.start_minute < before.end_minute:
                    raise ValueError("working intervals of one day overlap")

    @property
    def always_open(self) -> bool:
        return not self.intervals

    def windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working windows of a local date, as aware UTC instants, in order (empty on a closed date)."""
        if day in self.closed_dates:
            return ()
        zone = ZoneInfo(self.time_zone)
        weekday = day.weekday()
        spans = sorted((i.start_minute, i.end_minute) for i in self.intervals if i.weekday == weekday)
        windows = ((_instant(day, s, zone), _instant(day, e, zone)) for s, e in spans)
        # A window that a DST change squeezes to nothing is dropped.
        return tuple((start, end) for start, end in windows if start < end)

    def chunk(self, index: int) -> _Chunk:
        found = self._chunks.get(index)
        if found is None:
            if len(self._chunks) > 256:
                self._chunks.clear()
            found = self._chunks[index] = self._build_chunk(index)
        return found

    def _build_chunk(self, index: int) -> _Chunk:
        starts: list[int] = []
        ends: list[int] = []
        before: list[int] = []
        through: list[int] = []
        total = 0
        first = date.fromordinal(index * CHUNK_DAYS)
        for offset in range(CHUNK_DAYS):
            for start, end in self.windows(first + timedelta(days=offset)):
                s, e = _us(start), _us(end)
                starts.append(s)
                ends.append(e)
                before.append(total)
                total += e - s
                through.append(total)
        return _Chunk(starts, ends, before, through, total)

    def chunk_of(self, at: datetime) -> int:
        return at.astimezone(ZoneInfo(self.time_zone)).toordinal() // CHUNK_DAYS

    def local_date(self, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.time_zone)).date()


CHUNK_DAYS = 28
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _us(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """Local wall time `minute` after midnight of `day` as a UTC instant (24:00 is the next midnight).

    A wall time inside a spring-forward gap maps as zoneinfo's fold=0 does (the offset before the change).
    """
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business-time arithmetic needs timezone-aware instants")


def is_open(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether `at` lies inside working time ([start, end) of a window)."""
    _require_aware(at)
    if calendar.always_open:
        return True
    chunk = calendar.chunk(calendar.chunk_of(at))
    t = _us(at)
    i = bisect_right(chunk.ends, t)
    return i < len(chunk.ends) and chunk.starts[i] <= t


def add_business_time(calendar: BusinessCalendar, at: datetime, duration: timedelta) -> datetime | None:
    """The instant when `duration` of working time has passed since `at` (None past the horizon).

    A zero duration gives `at` itself inside working time, else the next opening. The answer is in UTC.
    """
    _require_aware(at)
    if duration < _ZERO:
        raise ValueError("a business duration is not negative")
    if calendar.always_open:
        return at.astimezone(UTC) + duration
    remaining = duration // _MICROSECOND
    index = calendar.chunk_of(at)
    t = _us(at)
    for _ in range(HORIZON_DAYS // CHUNK_DAYS + 1):
        chunk = calendar.chunk(index)
        i = bisect_right(chunk.ends, t)  # the first window that ends after t
        if i < len(chunk.ends):
            target = chunk.before[i] + max(0, t - chunk.starts[i]) + remaining
            if target <= chunk.total:
                j = bisect_left(chunk.through, target, lo=i)
                return _from_us(chunk.starts[j] + target - chunk.before[j])
            remaining = target - chunk.total
        index += 1
        t = -(1 << 62)  # from the start of the next chunk
    return None


def next_opening(calendar: BusinessCalendar, at: datetime) -> datetime | None:
    """None while `at` is inside working time (the clock is running), else the next instant it opens."""
    if is_open(calendar, at):
        return None
    return add_business_time(calendar, at, _ZERO)


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time inside [start, end) (zero when end is not after start)."""
    _require_aware(start)
    _require_aware(end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return _ZERO
    if calendar.always_open:
        return end - start
    total = _ZERO
    day = calendar.local_date(start) - timedelta(days=1)
    last = calendar.local_date(end)
    while day <= last:
        for window_start, window_end in calendar.windows(day):
            lo, hi = max(window_start, start), min(window_end, end)
            if lo < hi:
                total += hi - lo
        day += timedelta(days=1)
    return total
