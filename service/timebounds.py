"""The one range of instants the service accepts (API, webhooks, imports): 1970-01-01 to 2200-01-01 UTC, a 422 outside."""

from __future__ import annotations

from datetime import UTC, datetime

from service.errors import InvalidInput

# Wide enough for any real contract, grace or billing date; narrow enough that adding a term or a
# grace period, or converting to another offset, can never overflow the calendar (year 1 or 9999).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MIN_ACCEPTED, MAX_ACCEPTED = EARLIEST, LATEST


class OutOfBounds(InvalidInput, ValueError):
    """A 422 for the API's handlers, and a ValueError for pydantic's validators."""


def in_bounds(dt: datetime) -> bool:
    """True when `dt` (naive means UTC) lies within the accepted range; never raises."""
    try:
        instant = dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        # `9999-12-31T23:59:59-23:59` or `0001-01-01T00:00:00+23:59` cannot even be shown in UTC.
        return False
    return EARLIEST <= instant < LATEST


def check_bounds(dt: datetime, field: str) -> datetime:
    """`dt` as an aware UTC datetime (naive means UTC), or OutOfBounds (422) naming the field."""
    if not in_bounds(dt):
        detail = f"{field} must lie between {EARLIEST.date().isoformat()} and {LATEST.date().isoformat()} UTC"
        raise OutOfBounds(detail, errors=[{"loc": field.split("."), "msg": detail, "type": "out_of_bounds"}])
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
