"""What text the service stores: no control characters (NUL included) in any field, from any door.

Line breaks and tabs are allowed only where a person writes prose (an override's reason). The API's
models carry these patterns (so the OpenAPI document states them), the import and the web page's
forms call `control_character_in` on what they read.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls, DEL and C1 controls: never part of a name, an identifier or a code.
SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
# The same, less tab, line feed and carriage return.
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

_SINGLE = re.compile(SINGLE_LINE)
_MULTI = re.compile(MULTI_LINE)


def control_character_in(value: str, *, multi_line: bool = False) -> bool:
    return (_MULTI if multi_line else _SINGLE).match(value) is None


# What no database column can hold: PostgreSQL refuses a NUL and an unpaired surrogate (SQLite would not).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: Any) -> bool:
    """A NUL or an unpaired surrogate anywhere inside a string, or inside a JSON value's keys and items."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(unstorable_text(k) or unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable_text(v) for v in value)
    return False
