"""Sharing one process's interpreter with its request loop: background work that gives way while the loop is busy.

The request loop and any other thread of the process take turns on the interpreter lock, so a busy
thread beside the loop slows every answer. A `SharePacer` keeps the work of its thread(s) to a
fraction of the time while the loop is busy: before each piece of work it waits out what the last
pieces took beyond that share. With the loop idle (or no loop in this process) it never waits.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

# The loop counts as busy when it used more than this share of one core since the last look.
LOOP_BUSY = 0.1
# Never wait longer than this before one piece of work (a piece far larger than the rest is not made up for).
MAX_WAIT = 0.05


def loop_clock_here() -> int | None:
    """The CPU clock of the calling thread (call it on the request loop's thread), None where unsupported."""
    with contextlib.suppress(AttributeError, OSError):
        return time.pthread_getcpuclockid(threading.get_ident())
    return None


class SharePacer:
    """Holds the work done through `turn()` to `share` of the wall time while the loop is busy.

    Work is measured as the working thread's own CPU time, so time spent waiting for the lock or
    for the database does not count against it. Thread-safe: several threads may share one pacer
    (their turns then share the budget, one at a time)."""

    def __init__(self, loop_clock: int | None, share: float) -> None:
        self.loop_clock = loop_clock
        self.share = min(max(share, 0.01), 1.0)
        self._lock = threading.Lock()
        self._owed = 0.0  # seconds to wait before the next turn, from the work done so far
        self._last_end = time.perf_counter()
        self._loop_seen: tuple[float, float] | None = None

    def _loop_busy(self, now: float) -> bool:
        assert self.loop_clock is not None
        try:
            loop_cpu = time.clock_gettime(self.loop_clock)
        except OSError:  # the loop's thread is gone (the app is stopping)
            return False
        seen, self._loop_seen = self._loop_seen, (now, loop_cpu)
        if seen is None or now - seen[0] <= 0:
            return True  # first look: assume busy rather than let a burst through at full speed
        return (loop_cpu - seen[1]) > LOOP_BUSY * (now - seen[0])

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Wait as long as the share says (only while the loop is busy), then time the work in the block."""
        if self.loop_clock is None or self.share >= 1.0:
            yield
            return
        with self._lock:
            now = time.perf_counter()
            # What the idle time since the last turn already paid off.
            self._owed = max(0.0, self._owed - (now - self._last_end))
            if self._owed > 0 and self._loop_busy(now):
                time.sleep(min(self._owed, MAX_WAIT))
            self._owed = 0.0
            started = time.thread_time()
            try:
                yield
            finally:
                worked = time.thread_time() - started
                self._owed = min(worked * (1.0 / self.share - 1.0), MAX_WAIT)
                self._last_end = time.perf_counter()
