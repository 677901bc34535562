"""Request and response models of working calendars, and the SLA deadlines of a decision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.api.schemas.common import Int, Page, Strict
from service.text import SINGLE_LINE

CLOCK = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
_ZONES = frozenset(available_timezones())

CALENDAR_EXAMPLE: dict[str, Any] = {
    "name": "New York office", "time_zone": "America/New_York",
    "intervals": [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
    "holidays": {"country": "US", "subdivision": "NY"}, "closed_dates": ["2026-12-24"],
}


class IntervalModel(Strict):
    weekday: Int = Field(ge=0, le=6, description="Monday 0 … Sunday 6")
    start: str = Field(pattern=CLOCK, description='local wall time "HH:MM"')
    end: str = Field(pattern=CLOCK, description='local wall time "HH:MM" after start; "24:00" is midnight')


class HolidaysModel(Strict):
    country: str = Field(pattern=r"^[A-Za-z]{2,3}$", description="ISO 3166-1 code the `holidays` data knows")
    subdivision: str | None = Field(None, pattern=SINGLE_LINE, min_length=1, max_length=10)


class CalendarIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [CALENDAR_EXAMPLE]})
    name: str = Field(pattern=SINGLE_LINE, min_length=1, max_length=200)
    time_zone: str = Field(pattern=SINGLE_LINE, min_length=1, max_length=64, description="an IANA time zone, e.g. America/New_York")
    intervals: list[IntervalModel] = Field(default_factory=list, max_length=100, description="none: open 24/7")
    holidays: HolidaysModel | None = None
    closed_dates: list[date] = Field(default_factory=list, max_length=1000)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _ZONES:
            raise ValueError("an IANA time zone name, e.g. America/New_York")
        return value

    @field_validator("closed_dates", mode="before")
    @classmethod
    def _iso_dates(cls, value: Any) -> Any:
        # strict mode takes no strings for dates: read them as ISO 8601 calendar dates here.
        if isinstance(value, list):
            try:
                return [date.fromisoformat(v) if isinstance(v, str) else v for v in value]
            except ValueError as exc:
                raise ValueError("dates as YYYY-MM-DD") from exc
        return value


class CalendarOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CALENDAR_EXAMPLE | {"code": "nyc", "version": 1,
                                                                                  "created_at": "2026-12-01T10:00:00+00:00"}]})
    code: str
    version: int
    name: str
    time_zone: str
    intervals: list[IntervalModel]
    holidays: HolidaysModel | None
    closed_dates: list[str]
    created_at: datetime


class CalendarPage(Page):
    items: list[CalendarOut]
