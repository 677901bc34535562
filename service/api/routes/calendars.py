"""Working calendars for SLA deadlines on business hours (admin writes; clients:read may read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from service.api.deps import Admin, CatalogReader, NowDep, ReadSessionDep, SessionDep
from service.api.paging import Cursor, Keyset, Limit
from service.api.routes.clients import WRITE_ERRORS
from service.api.schemas.calendars import CalendarIn, CalendarOut, CalendarPage
from service.api.schemas.common import CodePath
from service.usecases import calendars as uc

router = APIRouter(tags=["calendars"])


@router.put("/v1/calendars/{code}", response_model=CalendarOut, summary="Create or change a working calendar (a new version)",
            responses={**WRITE_ERRORS, 201: {"model": CalendarOut, "description": "Created"}})
def put_calendar(
    body: CalendarIn, session: SessionDep, caller: Admin, now: NowDep, response: Response, code: str = CodePath
) -> dict[str, Any]:
    row, created = uc.put_calendar(
        session, code,
        uc.CalendarInput(
            name=body.name, time_zone=body.time_zone, intervals=[i.model_dump() for i in body.intervals],
            holidays=body.holidays.model_dump() if body.holidays else None, closed_dates=list(body.closed_dates),
        ),
        actor=caller.name, now=now,
    )
    response.status_code = 201 if created else 200
    return uc.version_dict(row)


@router.get("/v1/calendars", response_model=CalendarPage, summary="The working calendars (current versions)", responses=WRITE_ERRORS)
def list_calendars(session: ReadSessionDep, caller: CatalogReader, limit: int = Limit, cursor: str | None = Cursor) -> dict[str, Any]:
    keyset = Keyset("calendars", str)
    after = keyset.read(cursor)
    rows = uc.calendar_page(session, after=after[0] if after else None, limit=limit + 1)
    page, next_cursor = keyset.page(rows, limit, lambda r: (r.calendar_code,))
    return {"items": [uc.version_dict(r) for r in page], "next_cursor": next_cursor}


@router.get("/v1/calendars/{code}", response_model=CalendarOut, summary="A calendar (its current version, or `?version=`)",
            responses=WRITE_ERRORS)
def get_calendar(
    session: ReadSessionDep, caller: CatalogReader, code: str = CodePath,
    version: int | None = Query(None, ge=1, le=1_000_000, description="an earlier version, as named by an answer's sla.calendar"),
) -> dict[str, Any]:
    return uc.version_dict(uc.get_calendar(session, code, version))
