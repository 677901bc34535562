"""Reports: contract coverage, membership and recurring revenue; the rollout campaign list."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from service.api.deps import CacheDep, NowDep, Reader, ReadSessionDep, RepoDep
from service.api.paging import Cursor, Limit, comma_list
from service.api.routes.clients import READ_ERRORS
from service.api.schemas.common import Timestamp
from service.api.schemas.reports import ClientToChasePage, CoverageOut
from service.usecases import campaign, reports

router = APIRouter(tags=["reports"])


@router.get("/v1/reports/coverage", response_model=CoverageOut,
            summary="Signed %, counts by contract status, members by plan, recurring monthly revenue",
            responses=READ_ERRORS)
def coverage(session: ReadSessionDep, repo: RepoDep, caller: Reader, cache: CacheDep, now: NowDep) -> dict[str, Any]:
    return reports.coverage(repo, session, cache.catalog(), now)


@router.get(
    "/v1/reports/unsigned",
    response_model=ClientToChasePage,
    summary="Active clients still to chase for the current contract (pending, unsigned, declined, expired), "
    "soonest grace deadline first; ?format=csv for an e-mail tool",
    responses={
        **READ_ERRORS,
        200: {
            "description": "The page as JSON, or with format=csv every matching client, one CSV row each",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": ",".join(campaign.CSV_COLUMNS) + "\r\n"}},
        },
    },
)
def clients_to_chase(
    session: ReadSessionDep,
    caller: Reader,
    cache: CacheDep,
    now: NowDep,
    status: str | None = Query(None, max_length=200, pattern=comma_list(campaign.TO_CHASE),
                               description="comma-separated: pending, unsigned, declined, expired (default all)"),
    deadline_before: Timestamp | None = Query(None, description="grace deadline strictly before this time"),
    deadline_after: Timestamp | None = Query(None, description="grace deadline at or after this time"),
    limit: int = Limit,
    cursor: str | None = Cursor,
    format: Literal["json", "csv"] = Query("json", description="csv: every matching client (limit and cursor ignored)"),
) -> Any:
    filters: dict[str, Any] = {
        "statuses": campaign.status_filter(status), "deadline_before": deadline_before, "deadline_after": deadline_after,
    }
    catalog = cache.catalog()
    if format == "csv":
        # Read everything before answering: the session closes when the route returns.
        text = "".join(campaign.csv_lines(campaign.all_clients_to_chase(session, catalog, now, **filters)))
        return Response(
            text, media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="clients-to-chase.csv"'},
        )
    page = campaign.clients_to_chase(session, catalog, now, limit=limit, cursor=cursor, **filters)
    return {"items": [asdict(item) for item in page.items], "next_cursor": page.next_cursor}

