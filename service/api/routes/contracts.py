"""Contract versions: drafts, publishing, listing, the current one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path
from starlette import status

from service.api.deps import Admin, CatalogReader, NowDep, ReadSessionDep, SessionDep
from service.api.paging import Cursor, Keyset, Limit
from service.api.routes.clients import WRITE_ERRORS
from service.api.schemas.contracts import ContractIn, ContractPage, ContractVersionOut, PublishIn
from service.errors import NotFound
from service.usecases import contracts as uc

router = APIRouter(tags=["contracts"])
VersionPath = Path(min_length=1, max_length=64)


@router.post("/v1/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractVersionOut,
             summary="Create a contract version (a draft)", responses=WRITE_ERRORS)
def create_contract(body: ContractIn, session: SessionDep, caller: Admin, now: NowDep) -> dict[str, Any]:
    row = uc.create_draft(
        session, version=body.version, title=body.title, document_url=body.document_url,
        document_sha256=body.document_sha256, grace_days=body.grace_days, term_days=body.term_days, actor=caller.name,
        now=now,
    )
    return uc.version_dict(row, now, None)


@router.post("/v1/contracts/{version}/publish", response_model=ContractVersionOut,
             summary="Publish a version: it becomes current (at `at`, default now) and supersedes the previous one",
             responses=WRITE_ERRORS)
def publish_contract(
    session: SessionDep, caller: Admin, now: NowDep, body: PublishIn | None = None, version: str = VersionPath
) -> dict[str, Any]:
    row = uc.publish(session, version=version, at=body.at if body else None, actor=caller.name, now=now)
    current = uc.current_label(uc.list_versions(session), now)
    return uc.version_dict(row, now, current)


@router.get("/v1/contracts", response_model=ContractPage, summary="Every contract version, newest first",
            responses=WRITE_ERRORS)
def list_contracts(
    session: ReadSessionDep, caller: CatalogReader, now: NowDep, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    # Every version is read anyway to know the current one (a handful a year): the page is cut in memory.
    rows = uc.list_versions(session)
    current = uc.current_label(rows, now)
    rows.sort(key=lambda r: (r.created_at, r.version), reverse=True)
    page, next_cursor = Keyset("contracts", datetime, str).page_in_memory(
        rows, limit, cursor, lambda r: (r.created_at, r.version), descending=True,
    )
    return {"items": [uc.version_dict(r, now, current) for r in page], "next_cursor": next_cursor}


@router.get("/v1/contracts/current", response_model=ContractVersionOut, summary="The contract version in force now",
            responses=WRITE_ERRORS)
def current_contract(session: ReadSessionDep, caller: CatalogReader, now: NowDep) -> dict[str, Any]:
    rows = uc.list_versions(session)
    current = uc.current_label(rows, now)
    for row in rows:
        if row.version == current:
            return uc.version_dict(row, now, current)
    raise NotFound("no contract version is published yet")
