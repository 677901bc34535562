"""Per-key rate limits: a token bucket per key name, in process memory.

The defaults are generous (a sustained 100 requests a second per key, bursts of 1,000) so that a busy
phone system is never limited by accident; the limit is there to stop a runaway or hostile client.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = max(burst, 1)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def acquire(self, name: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait before the next one will."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.per_second


def retry_after_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
