"""What every schema module shares: the strict request base, the problem and page shapes, the typed fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from service.text import MULTI_LINE, SINGLE_LINE, unstorable_text
from service.timebounds import check_bounds

# A code of the catalog (a service, a plan, a calendar) or a contract version, in a path or a body.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
CodePath = Path(min_length=1, max_length=64, pattern=CODE_PATTERN)


# The written year is 1970..2199 (the range check_bounds then checks in UTC): the schema's pattern says the same.
_YEAR = r"^(19[7-9]\d|2[01]\d\d)-"
_RFC3339 = re.compile(_YEAR + r"\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def _rfc3339(value: Any) -> Any:
    """Only an RFC 3339 string (or a datetime) is a timestamp: no Unix numbers, no `"0.5"`."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.match(value.strip()):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
    if isinstance(value, str) and re.match(r"^\s*[+-]?\d{4,}-", value) and not re.match(_YEAR, value.strip()):
        return check_bounds(datetime(1, 1, 1, tzinfo=UTC), "timestamp")  # raises: a year out of range
    raise ValueError("RFC 3339 timestamp with an offset expected")


def _bounded(value: datetime) -> datetime:
    return check_bounds(value, "timestamp")  # OutOfBounds is a ValueError: pydantic reports it as a 422


# A timestamp in a request: RFC 3339 with an offset (API.md), nothing else, between 1970 and 2200 (UTC).
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_bounded),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _YEAR,
                    "description": "RFC 3339 with an offset, from 1970-01-01 to 2200-01-01 (UTC)"}),
]


# Every text a request carries: no control characters (service/text.py), stated in the OpenAPI document.
Text = Annotated[str, StringConstraints(pattern=SINGLE_LINE)]
Prose = Annotated[str, StringConstraints(pattern=MULTI_LINE)]  # line breaks and tabs allowed (a reason)
Email = Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=SINGLE_LINE)]
Domain = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=SINGLE_LINE)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=SINGLE_LINE)]


def integral(value: Any) -> Any:
    """JSON's 2.0 is the integer 2 (JSON Schema says so); 2.5, "2" and true are not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(integral)]


class Strict(BaseModel):
    # strict: a JSON 0 is not `false`, `false` is not 0, 1.0 is not a string — the document's types hold.
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if unstorable_text(data):
            raise ValueError("text must not hold NUL characters or unpaired surrogates")
        return data


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class Page(BaseModel):
    next_cursor: str | None = None


class ExternalRef(Strict):
    system: Text = Field(min_length=1, max_length=64)
    id: Text = Field(min_length=1, max_length=200)


CheckChannel = Literal["phone", "email", "web", "chat", "remote", "onsite"]


def iso_text(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
