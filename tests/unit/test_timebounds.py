"""The shared timestamp bounds: never raises anything but a 422, whatever the offset or year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.timebounds import MAX_ACCEPTED, MIN_ACCEPTED, OutOfBounds, check_bounds, in_bounds

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2200-01-01T00:00:01Z",
                                  "1969-12-31T23:59:59Z"])
def test_calendar_edges_are_a_422_not_an_overflow(text: str) -> None:
    with pytest.raises(OutOfBounds) as caught:
        check_bounds(datetime.fromisoformat(text), "data.signed_at")
    assert caught.value.http_status == 422 and "data.signed_at" in caught.value.detail


def test_inside_the_range_comes_back_in_utc() -> None:
    local = datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert check_bounds(local, "at") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    last = MAX_ACCEPTED - timedelta(microseconds=1)
    assert check_bounds(MIN_ACCEPTED, "at") == MIN_ACCEPTED and check_bounds(last, "at") == last
    with pytest.raises(OutOfBounds):  # the range is half-open: [1970-01-01, 2200-01-01)
        check_bounds(MAX_ACCEPTED, "at")


@given(st.datetimes(timezones=offsets))
def test_any_instant_is_either_accepted_in_utc_or_refused(dt: datetime) -> None:
    if in_bounds(dt):
        assert check_bounds(dt, "at").tzinfo is UTC
    else:
        with pytest.raises(OutOfBounds):
            check_bounds(dt, "at")
