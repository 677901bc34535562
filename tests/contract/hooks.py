"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS by run_schemathesis.py)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def map_query(ctx: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """Documented exception: a page cursor is opaque. Only a `next_cursor` the server handed out is
    valid; any generated one is rightly refused (422), so generated requests ask for the first page."""
    if query and "cursor" in query:
        return {name: value for name, value in query.items() if name != "cursor"}
    return query
