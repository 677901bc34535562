"""The cache's two-step read: from memory alone first, through to the database only on a Miss."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread

from service.cache import Miss

T = TypeVar("T")


async def read_cached(read: Callable[[bool], T], *, inline_io: bool) -> T:
    """`read(allow_io)`: first without I/O (a hit costs no thread hop); on a Miss, again with I/O — on
    the event loop when the cache says reads are local and cheap (SQLite), else in a worker thread."""
    try:
        return read(False)
    except Miss:
        return read(True) if inline_io else await anyio.to_thread.run_sync(read, True)
