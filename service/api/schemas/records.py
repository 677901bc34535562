"""Request and response models of a client's records: membership, acceptances, signature requests, grace, overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api import examples
from service.api.schemas.common import Page, Prose, Strict, Text, Timestamp
from service.storage import tables as t


class MembershipPut(Strict):
    plan: Text = Field(min_length=1, max_length=64)
    status: Literal["active", "trialing", "past_due", "canceled", "expired"]
    current_period_end: Timestamp | None = None
    external_ref: Text | None = Field(None, max_length=200)


class MembershipRecordOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.MEMBERSHIP_RECORD_OUT]})
    id: str
    plan: str
    status: str
    current_period_end: datetime | None
    external_ref: str | None
    created_at: datetime
    superseded_at: datetime | None


class AcceptanceIn(Strict):
    contract_version: Text = Field(min_length=1, max_length=64)
    decision: Literal["signed", "declined"]
    method: Literal["paper", "manual", "phone", "click_through", "email", "provider"] = "manual"
    signer_name: Text | None = Field(None, max_length=300)
    signer_email: Text | None = Field(None, max_length=320)
    signed_at: Timestamp


class AcceptanceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ACCEPTANCE_OUT]})
    id: str
    contract_version: str
    decision: str
    method: str
    signer_name: str | None
    signer_email: str | None
    signed_at: datetime
    provider: str | None
    envelope_id: str | None
    actor: str
    created_at: datetime


class AcceptancePage(Page):
    items: list[AcceptanceOut]


class SignatureRequestIn(Strict):
    provider: Literal["docusign", "dropbox_sign", "pandadoc", "adobe_sign", "standard"]
    external_id: Text = Field(min_length=1, max_length=200)
    contract_version: Text = Field(min_length=1, max_length=64)


class SignatureRequestOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SIGNATURE_REQUEST_OUT]})
    id: str
    provider: str
    external_id: str
    contract_version: str
    status: str
    created_at: datetime
    updated_at: datetime


class SignatureRequestPage(Page):
    items: list[SignatureRequestOut]


class GraceIn(Strict):
    until: Timestamp


class GraceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.GRACE_OUT]})
    client_id: str
    contract_version: str
    grace_until: datetime


class OverrideIn(Strict):
    service: Text = Field(min_length=1, max_length=64)
    expires_at: Timestamp
    reason: Prose = Field(min_length=1, max_length=1000)


class OverrideOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.OVERRIDE_OUT]})
    id: str
    client_id: str
    service: str
    reason: str
    actor: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool


class OverridePage(Page):
    items: list[OverrideOut]


def membership_out(row: t.Membership) -> dict[str, Any]:
    return {
        "id": row.id, "plan": row.plan_code, "status": row.status, "current_period_end": row.current_period_end,
        "external_ref": row.external_ref, "created_at": row.created_at, "superseded_at": row.superseded_at,
    }


def acceptance_out(row: t.Acceptance) -> dict[str, Any]:
    return {
        "id": row.id, "contract_version": row.contract_version, "decision": row.decision, "method": row.method,
        "signer_name": row.signer_name, "signer_email": row.signer_email, "signed_at": row.signed_at,
        "provider": row.provider, "envelope_id": row.envelope_id, "actor": row.actor, "created_at": row.created_at,
    }


def override_out(row: t.Override, now: Any) -> dict[str, Any]:
    active = row.revoked_at is None and row.created_at <= now < row.expires_at
    return {
        "id": row.id, "client_id": row.client_id, "service": row.service_code, "reason": row.reason, "actor": row.actor,
        "created_at": row.created_at, "expires_at": row.expires_at, "revoked_at": row.revoked_at, "active": active,
    }


def signature_request_out(row: t.SignatureRequest) -> dict[str, Any]:
    return {
        "id": row.id, "provider": row.provider, "external_id": row.external_id, "contract_version": row.contract_version,
        "status": row.status, "created_at": row.created_at, "updated_at": row.updated_at,
    }
