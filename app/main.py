"""create_app(): lifespan, routers, error handlers; nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import anyio
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from app.api import health
from app.api.deps import refuse_nul
from app.api.openapi import install_problem_docs
from app.api.problems import install_problem_handlers
from app.carriers import router as carriers
from app.core.carrier_hub import CarrierHub
from app.core.idempotency import IdempotencyMiddleware
from app.core.jobs import JobContext
from app.core.metrics import HttpMetricsMiddleware
from app.core.settings import Settings, get_settings
from app.core.tenancy import ensure_bootstrap_key
from app.db.engine import Database
from app.db.migrate import head_revision, upgrade_to_head
from app.db.types import utcnow
from app.dispute_pack import router as dispute_pack
from app.evidence import router as evidence
from app.incidents import router as incidents
from app.parcels import router as parcels
from app.people.bootstrap import ensure_bootstrap_supervisor
from app.reporting.router import router as metrics_router
from app.scheduler import router as admin
from app.scheduler.runner import build_scheduler
from app.startup import wire
from app.stuck import router as stuck_rules
from app.tracker_sheet import router as tracker_sheet
from app.tracking import router as tracking_router
from app.webhooks import router as webhooks
from app.workflow import router as workflow
from app.workflow.claims import router as claims
from app.workflow.messages import router as messages
from app.workflow.templates import router as templates


def _prepare_database(db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
    if settings.auto_migrate:
        upgrade_to_head(db.engine)
    if settings.bootstrap_api_key is not None:
        with db.unit_of_work() as session:
            ensure_bootstrap_key(session, settings.bootstrap_api_key.get_secret_value())
    email, password = settings.bootstrap_supervisor_email, settings.bootstrap_supervisor_password
    if email is not None and password is not None:
        with db.unit_of_work() as session:
            ensure_bootstrap_supervisor(
                session,
                email=email,
                password=password.get_secret_value(),
                password_min_length=settings.password_min_length,
                now=clock(),
            )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
    carrier_hub: Callable[[], CarrierHub] = CarrierHub.from_registry,
) -> FastAPI:
    """Build the service. Tests pass their own settings, database, clock and carriers."""
    wire()
    settings = settings or get_settings()
    db = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_prepare_database, db, settings, clock)
        app.state.carriers = carrier_hub()  # built here: its HTTP clients live on this loop
        scheduler = None
        if settings.scheduler == "embedded":
            context = JobContext(db=db, carriers=app.state.carriers, settings=settings, clock=clock)
            scheduler = build_scheduler(context)
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await app.state.carriers.aclose()
            if database is None:
                db.dispose()

    # /docs and /redoc load Swagger UI and ReDoc from the package's files, not from a CDN
    app = FastAPIOffline(
        title="Resolution Tracker",
        version="0.1.0",
        summary="Every delayed, lost, damaged or disputed parcel, on one chronological record.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock
    app.state.schema_head = head_revision()
    app.add_middleware(
        IdempotencyMiddleware, database=db, ttl_hours=settings.idempotency_ttl_hours, clock=clock
    )
    app.add_middleware(HttpMetricsMiddleware)  # outermost: times and counts every request
    install_problem_handlers(app)
    install_problem_docs(app)
    app.include_router(health.router)
    app.include_router(metrics_router)
    app.include_router(parcels.router)
    app.include_router(tracking_router.router)
    app.include_router(tracker_sheet.router)  # before incidents: /export is not an id
    app.include_router(incidents.router)
    app.include_router(carriers.router)
    app.include_router(stuck_rules.router)
    app.include_router(admin.router)
    app.include_router(webhooks.router)
    for workflow_router in (workflow, messages, templates, evidence, dispute_pack, claims):
        app.include_router(workflow_router.router)
    return app
