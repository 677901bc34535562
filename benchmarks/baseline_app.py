"""The yardstick: a bare FastAPI app answering the check's paths with a constant decision-sized JSON.

Same routes and methods as the service, no middleware, no auth, no body parsing, no database: what
the framework and the server cost on their own. The body is the JSON of a real allowed decision.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

DECISION: dict[str, Any] = {
    "decision_id": "dec_01JD0000000000000000000000",
    "allowed": True,
    "service": "advanced_support",
    "reasons": [],
    "client": {"id": "cli_bench00000003", "name": "Bench Client 3", "matched_by": "phone"},
    "contract": {
        "status": "signed", "current_version": "bench.1", "signed_version": "bench.1",
        "signed_at": "2026-11-05T10:45:04.407886Z", "grace_until": None,
    },
    "membership": {"plan": "bench_gold", "rank": 2, "status": "active", "current_period_end": "2027-11-25T10:45:04.407886Z"},
    "routing": {"priority": "high", "queue": "priority"},
    "sla": {"first_response_minutes": 30, "onsite_response_hours": 8},
    "upsell": [],
    "degraded": False,
    "evaluated_at": "2026-11-25T10:45:04.407886+00:00",
    "normalized_phone": "+12122000003",
}
BATCH: dict[str, Any] = {"results": [DECISION] * 50}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/entitlements/check")
    async def check_post() -> dict[str, Any]:
        return DECISION

    @app.get("/v1/entitlements/check")
    async def check_get() -> dict[str, Any]:
        return DECISION

    @app.post("/v1/entitlements/check-batch")
    async def check_batch() -> dict[str, Any]:
        return BATCH

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
