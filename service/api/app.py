"""create_app(settings) and the lifespan that builds and disposes the process's resources."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse as FastAPIJSONResponse
from starlette.types import Receive, Scope, Send

from service import __version__
from service.api import docs_pages, openapi_doc, problems
from service.api.deps import AppState
from service.api.lane import PATHS as LANE_PATHS
from service.api.lane import CheckLane
from service.api.middleware import GatewayMiddleware, Metrics
from service.api.routes import allowances as allowance_routes
from service.api.routes import billing as billing_routes
from service.api.routes import calendars, catalog, checks, clients, contracts, health, integrations, records, reports
from service.api.routes import campaigns as campaign_routes
from service.api.routes import jobs as job_routes
from service.api.routes import signing_links as signing_link_routes
from service.api.routes import webhooks as webhook_routes
from service.cache import StateCache
from service.domain.model import Policy, Routing, Sla
from service.logs import configure_logging, flush_pending
from service.ratelimit import RateLimiter
from service.settings import Settings, get_settings
from service.storage.database import Database
from service.ui import routes as web_page
from service.ui import sign_page
from service.usecases.contract_documents import MAX_DOCUMENT_BYTES
from service.usecases.job_runner import JobRunner
from service.usecases.pacing import loop_clock_here
from service.usecases.webhook_worker import WebhookIntake

log = logging.getLogger("supportgate")

DESCRIPTION = """Support-desk gating: may this caller get this service, at what priority, under what SLA?

Authenticate with `Authorization: Bearer <api key>` (the check also takes HTTP Basic with the key as
password, or `X-API-Key`). Errors are RFC 9457 problem details."""


class SupportgateApp(FastAPI):
    """FastAPI, with the entitlement check's usual requests answered by its fast lane (service.api.lane)."""

    lane: CheckLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lane
        if lane is not None and scope["type"] == "http" and scope["path"] in LANE_PATHS:
            rest = await lane(scope, receive, send)
            if rest is None:
                return
            receive = rest
        await super().__call__(scope, receive, send)


class JSONResponse(FastAPIJSONResponse):
    """orjson rendering; a JSONResponse subclass so that OpenAPI documents the response models."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


def policy_from(settings: Settings) -> Policy:
    return Policy(
        new_client_grace_days=settings.new_client_grace_days,
        dunning_grace_days=settings.dunning_grace_days,
        default_routing=Routing(settings.default_priority, settings.default_queue),
        default_sla=Sla(
            settings.default_first_response_minutes, settings.default_onsite_response_hours,
            # With a default calendar, the default targets count in business time on it.
            first_response_business_minutes=settings.default_first_response_minutes if settings.default_calendar else None,
            onsite_response_business_hours=settings.default_onsite_response_hours if settings.default_calendar else None,
        ),
        default_calendar=settings.default_calendar or None,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        db = Database.connect(settings.database_url, pool_size=settings.db_pool_size)
        cache = StateCache(
            db, policy_from(settings), max_clients=settings.cache_max_clients, staleness=settings.cache_staleness_seconds,
            async_pool_size=settings.db_pool_size,
        )
        cache.start()
        app.state.sg = AppState(
            settings=settings, db=db, cache=cache, metrics=metrics,
            limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        )
        # Stores verified webhook deliveries (paced beside this loop, whose CPU clock it reads); the
        # job runner processes them, as it delivers the outbox and the mail.
        intake = WebhookIntake(settings, db, loop_clock=loop_clock_here())
        app.state.sg.extras["webhooks"] = intake
        # Background jobs, in a thread of this process unless a separate `supportgate worker` runs them.
        runner = JobRunner(db, settings, beside_requests=True, counters=metrics.job_counters()) if settings.jobs_embedded else None
        if runner is not None:
            runner.start()
            app.state.sg.extras["jobs"] = runner
        try:
            yield
        finally:
            if runner is not None:
                await asyncio.to_thread(runner.stop)
            await asyncio.to_thread(intake.close)
            await cache.close_async()
            cache.stop()
            db.dispose()
            flush_pending()

    app = SupportgateApp(
        title="supportgate",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        # Starlette's own slash redirect builds an absolute URL from the Host header; ours is relative.
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )
    openapi_doc.install(app)
    docs_pages.install(app, "supportgate")
    problems.install(app)
    routers = (
        checks, clients, records, catalog, calendars, contracts, reports, integrations, webhook_routes, health, job_routes,
        campaign_routes, billing_routes, allowance_routes, web_page,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(signing_link_routes.router)
    app.include_router(sign_page.router)
    if settings.cors_origins:  # no CORS headers at all unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(
        GatewayMiddleware,
        metrics=metrics,
        max_body=settings.max_body_bytes,
        large_body_paths={"/v1/clients/import": settings.max_import_bytes,
                          "/v1/contracts/*/document": MAX_DOCUMENT_BYTES},
    )
    app.state.metrics = metrics
    app.lane = CheckLane(app, metrics, max_body=settings.max_body_bytes, cors=bool(settings.cors_origins))
    return app

