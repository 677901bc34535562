"""Ids: the table-driven base32 equals the standard library's, and ids sort by creation time."""

from __future__ import annotations

import base64
import re
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from service.ids import b32_of_14_bytes, new_id


@given(st.binary(min_size=14, max_size=14))
def test_base32_matches_the_standard_library(raw: bytes) -> None:
    assert b32_of_14_bytes(raw) == base64.b32encode(raw).decode().rstrip("=").lower()


def test_ids_are_prefixed_base32_and_time_ordered() -> None:
    with mock.patch("service.ids.time.time", return_value=1_700_000_000.000):
        early = new_id("dec")
    with mock.patch("service.ids.time.time", return_value=1_700_000_000.001):
        late = new_id("dec")
    assert re.fullmatch(r"dec_[a-z2-7]{23}", early)
    assert early < late
    assert len({new_id("x") for _ in range(1000)}) == 1000
