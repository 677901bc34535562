"""Signature request statuses move one way: sent < viewed < signer_signed < a final status."""

from __future__ import annotations

FINAL = frozenset({"signed", "declined", "voided", "expired"})
_RANK = {"sent": 1, "viewed": 2, "signer_signed": 3}


def rank(status: str) -> int:
    return 4 if status in FINAL else _RANK.get(status, 0)


def advances(current: str | None, new: str, *, confirmed: bool = False) -> bool:
    """Whether `new` may replace `current`: never after a final status, never backwards.

    One exception: a `signed`/`declined` that the provider's API confirmed replaces a `voided` or
    `expired` taken from an event nobody could verify (Dropbox Sign signs only time and type, Adobe
    Sign nothing), so a forged "canceled" cannot block the real signature.
    """
    if current is None:
        return True
    if confirmed and current in ("voided", "expired") and new in ("signed", "declined"):
        return True
    if current in FINAL:
        return False
    return rank(new) > rank(current)
