"""Liveness, readiness (touches the database) and Prometheus metrics; no key needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from service.api.deps import StateDep
from service.api.problems import problem_response
from service.api.schemas.common import Problem
from service.api.schemas.health import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Health, summary="The database answers",
            responses={503: {"model": Problem, "description": "The database cannot be reached"}})
async def readyz(state: StateDep) -> object:
    try:
        await run_in_threadpool(state.db.ping)
    except Exception:
        state.cache.mark_unavailable()
        return problem_response(503, "Service unavailable", "the database cannot be reached", "unavailable",
                                headers={"Retry-After": "5"})
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
async def metrics(state: StateDep) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
