"""Contract documents and signing links (admin and technician API; the signing page is service/ui/sign_page.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette import status

from service.api.deps import Admin, CatalogReader, NowDep, Reader, ReadSessionDep, SessionDep, SettingsDep, Writer
from service.api.paging import Cursor, Keyset, Limit
from service.api.routes.clients import READ_ERRORS, WRITE_ERRORS
from service.api.schemas.common import Problem
from service.api.schemas.signing import ClickThroughEvidenceOut, SigningLinkCreated, SigningLinkIn, SigningLinkOut, SigningLinkPage
from service.usecases import contract_documents as docs
from service.usecases import signing as signing_uc
from service.usecases import signing_links as uc

router = APIRouter(tags=["signing links"])
VersionPath = Path(min_length=1, max_length=64)
LINKS = Keyset("signing-links", datetime, str)


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]
DOCUMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    404: {"model": Problem, "description": "No such contract version"},
    409: {"model": Problem, "description": "The version is published: its document can no longer change"},
    413: {"model": Problem, "description": "The document is larger than 5 MiB"},
    415: {"model": Problem, "description": "Not text/markdown, text/html or application/pdf"},
    422: {"model": Problem, "description": "The document's SHA-256 differs from the version's document_sha256"},
}


@router.put(
    "/v1/contracts/{version}/document", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
    summary="Upload the document of a draft version (its SHA-256 must equal the version's document_sha256)",
    responses=DOCUMENT_ERRORS,
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/markdown": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    }}},
)
def upload_document(request: Request, body: RawBody, session: SessionDep, caller: Admin, now: NowDep,
                    version: str = VersionPath) -> Response:
    docs.upload_document(session, version=version, content_type=request.headers.get("content-type"), body=body,
                         actor=caller.name, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/contracts/{version}/document", response_class=Response, summary="The document of a version, with its content type",
    responses={**READ_ERRORS, 200: {"content": {t: {} for t in docs.CONTENT_TYPES}, "description": "The document's bytes"},
               404: {"model": Problem, "description": "No such version, or no document uploaded"}},
)
def get_document(session: ReadSessionDep, caller: CatalogReader, version: str = VersionPath) -> Response:
    found = docs.get_document(session, version)
    media = f"{found.content_type}; charset=utf-8" if docs.is_text(found.content_type) else found.content_type
    return Response(found.body, media_type=media, headers={"ETag": f'"{found.sha256}"', "X-Content-SHA256": found.sha256})


@router.post(
    "/v1/clients/{client_id}/signing-links", status_code=status.HTTP_201_CREATED, response_model=SigningLinkCreated,
    summary="A personal, single-use, expiring signing link (the URL holds the token and is shown only here)",
    responses={**WRITE_ERRORS, 409: {"model": Problem, "description": "Client archived, or no current version to sign"}},
)
def create_link(body: SigningLinkIn, client_id: str, session: SessionDep, caller: Writer, settings: SettingsDep,
                now: NowDep) -> SigningLinkCreated:
    view, url = uc.create_signing_link(
        session, client_id=client_id, email=body.email, contract_version=body.contract_version,
        expires_in_days=body.expires_in_days, now=now, actor=caller.name, public_url=settings.public_url,
    )
    return SigningLinkCreated(url=url, **SigningLinkOut.from_domain(view).model_dump())


@router.get(
    "/v1/clients/{client_id}/signing-links", response_model=SigningLinkPage,
    summary="A client's signing links, newest first (never their tokens)", responses=READ_ERRORS,
)
def list_links(client_id: str, session: ReadSessionDep, caller: Reader, now: NowDep, limit: int = Limit,
               cursor: str | None = Cursor) -> SigningLinkPage:
    before = LINKS.read(cursor)
    views = uc.list_signing_links(session, client_id, now=now, limit=limit + 1, before=before)
    page, next_cursor = LINKS.page(views, limit, lambda v: (v.created_at, v.id))
    return SigningLinkPage(items=[SigningLinkOut.from_domain(v) for v in page], next_cursor=next_cursor)


@router.delete(
    "/v1/signing-links/{link_id}", response_model=SigningLinkOut, summary="Revoke a signing link (it then answers 410)",
    responses={**WRITE_ERRORS, 404: {"model": Problem, "description": "No such signing link"}},
)
def revoke_link(link_id: str, session: SessionDep, caller: Writer, now: NowDep) -> SigningLinkOut:
    return SigningLinkOut.from_domain(uc.revoke_signing_link(session, link_id, actor=caller.name, now=now))


@router.get(
    "/v1/acceptances/{acceptance_id}/evidence", response_model=ClickThroughEvidenceOut,
    summary="The click-through evidence of an acceptance given through a signing link",
    responses={**READ_ERRORS, 404: {"model": Problem, "description": "No such acceptance, or not given through a signing link"}},
)
def acceptance_evidence(acceptance_id: str, session: ReadSessionDep, caller: Reader) -> ClickThroughEvidenceOut:
    return ClickThroughEvidenceOut.from_domain(signing_uc.evidence_of(session, acceptance_id))
