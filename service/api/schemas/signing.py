"""Request and response models of the signing links and of the signing page's receipt and evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import Int
from service.text import SINGLE_LINE
from service.usecases.signing import Receipt
from service.usecases.signing_links import MAX_EXPIRES_IN_DAYS, SigningLinkView


class SigningLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(pattern=SINGLE_LINE, min_length=3, max_length=254)
    contract_version: str | None = Field(None, pattern=SINGLE_LINE, min_length=1, max_length=64, description="default: the current version")
    expires_in_days: Int = Field(30, ge=1, le=MAX_EXPIRES_IN_DAYS)


class SigningLinkOut(BaseModel):
    id: str
    client_id: str
    email: str
    contract_version: str
    status: str = Field(description="active | used | expired | revoked")
    created_at: datetime
    expires_at: datetime
    first_opened_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None
    acceptance_id: str | None

    @classmethod
    def from_domain(cls, view: SigningLinkView) -> SigningLinkOut:
        return cls(
            id=view.id, client_id=view.client_id, email=view.email, contract_version=view.contract_version, status=view.status,
            created_at=view.created_at, expires_at=view.expires_at, first_opened_at=view.first_opened_at, used_at=view.used_at,
            revoked_at=view.revoked_at, acceptance_id=view.acceptance_id,
        )


class SigningLinkCreated(SigningLinkOut):
    url: str = Field(description="{public_url}/sign/{token}: holds the token, shown only in this answer")


class SigningLinkPage(BaseModel):
    items: list[SigningLinkOut]
    next_cursor: str | None


class SigningReceiptOut(BaseModel):
    """What the signer may keep of an answer given on the signing page."""

    acceptance_id: str
    client_name: str
    contract_version: str
    document_sha256: str = Field(description="SHA-256 of the exact document bytes shown")
    decision: str
    signer_name: str | None
    signer_title: str | None
    signer_email: str | None
    signed_at: datetime = Field(description="server time (UTC) of the click")
    ip: str
    user_agent: str
    consent_version: str
    decline_reason: str | None
    link_id: str

    @classmethod
    def from_domain(cls, receipt: Receipt) -> Self:
        return cls(**{name: getattr(receipt, name) for name in cls.model_fields})


class ClickThroughEvidenceOut(SigningReceiptOut):
    """The receipt and what the signer was shown: the consent wording of that version and the button pressed."""

    consent_text: str = Field(description="the consent wording of that version")
    button_text: str
