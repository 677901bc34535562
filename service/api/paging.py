"""Pages of every list: the `limit` and `cursor` parameters, and the opaque cursor of each list.

A cursor is the sort key of the last row of a page, tagged with its list (and the client for a
client's own lists), so the next page is a keyset query and a cursor of another list is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Query

from service.cursors import decode_cursor, encode_cursor
from service.errors import InvalidInput

T = TypeVar("T")
KeyPart = str | int | datetime

Limit = Query(50, ge=1, le=500, description="Items per page (1-500)")
Cursor = Query(None, max_length=400, description="`next_cursor` of the previous page; omit for the first page")


def invalid_cursor() -> InvalidInput:
    return InvalidInput("invalid cursor", errors=[{"loc": ["query", "cursor"], "msg": "not a cursor of this list"}])


def _part(value: str, kind: type) -> KeyPart:
    if kind is str:
        return value
    if kind is int:
        try:
            return int(value)
        except ValueError:
            raise invalid_cursor() from None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise invalid_cursor() from None
    if stamp.tzinfo is None:
        raise invalid_cursor()
    return stamp


def _text(value: KeyPart) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class Keyset:
    """The cursors of one list, whose sort key is made of parts of the given kinds (str, int, datetime)."""

    def __init__(self, name: str, *kinds: type) -> None:
        self.prefix = name + "|"
        self.kinds = kinds

    def read(self, cursor: str | None) -> tuple[Any, ...] | None:
        """The key after which the page starts; None for the first page; 422 for anything else."""
        if not cursor:
            return None
        raw = decode_cursor(cursor)
        if raw is None or not raw.startswith(self.prefix):
            raise invalid_cursor()
        parts = raw[len(self.prefix):].split("|")
        if len(parts) != len(self.kinds):
            raise invalid_cursor()
        return tuple(_part(value, kind) for value, kind in zip(parts, self.kinds, strict=True))

    def make(self, key: Sequence[KeyPart]) -> str:
        return encode_cursor(self.prefix + "|".join(_text(part) for part in key))

    def page(self, rows: Sequence[T], limit: int, key: Callable[[T], Sequence[KeyPart]]) -> tuple[list[T], str | None]:
        """Cut rows fetched with `limit + 1` to the page; the cursor only when a further row exists."""
        items = list(rows[:limit])
        return items, self.make(key(items[-1])) if len(rows) > limit and items else None

    def page_in_memory(
        self, rows: Sequence[T], limit: int, cursor: str | None, key: Callable[[T], Sequence[KeyPart]], *, descending: bool = False,
    ) -> tuple[list[T], str | None]:
        """The same page from rows already sorted by `key` (small fixed catalogs only)."""
        after = self.read(cursor)
        if after is not None:
            rows = [r for r in rows if (tuple(key(r)) < after if descending else tuple(key(r)) > after)]
        return self.page(rows[: limit + 1], limit, key)


def comma_list(values: Sequence[str]) -> str:
    """The pattern of a comma-separated choice among `values` (or nothing): what the filters accept, stated."""
    choice = "(" + "|".join(re.escape(v) for v in values) + ")"
    return f"^({choice}(,{choice})*)?$"
