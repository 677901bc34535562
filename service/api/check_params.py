"""The check's flat parameters, declared once: names, aliases and length limits.

The GET route validates its query with CheckParams (FastAPI documents it from the same model),
the flat POST body is checked against the same limits, and the fast lane (api/lane.py) validates
with CheckParams before it answers, stepping aside to the route whenever the model refuses.
"""

from __future__ import annotations

from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.domain.model import Channel
from service.text import SINGLE_LINE

_CALLER = "alias of phone"
_PERSON = "the person asking, beside the client identifier"


class CheckParams(BaseModel):
    # Unknown names are ignored: Twilio, Aircall and IVRs post many fields of their own.
    model_config = ConfigDict(extra="ignore")

    service: str = Field(min_length=1, max_length=64, pattern=SINGLE_LINE, description="the service code asked for")
    phone: str | None = Field(None, max_length=100, pattern=SINGLE_LINE,
                              description="caller id in any form: +1…, 00…, 011…, national, tel:/sip: URI")
    from_: str | None = Field(None, alias="From", max_length=100, pattern=SINGLE_LINE, description=f"{_CALLER} (Twilio)")
    caller_: str | None = Field(None, alias="Caller", max_length=100, pattern=SINGLE_LINE, description=f"{_CALLER} (Twilio)")
    ani: str | None = Field(None, max_length=100, pattern=SINGLE_LINE, description=f"{_CALLER} (IVRs)")
    from_lower: str | None = Field(None, alias="from", max_length=100, pattern=SINGLE_LINE, description=_CALLER)
    caller_lower: str | None = Field(None, alias="caller", max_length=100, pattern=SINGLE_LINE, description=_CALLER)
    ani_upper: str | None = Field(None, alias="ANI", max_length=100, pattern=SINGLE_LINE, description=f"{_CALLER} (IVRs)")
    email: str | None = Field(None, max_length=320, pattern=SINGLE_LINE)
    client_id: str | None = Field(None, max_length=64, pattern=SINGLE_LINE)
    external_system: str | None = Field(None, max_length=64, pattern=SINGLE_LINE)
    external_id: str | None = Field(None, max_length=200, pattern=SINGLE_LINE)
    at: str | None = Field(None, max_length=64, pattern=SINGLE_LINE, description="RFC 3339 with offset: evaluate at another moment",
                           json_schema_extra={"format": "date-time", "pattern": r"^(19[7-9]\d|2[01]\d\d)-"})
    units: str | None = Field(None, max_length=16, pattern=SINGLE_LINE,
                              description="units the agent means to use (default 1; hours to the quarter)")
    channel: str | None = Field(None, max_length=16, description="how the request came in; may change the rank a service needs",
                                json_schema_extra={"enum": [c.value for c in Channel]})
    contact_email: str | None = Field(None, max_length=320, pattern=SINGLE_LINE, description=_PERSON)
    contact_phone: str | None = Field(None, max_length=100, pattern=SINGLE_LINE, description=_PERSON)

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, value: str | None) -> str | None:
        if value is not None and value not in {c.value for c in Channel}:
            raise ValueError(f"one of {', '.join(c.value for c in Channel)}")
        return value


def _limit(metadata: list[Any]) -> int | None:
    return next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)


# Name as sent (alias) -> its length limit; the phone's names in the order they are looked for.
LIMITS: dict[str, int] = {
    (f.alias or name): limit for name, f in CheckParams.model_fields.items() if (limit := _limit(f.metadata)) is not None
}
PHONE_ALIASES: tuple[str, ...] = tuple(
    (f.alias or name) for name, f in CheckParams.model_fields.items() if name == "phone" or f.description and _CALLER in f.description
)


def flat_fields_schema() -> dict[str, Any]:
    """The JSON schema of a flat check body (JSON object or form), from the same model."""
    schema = CheckParams.model_json_schema(by_alias=True)
    schema.pop("title", None)
    for prop in schema["properties"].values():
        prop.pop("title", None)
        prop.pop("default", None)
        # Optional fields appear as anyOf[string, null]; a flat body sends strings (or leaves them out).
        if "anyOf" in prop:
            string = next(s for s in prop.pop("anyOf") if s.get("type") == "string")
            prop.update(string)
    return schema
