"""Reports: contract coverage, membership and recurring revenue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service.api.deps import CacheDep, NowDep, Reader, ReadSessionDep
from service.api.routes.clients import READ_ERRORS
from service.api.schemas import CoverageOut
from service.usecases import reports

router = APIRouter(tags=["reports"])


@router.get("/v1/reports/coverage", response_model=CoverageOut,
            summary="Signed %, counts by contract status, members by plan, recurring monthly revenue",
            responses=READ_ERRORS)
def coverage(session: ReadSessionDep, caller: Reader, cache: CacheDep, now: NowDep) -> dict[str, Any]:
    return reports.coverage(session, cache.catalog(), now)
