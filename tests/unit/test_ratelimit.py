"""The per-key token bucket: bursts up to the limit, refills at the rate, tells how long to wait."""

from service.ratelimit import RateLimiter, retry_after_header


def test_a_burst_then_the_sustained_rate_and_the_wait_it_announces() -> None:
    limiter = RateLimiter(per_second=2, burst=3)
    assert [limiter.acquire("ivr", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("ivr", now=100.0)
    assert wait == 0.5 and retry_after_header(wait) == "1"
    assert limiter.acquire("other", now=100.0) == 0.0  # per key
    assert limiter.acquire("ivr", now=100.5) == 0.0  # one token back after 1/rate seconds
    assert limiter.acquire("ivr", now=100.5) > 0
    assert [limiter.acquire("ivr", now=200.0) for _ in range(3)] == [0.0] * 3  # refilled, never above the burst
    assert limiter.acquire("ivr", now=200.0) > 0


def test_zero_turns_it_off() -> None:
    limiter = RateLimiter(per_second=0, burst=1)
    assert not limiter.enabled and all(limiter.acquire("k", now=1.0) == 0.0 for _ in range(1000))
