"""The range of moments the service accepts: every timestamp it takes is checked here (a 422 outside)."""

from __future__ import annotations

from datetime import UTC, datetime

from service.errors import InvalidInput

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class OutOfBounds(InvalidInput, ValueError):
    """A 422 for the API's handlers, and a ValueError for pydantic's validators."""


def check_bounds(dt: datetime, field: str) -> datetime:
    """`dt` in UTC, if it lies in [1970-01-01, 2200-01-01); else OutOfBounds.

    Converting `9999-12-31T23:59:59-23:59` to UTC overflows the calendar: that is out of range too.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise OutOfBounds(f"{field} needs an offset", errors=[{"loc": [field], "msg": "timestamp without offset"}])
    try:
        value = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        value = None
    if value is None or not EARLIEST <= value < LATEST:
        raise OutOfBounds(
            f"{field} must lie between {EARLIEST.date()} and {LATEST.date()}",
            errors=[{"loc": [field], "msg": f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"}],
        )
    return value
