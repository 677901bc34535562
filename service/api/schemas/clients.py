"""Request and response models of the client routes (records, search, import, audit trail, technician card)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api import examples
from service.api.schemas.checks import ContractOut, DecisionOut, MatchedClientOut, MembershipOut, contract_json, membership_json
from service.api.schemas.common import Domain, Email, ExternalRef, Page, Phone, Strict, Text
from service.domain import model as dm
from service.storage import tables as t
from service.usecases.client_view import ClientView
from service.usecases.clients import IdentifierSet


class ContactIn(Strict):
    name: str = Field(min_length=1, max_length=300)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=100)
    roles: list[Literal["requester", "approver", "billing"]] = Field(default_factory=list, max_length=3)


class ContactOut(BaseModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    roles: list[str]


class ClientCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Acme Dental", "emails": ["office@acmedental.com"], "domains": ["acmedental.com"],
                 "phones": ["(212) 555-0142"], "external_refs": [{"system": "halopsa", "id": "1042"}]}
            ]
        },
    )
    name: Text = Field(min_length=1, max_length=300)
    emails: list[Email] = Field(default_factory=list, max_length=100)
    domains: list[Domain] = Field(default_factory=list, max_length=100)
    phones: list[Phone] = Field(default_factory=list, max_length=100)
    external_refs: list[ExternalRef] = Field(default_factory=list, max_length=100)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=100)
    restrict_to_contacts: bool = False


class ClientPatch(Strict):
    name: Text | None = Field(None, min_length=1, max_length=300)
    status: Literal["active", "archived"] | None = None
    emails: list[Email] | None = Field(None, max_length=100)
    domains: list[Domain] | None = Field(None, max_length=100)
    phones: list[Phone] | None = Field(None, max_length=100)
    external_refs: list[ExternalRef] | None = Field(None, max_length=100)
    contacts: list[ContactIn] | None = Field(None, max_length=100, description="replaces the client's contacts")
    restrict_to_contacts: bool | None = None


class ClientOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CLIENT_OUT]})
    id: str
    name: str
    status: str
    emails: list[str]
    domains: list[str]
    phones: list[str]
    external_refs: list[ExternalRef]
    contract: ContractOut | None = None
    membership: MembershipOut | None = None
    created_at: datetime
    updated_at: datetime
    contacts: list[ContactOut] = Field(default_factory=list)
    restrict_to_contacts: bool = False


class ClientPage(Page):
    items: list[ClientOut]


class ImportResultOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.IMPORT_RESULT_OUT]})
    created: int
    updated: int
    unchanged: int
    errors: list[dict[str, Any]]
    dry_run: bool


class EventOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EVENT_OUT]})
    id: str
    kind: str
    actor: str
    subject: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class EventPage(Page):
    items: list[EventOut]


class ServiceDecisionPage(BaseModel):
    client: MatchedClientOut
    evaluated_at: datetime
    items: list[DecisionOut]
    next_cursor: str | None = None


def client_out(
    row: t.Client, idents: IdentifierSet, contacts: list[dict[str, Any]], *, view: ClientView | None = None,
    contract_status: str | None = None, membership: dm.MembershipView | None = None,
) -> dict[str, Any]:
    """A client record; with its view, its contract and membership now (a search row knows only the contract's status)."""
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        **idents.as_dict(),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "contacts": contacts,
        "restrict_to_contacts": row.restrict_to_contacts,
    }
    if view is not None:
        body["contract"] = contract_json(view.contract)
        membership = view.membership
    elif contract_status is not None:
        body["contract"] = {"status": contract_status, "current_version": None, "signed_version": None,
                            "signed_at": None, "grace_until": None}
    if membership is not None:
        body["membership"] = membership_json(membership)
    return body


def audit_event_out(event: t.Event) -> dict[str, Any]:
    return {"id": str(event.seq), "kind": event.kind, "actor": event.actor, "subject": event.subject,
            "before": event.before, "after": event.after, "created_at": event.created_at}
