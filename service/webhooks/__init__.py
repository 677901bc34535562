"""Provider webhooks: verify a delivery on its raw bytes, then parse it into normalised events.

Each provider module offers `verify(...)` (raises `SignatureRejected`) and `parse(...)` (raises
`MalformedEvent`); nothing is parsed for use before the signature holds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from service.errors import InvalidInput, Unauthorized
from service.timebounds import in_bounds

# Normalised statuses (reference: shared/reference/esign-webhooks.md). `signer_signed` is one signer
# done, not "the client signed"; only `signed` is document-level completion.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

STATUSES = ("sent", "viewed", "signer_signed", "signed", "declined", "voided", "expired")


class SignatureRejected(Unauthorized):
    """The delivery is not proven to come from the provider: 401, nothing stored."""


class MalformedEvent(InvalidInput):
    """A genuine delivery we cannot read: 422, nothing stored."""


@dataclass(frozen=True, slots=True)
class NormalisedEvent:
    provider: str
    event_key: str
    event_type: str
    envelope_id: str | None
    # One of STATUSES, or None for event types that carry no status change (tests, reminders…).
    status: str | None
    occurred_at: datetime | None
    signer_name: str | None = None
    signer_email: str | None = None
    client_id: str | None = None
    contract_version: str | None = None
    # Standard Webhooks may name the client by an external reference instead of its id.
    external_system: str | None = None
    external_id: str | None = None
    # Why a genuine event must be kept but not applied (a signed date outside the accepted range).
    refusal: str | None = None

    def with_metadata(self, metadata: dict[str, Any]) -> NormalisedEvent:
        return replace(self, client_id=text(metadata.get("client_id")), contract_version=text(metadata.get("contract_version")))


def text(value: Any, limit: int = 300) -> str | None:
    """A short string from untrusted JSON, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    # PostgreSQL text cannot hold NUL; other control characters have no place in ids and names either.
    value = _CONTROL.sub("", value).strip()
    return value[:limit] or None


def timestamp(value: Any) -> datetime | None:
    """ISO 8601 text or Unix seconds → aware UTC datetime; None when unreadable."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str) and value.strip():
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def dated(value: Any, field: str) -> tuple[datetime | None, str | None]:
    """(instant in UTC, None), (None, None) when absent or unreadable, or (None, why) when out of range.

    A provider retries a delivery we answer with a 500 for days; a date at the calendar's edge is
    therefore a reason to keep the event refused, never an exception.
    """
    parsed = timestamp(value)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if parsed is None and not (numeric or (isinstance(value, str) and value.strip().isdigit())):
        return None, None
    if parsed is None or not in_bounds(parsed):
        # Unix seconds too large for the calendar are out of range, not merely unreadable.
        return None, f"{field} is outside 1970-01-01..2200-01-01 UTC"
    return parsed.astimezone(UTC), None


def first_dated(*candidates: tuple[Any, str]) -> tuple[datetime | None, str | None]:
    """The first readable date among (value, field) candidates; a refusal as soon as one is out of range."""
    for value, field in candidates:
        instant, refusal = dated(value, field)
        if instant is not None or refusal is not None:
            return instant, refusal
    return None, None


def content_key(item: Any) -> str:
    """A dedupe key from signed content: SHA-256 of the item's canonical JSON (keys sorted)."""
    return "sha256:" + hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()


def digest_key(*parts: str | None) -> str:
    """A bounded event key from its parts (the column holds 400 characters)."""
    joined = ":".join(p or "" for p in parts)
    if len(joined) <= 200:
        return joined
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()


def as_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
