"""Client records: create, search, read, change, archive, import, audit trail, technician card."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import Response
from starlette import status
from starlette.concurrency import run_in_threadpool

from service.api.deps import CacheDep, NowDep, Reader, ReadSessionDep, SessionDep, SettingsDep, StateDep, Writer
from service.api.paging import Cursor, Keyset, Limit, comma_list
from service.api.routes.jobs import ImportQueued
from service.api.schemas.checks import decision_out
from service.api.schemas.clients import (
    ClientCreate,
    ClientOut,
    ClientPage,
    ClientPatch,
    EventPage,
    ImportResultOut,
    ServiceDecisionPage,
    audit_event_out,
    client_out,
)
from service.api.schemas.common import Problem
from service.domain import model as dm
from service.errors import InvalidInput
from service.text import SINGLE_LINE
from service.usecases import client_view, contacts, import_job, importer
from service.usecases import clients as uc
from service.usecases.checks import ClientRef, run_check
from service.usecases.job_runner import JobRunner

router = APIRouter(tags=["clients"])

READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or unknown API key"},
    403: {"model": Problem, "description": "The key lacks the scope"},
    404: {"model": Problem, "description": "No such client"},
    422: {"model": Problem, "description": "Invalid input"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    409: {"model": Problem, "description": "An identifier belongs to another client"},
    413: {"model": Problem, "description": "Body too large"},
    503: {"model": Problem, "description": "Database unavailable; retry later"},
}


def identifiers_from(body: ClientCreate | ClientPatch, region: str) -> dict[str, uc.IdentifierSet | None]:
    """Normalised identifier lists per field (None = not given); every bad value reported at once."""
    result: dict[str, uc.IdentifierSet | None] = {}
    errors: list[dict[str, Any]] = []
    for field in ("emails", "domains", "phones", "external_refs"):
        values = getattr(body, field)
        if values is None:
            result[field] = None
            continue
        kwargs: dict[str, Any] = {field: [(r.system, r.id) for r in values] if field == "external_refs" else values}
        try:
            result[field] = uc.normalize_identifiers(region=region, **kwargs)
        except InvalidInput as exc:
            errors += exc.errors or []
    if errors:
        raise InvalidInput("some identifiers are not valid", errors=errors)
    return result


def contacts_from(body: ClientCreate | ClientPatch, region: str) -> list[contacts.ContactInput] | None:
    """The contacts given, normalised (None = not given); every bad field reported at once."""
    if body.contacts is None:
        return None
    result: list[contacts.ContactInput] = []
    errors: list[dict[str, Any]] = []
    for index, c in enumerate(body.contacts):
        try:
            result.append(contacts.normalize_contact(c.name, c.email, c.phone, list(c.roles), region=region,
                                                     loc=("body", "contacts", index)))
        except InvalidInput as exc:
            errors += exc.errors or []
    if errors:
        raise InvalidInput("some contacts are not valid", errors=errors)
    return result


def merged(sets: dict[str, uc.IdentifierSet | None]) -> uc.IdentifierSet:
    total = uc.IdentifierSet()
    for value in sets.values():
        if value is not None:
            total.emails += value.emails
            total.domains += value.domains
            total.phones += value.phones
            total.external_refs += value.external_refs
    return total


@router.post(
    "/v1/clients", status_code=status.HTTP_201_CREATED, response_model=ClientOut, summary="Create a client",
    responses=WRITE_ERRORS,
)
def create_client(body: ClientCreate, session: SessionDep, caller: Writer, settings: SettingsDep, now: NowDep) -> dict[str, Any]:
    idents = merged(identifiers_from(body, settings.default_region))
    people = contacts_from(body, settings.default_region) or []
    contacts.check_distinct(people, idents.keys())
    row = uc.create_client(session, name=body.name, identifiers=idents, actor=caller.name, now=now)
    if people or body.restrict_to_contacts:
        contacts.save_contacts(session, row, people, body.restrict_to_contacts, actor=caller.name, now=now)
    return client_out(row, idents, contacts.contacts_view(session, [row.id])[row.id])


@router.get(
    "/v1/clients", response_model=ClientPage, summary="Search clients by name, e-mail, phone or external id",
    responses=READ_ERRORS,
)
def search_clients(
    session: ReadSessionDep,
    caller: Reader,
    settings: SettingsDep,
    cache: CacheDep,
    now: NowDep,
    q: str | None = Query(None, max_length=200, pattern=SINGLE_LINE),
    contract_status: str | None = Query(None, max_length=200, pattern=comma_list([s.value for s in dm.ContractStatus]),
                                        description="comma-separated contract statuses"),
    plan: str | None = Query(None, max_length=64),
    status_: str | None = Query(None, alias="status", pattern="^(active|archived)$"),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> dict[str, Any]:
    statuses = uc.contract_status_filter(contract_status)
    keyset = Keyset("clients", str)
    after = keyset.read(cursor)
    rows = uc.search_clients(
        session, catalog=cache.catalog(), now=now, q=q.strip() if q else None,
        identifier_matches=uc.search_keys(q, settings.default_region) if q else [],
        contract_statuses=statuses, plan=plan, status=status_, limit=limit + 1, after_id=after[0] if after else None,
    )
    page, next_cursor = keyset.page(rows, limit, lambda r: (r[0].id,))
    idents = uc.identifiers_for(session, [r.id for r, _s in page])
    people = contacts.contacts_view(session, [r.id for r, _s in page])
    memberships = client_view.membership_views(session, cache.catalog(), [r.id for r, _s in page], now)
    items = []
    for row, contract_status_value in page:
        items.append(client_out(row, idents[row.id], people[row.id], contract_status=contract_status_value,
                                membership=memberships[row.id]))
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/v1/clients/import",
    response_model=ImportResultOut,
    summary="Bulk upsert clients from a JSON array or CSV; a bad row never blocks the good ones",
    description=(
        "A file of up to `SUPPORTGATE_IMPORT_SYNC_MAX_ROWS` rows (1,000) is imported at once (200). A bigger one is "
        "stored and imported by a background job: **202** with `Location: /v1/jobs/{id}`, whose `result` is this "
        "answer once it succeeded. Either way the file is all-or-nothing: its good rows are written in one "
        "transaction, so a crash mid-import leaves none of them."
    ),
    responses={**WRITE_ERRORS, 202: {"model": ImportQueued, "description": "A big file, queued as a job"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/ClientCreate"}}},
                "text/csv": {"schema": {"type": "string"}, "example": (
                    "name,emails,domains,phones,external_system,external_id,contacts,restrict_to_contacts\n"
                    'Acme Dental,office@acme.com,acme.com,(212) 555-0142,halopsa,1042,'
                    '"Ada Molar|ada@acme.com|(212) 555-0199|requester,approver;Bob Office||(212) 555-0177|approver",true\n'
                )},
            },
        }
    },
)
async def import_clients(
    request: Request, caller: Writer, settings: SettingsDep, now: NowDep, session: SessionDep, state: StateDep,
    background: BackgroundTasks, dry_run: bool = False,
) -> Response:
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    # Counting, reading and importing run in worker threads: a file of thousands of rows must not hold the loop.
    if not await run_in_threadpool(import_job.is_small, raw, content_type, small=settings.import_sync_max_rows):
        job_id = await run_in_threadpool(
            import_job.queue_import, session, raw, content_type, dry_run=dry_run, actor=caller.name, now=now
        )
        runner = state.extras.get("jobs")
        if isinstance(runner, JobRunner):
            background.add_task(runner.wake)  # after the commit: start now rather than at the next poll
        queued = ImportQueued(job_id=job_id, location=f"/v1/jobs/{job_id}", dry_run=dry_run)
        return Response(queued.model_dump_json(), status_code=202, media_type="application/json",
                        headers={"Location": queued.location})
    rows, errors = await run_in_threadpool(import_job.read_upload, raw, content_type)
    result = await run_in_threadpool(
        importer.import_clients, session, rows, region=settings.default_region, dry_run=dry_run, actor=caller.name,
        now=now, errors=errors,
    )
    return Response(orjson.dumps(import_job.result_body(result, dry_run)), media_type="application/json")


@router.get("/v1/clients/{client_id}", response_model=ClientOut, summary="A client with its contract status and membership",
            responses=READ_ERRORS)
def get_client(client_id: str, session: ReadSessionDep, caller: Reader, cache: CacheDep, now: NowDep) -> dict[str, Any]:
    row = uc.client_row(session, client_id)
    return client_out(row, uc.identifiers_for(session, [row.id])[row.id], contacts.contacts_view(session, [row.id])[row.id],
                      view=client_view.client_view(session, cache.catalog(), row.id, now))


@router.patch("/v1/clients/{client_id}", response_model=ClientOut,
              summary="Change name, identifiers (a list given replaces that list) or status (archive)", responses=WRITE_ERRORS)
def patch_client(
    client_id: str, body: ClientPatch, session: SessionDep, caller: Writer, settings: SettingsDep, cache: CacheDep, now: NowDep
) -> dict[str, Any]:
    people = contacts_from(body, settings.default_region)
    if people is not None:
        contacts.check_distinct(people, [])
    row = uc.update_client(
        session, client_id, name=body.name, status=body.status, identifiers=identifiers_from(body, settings.default_region),
        actor=caller.name, now=now,
    )
    contacts.save_contacts(session, row, people, body.restrict_to_contacts, actor=caller.name, now=now)
    return client_out(row, uc.identifiers_for(session, [row.id])[row.id], contacts.contacts_view(session, [row.id])[row.id],
                      view=client_view.client_view(session, cache.catalog(), row.id, now))


@router.get("/v1/clients/{client_id}/entitlements", response_model=ServiceDecisionPage,
            summary="One decision per catalog service, now: the technician's card", responses=READ_ERRORS)
def client_entitlements(client_id: str, session: ReadSessionDep, caller: Reader, cache: CacheDep, now: NowDep,
                        settings: SettingsDep, limit: int = Limit, cursor: str | None = Cursor) -> dict[str, Any]:
    row = uc.client_row(session, client_id)
    catalog = cache.catalog()
    ref = ClientRef("id", row.id)

    def order(code: str) -> tuple[int, int, str]:
        service = catalog.services[code]
        return service.min_rank, int(service.requires_contract), code

    # The catalog is small and in memory: the page is cut there, and only its services are decided.
    codes, next_cursor = Keyset(f"entitlements:{row.id}", int, int, str).page_in_memory(
        sorted(catalog.services, key=order), limit, cursor, order,
    )
    items = []
    for code in codes:
        result = run_check(cache, ref, code, now=now, at=None, allow_io=True, degraded_policy=settings.degraded_policy)
        items.append(decision_out(result))
    return {"client": {"id": row.id, "name": row.name, "matched_by": "id"}, "evaluated_at": now, "items": items,
            "next_cursor": next_cursor}


@router.get("/v1/clients/{client_id}/events", response_model=EventPage, summary="The client's audit trail, newest first",
            responses=READ_ERRORS)
def client_events(
    client_id: str, session: ReadSessionDep, caller: Reader, limit: int = Limit, cursor: str | None = Cursor
) -> dict[str, Any]:
    row = uc.client_row(session, client_id)
    keyset = Keyset(f"events:{row.id}", int)
    before = keyset.read(cursor)
    rows = uc.client_events(session, client_id, limit=limit + 1, before_seq=before[0] if before else None)
    page, next_cursor = keyset.page(rows, limit, lambda e: (e.seq,))
    return {"items": [audit_event_out(e) for e in page], "next_cursor": next_cursor}
