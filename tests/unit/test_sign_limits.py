"""The signing page's per-minute buckets: the limit holds, refills, and memory stays bounded."""

from __future__ import annotations

from service.ui.sign_page import MinuteBuckets


def test_ten_a_minute_then_refused_then_refilled() -> None:
    buckets = MinuteBuckets(10)
    assert [buckets.take("10.0.0.1", now=100.0) for _ in range(10)] == [0.0] * 10
    wait = buckets.take("10.0.0.1", now=100.0)
    assert 5.9 < wait <= 6.0  # one token every 6 s
    assert buckets.take("10.0.0.2", now=100.0) == 0.0  # another address is not affected
    assert buckets.take("10.0.0.1", now=106.1) == 0.0


def test_under_a_flood_of_addresses_memory_stays_bounded_and_the_refused_stay_refused() -> None:
    buckets = MinuteBuckets(10, max_entries=100)
    for _ in range(11):
        buckets.take("guesser", now=0.0)
    for n in range(1000):
        buckets.take(f"visitor-{n}", now=1.0 + n / 1000)
        assert len(buckets) <= 100
    assert buckets.take("guesser", now=2.0) > 0
