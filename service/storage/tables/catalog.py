"""Tables of the catalog: plans, services, working calendars."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.storage.tables.base import Base


class Plan(Base):
    __tablename__ = "plans"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    rank: Mapped[int]
    price_amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    price_currency: Mapped[str] = mapped_column(sa.String(3))
    routing_priority: Mapped[str] = mapped_column(sa.String(32))
    routing_queue: Mapped[str] = mapped_column(sa.String(64))
    first_response_minutes: Mapped[int]
    onsite_response_hours: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]
    # SLA targets in business time on the plan's calendar (null: the calendar-time targets apply).
    calendar_code: Mapped[str | None] = mapped_column(sa.String(64))
    first_response_business_minutes: Mapped[int | None]
    onsite_response_business_hours: Mapped[int | None]


class Service(Base):
    __tablename__ = "services"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    requires_contract: Mapped[bool]
    min_rank: Mapped[int]
    updated_at: Mapped[datetime]
    # {channel: rank}: through that channel the service needs that rank instead of min_rank.
    channel_min_rank: Mapped[dict[str, Any] | None]


class Calendar(Base):
    """A working calendar; its definition lives in versions, the newest being current."""

    __tablename__ = "calendars"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    current_version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CalendarVersion(Base):
    """One definition of a calendar, never changed once written: answers name the version they used."""

    __tablename__ = "calendar_versions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    calendar_code: Mapped[str] = mapped_column(sa.ForeignKey("calendars.code"))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    intervals: Mapped[list[Any]]
    holidays: Mapped[dict[str, Any] | None]
    closed_dates: Mapped[list[Any]]
    # The holidays of the country resolved when the version was written, plus its own closed dates.
    resolved_closed_dates: Mapped[list[Any]]
    created_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("calendar_code", "version", name="uq_calendar_versions_code_version"),)
