"""Request and response models of the contract version routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from service.api import examples
from service.api.schemas.common import CODE_PATTERN, Int, Page, Strict, Text, Timestamp, integral


class ContractIn(Strict):
    version: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
    title: Text = Field(min_length=1, max_length=300)
    document_url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://[^\x00-\x20\x7f-\x9f]+$")
    document_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    grace_days: Int = Field(ge=0, le=3650)
    term_days: Annotated[int, Field(ge=1, le=36500), BeforeValidator(integral)] | None = None


class PublishIn(Strict):
    at: Timestamp | None = None


class ContractVersionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONTRACT_VERSION_OUT]})
    version: str
    title: str
    document_url: str
    document_sha256: str
    grace_days: int
    term_days: int | None
    status: str
    created_at: datetime
    published_at: datetime | None


class ContractPage(Page):
    items: list[ContractVersionOut]
