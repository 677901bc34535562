"""Keyset pages: the rows after the last key seen, `limit` rows, never OFFSET."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa


def _beyond(columns: Sequence[Any], key: Sequence[Any], *, descending: bool = False) -> sa.ColumnElement[bool]:
    """The rows after `key` in the order of `columns` (all ascending, or all descending): a page's keyset condition."""
    bound = sa.tuple_(*(sa.literal(value, column.type) for column, value in zip(columns, key, strict=True)))
    return sa.tuple_(*columns) < bound if descending else sa.tuple_(*columns) > bound


def keyset_page(
    query: sa.Select[Any], columns: Sequence[Any], *, limit: int, after: Sequence[Any] | None, descending: bool = False
) -> sa.Select[Any]:
    """`query` cut to the page after the key `after` (None: the first page), ordered by `columns`."""
    if after is not None:
        query = query.where(_beyond(columns, after, descending=descending))
    return query.order_by(*(c.desc() if descending else c for c in columns)).limit(limit)
