"""Signature request statuses move one way: sent < viewed < signer_signed < a final status."""

from __future__ import annotations

FINAL = frozenset({"signed", "declined", "voided", "expired"})
_RANK = {"sent": 1, "viewed": 2, "signer_signed": 3}


def rank(status: str) -> int:
    return 4 if status in FINAL else _RANK.get(status, 0)


def advances(current: str | None, new: str) -> bool:
    """Whether `new` may replace `current`: never after a final status, never backwards."""
    if current is None:
        return True
    if current in FINAL:
        return False
    return rank(new) > rank(current)
