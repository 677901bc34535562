"""A client's membership, acceptances, signature requests, grace extensions and overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from starlette import status

from service.api.deps import CacheDep, NowDep, Reader, ReadSessionDep, SessionDep, Writer
from service.api.paging import Cursor, Keyset, Limit
from service.api.routes.clients import READ_ERRORS, WRITE_ERRORS
from service.api.schemas.records import (
    AcceptanceIn,
    AcceptanceOut,
    AcceptancePage,
    GraceIn,
    GraceOut,
    MembershipPut,
    MembershipRecordOut,
    OverrideIn,
    OverrideOut,
    OverridePage,
    SignatureRequestIn,
    SignatureRequestOut,
    SignatureRequestPage,
    acceptance_out,
    membership_out,
    override_out,
    signature_request_out,
)
from service.domain.contract import current_version
from service.usecases import client_view, memberships, records
from service.usecases import clients as uc

router = APIRouter(tags=["client records"])


@router.put("/v1/clients/{client_id}/membership", response_model=MembershipRecordOut,
            summary="Put the client on a plan (the previous membership is kept as history)", responses=WRITE_ERRORS)
def put_membership(client_id: str, body: MembershipPut, session: SessionDep, caller: Writer, now: NowDep) -> dict[str, Any]:
    row = memberships.put_membership(
        session, client_id, plan=body.plan, status=body.status, current_period_end=body.current_period_end,
        external_ref=body.external_ref, actor=caller.name, now=now,
    )
    return membership_out(row)


@router.delete("/v1/clients/{client_id}/membership", response_model=MembershipRecordOut,
               summary="Cancel the membership (history kept)", responses=WRITE_ERRORS)
def cancel_membership(client_id: str, session: SessionDep, caller: Writer, now: NowDep) -> dict[str, Any]:
    return membership_out(memberships.cancel_membership(session, client_id, actor=caller.name, now=now))


@router.post("/v1/clients/{client_id}/acceptances", status_code=status.HTTP_201_CREATED, response_model=AcceptanceOut,
             summary="Record a signature or decline given by hand (paper, phone, click-through)", responses=WRITE_ERRORS)
def add_acceptance(client_id: str, body: AcceptanceIn, session: SessionDep, caller: Writer, now: NowDep) -> dict[str, Any]:
    row = records.record_acceptance(
        session, client_id, contract_version=body.contract_version, decision=body.decision, method=body.method,
        signer_name=body.signer_name, signer_email=body.signer_email, signed_at=body.signed_at, actor=caller.name, now=now,
    )
    return acceptance_out(row)


@router.get("/v1/clients/{client_id}/acceptances", response_model=AcceptancePage,
            summary="The client's signatures and declines, newest first", responses=READ_ERRORS)
def list_acceptances(
    client_id: str, session: ReadSessionDep, caller: Reader, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    row = uc.client_row(session, client_id)
    keyset = Keyset(f"acceptances:{row.id}", datetime, str)
    rows = records.acceptance_page(session, row.id, limit=limit + 1, before=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.signed_at, r.id))
    return {"items": [acceptance_out(r) for r in page], "next_cursor": next_cursor}


@router.post("/v1/clients/{client_id}/signature-requests", status_code=status.HTTP_201_CREATED,
             response_model=SignatureRequestOut, summary="Register an envelope sent outside the service",
             responses=WRITE_ERRORS)
def add_signature_request(
    client_id: str, body: SignatureRequestIn, session: SessionDep, caller: Writer, now: NowDep
) -> dict[str, Any]:
    row = records.register_signature_request(
        session, client_id, provider=body.provider, external_id=body.external_id, contract_version=body.contract_version,
        actor=caller.name, now=now,
    )
    return signature_request_out(row)


@router.get("/v1/clients/{client_id}/signature-requests", response_model=SignatureRequestPage,
            summary="The client's envelopes and their status", responses=READ_ERRORS)
def list_signature_requests(
    client_id: str, session: ReadSessionDep, caller: Reader, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    row = uc.client_row(session, client_id)
    keyset = Keyset(f"signature-requests:{row.id}", datetime, str)
    rows = records.signature_request_page(session, row.id, limit=limit + 1, before=keyset.read(cursor))
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.created_at, r.id))
    return {"items": [signature_request_out(r) for r in page], "next_cursor": next_cursor}


@router.post("/v1/clients/{client_id}/grace", response_model=GraceOut,
             summary="Extend this client's grace deadline for the current contract", responses=WRITE_ERRORS)
def extend_grace(
    client_id: str, body: GraceIn, session: SessionDep, caller: Writer, cache: CacheDep, now: NowDep
) -> dict[str, Any]:
    catalog = cache.catalog()
    version = current_version(catalog.versions, now)
    records.extend_grace(
        session, client_id, until=body.until, current_version=version.version if version else None, actor=caller.name,
        now=now,
    )
    assert version is not None
    view = client_view.client_view(session, catalog, client_id, now)
    return {"client_id": client_id, "contract_version": version.version, "grace_until": view.contract.grace_until}


@router.post("/v1/clients/{client_id}/overrides", status_code=status.HTTP_201_CREATED, response_model=OverrideOut,
             summary="Grant a time-boxed exception for one service", responses=WRITE_ERRORS)
def grant_override(client_id: str, body: OverrideIn, session: SessionDep, caller: Writer, now: NowDep) -> dict[str, Any]:
    row = records.grant_override(
        session, client_id, service=body.service, expires_at=body.expires_at, reason=body.reason, actor=caller.name, now=now
    )
    return override_out(row, now)


@router.get("/v1/clients/{client_id}/overrides", response_model=OverridePage, summary="The client's overrides",
            responses=READ_ERRORS)
def list_overrides(
    client_id: str, session: ReadSessionDep, caller: Reader, now: NowDep, limit: int = Limit,
    active: bool | None = Query(None, description="only active (true) or inactive (false) ones"),
    cursor: str | None = Cursor,
) -> dict[str, Any]:
    row = uc.client_row(session, client_id)
    keyset = Keyset(f"overrides:{row.id}", datetime, str)
    rows = records.override_page(session, row.id, limit=limit + 1, before=keyset.read(cursor), active=active, now=now)
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.created_at, r.id))
    return {"items": [override_out(r, now) for r in page], "next_cursor": next_cursor}


@router.delete("/v1/overrides/{override_id}", response_model=OverrideOut, summary="Revoke an override (kept as history)",
               responses=WRITE_ERRORS)
def revoke_override(override_id: str, session: SessionDep, caller: Writer, now: NowDep) -> dict[str, Any]:
    return override_out(records.revoke_override(session, override_id, actor=caller.name, now=now), now)
