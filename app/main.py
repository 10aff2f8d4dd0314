"""create_app(): lifespan, routers, error handlers; nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import anyio
import structlog
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from app.api import health
from app.api.authentication import Authenticator
from app.api.gate import BodyCaps, RequestGate
from app.api.idempotency.middleware import IdempotencyMiddleware
from app.api.one_thread import set_request_threads
from app.api.openapi import install_problem_docs
from app.api.problems import UnexpectedErrorMiddleware, install_problem_handlers
from app.api.rate_limits import RateLimits, warn_if_unshared
from app.api.unknown_params import refuse_bad_parameters
from app.carriers import router as carriers
from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.metrics import HttpMetricsMiddleware
from app.core.settings import Settings, get_settings
from app.core.tenancy import ensure_bootstrap_key
from app.db.engine import Database
from app.db.migrate import head_revision, upgrade_to_head
from app.db.reads import AsyncReads
from app.db.types import utcnow
from app.desk.app import MOUNT as DESK_MOUNT
from app.desk.app import build_desk
from app.dispute_pack import router as dispute_pack
from app.evidence import router as evidence
from app.incidents import router as incidents
from app.incidents.opening import APPLICATION_NAME as WRITES_APPLICATION_NAME
from app.incidents.opening import WRITE_POOL_SIZE, IncidentOpener
from app.incidents.reading import IncidentReader
from app.notify import rules_router as notice_rules
from app.notify import sender_router
from app.notify.notices import router as notices
from app.parcels import router as parcels
from app.people.bootstrap import ensure_bootstrap_supervisor
from app.reporting.router import router as metrics_router
from app.scheduler import router as admin
from app.scheduler.runner import build_scheduler
from app.startup import announce, settle_once, wire
from app.stuck import router as stuck_rules
from app.tracker_sheet import router as tracker_sheet
from app.tracker_sheet.reader import MAX_IMPORT_BYTES
from app.tracking import router as tracking_router
from app.webhooks import router as webhooks
from app.workflow import router as workflow
from app.workflow.claims import router as claims
from app.workflow.messages import parcel_router as parcel_messages
from app.workflow.messages import router as messages
from app.workflow.templates import router as templates

IMPORT_FORM_OVERHEAD = 64 * 1024  # the import's own allowance for the form around the file


def _prepare_database(db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
    if settings.auto_migrate:
        upgrade_to_head(db.engine)
    if settings.bootstrap_api_key is not None:
        with db.unit_of_work() as session:
            state = ensure_bootstrap_key(session, settings.bootstrap_api_key.get_secret_value())
        if state == "revoked":
            structlog.get_logger("startup").warning(
                "bootstrap key revoked",
                detail="RT_BOOTSTRAP_API_KEY names a revoked key; it stays revoked "
                "(issue a new key with 'python -m app keys create' or unset the setting)",
            )

    email, password = settings.bootstrap_supervisor_email, settings.bootstrap_supervisor_password
    if email is not None and password is not None:
        with db.unit_of_work() as session:
            supervisor = ensure_bootstrap_supervisor(
                session,
                email=email,
                password=password.get_secret_value(),
                password_min_length=settings.password_min_length,
                now=clock(),
            )
            disabled = supervisor.disabled_at is not None
        if disabled:
            structlog.get_logger("startup").warning(
                "bootstrap supervisor disabled",
                detail="RT_BOOTSTRAP_SUPERVISOR_EMAIL names a disabled person; they stay disabled",
            )


def _body_caps(settings: Settings) -> BodyCaps:
    """RT_MAX_BODY_BYTES, and the routes that take files, each with its own cap (which the
    route checks exactly; the gate's, a little above it, holds while the file streams)."""
    return BodyCaps(
        settings.max_body_bytes,
        {
            "/v1/incidents/import": MAX_IMPORT_BYTES + IMPORT_FORM_OVERHEAD,
            "/v1/incidents/*/evidence": settings.evidence_max_bytes + evidence.MULTIPART_OVERHEAD,
        },
    )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
    carrier_hub: Callable[[], CarrierHub] = CarrierHub.from_registry,
) -> FastAPI:
    """Build the service. Tests pass their own settings, database, clock and carriers."""
    settings = settings or get_settings()
    db = database or Database(settings.database_url)
    wire(database=db, settings=settings)

    rate_limits = RateLimits.from_settings(settings)
    authenticator = Authenticator(db, remember_seconds=settings.api_key_cache_seconds, clock=clock)
    reads = AsyncReads(db.url) if db.dialect == "postgresql" else None
    writes = (
        AsyncReads(
            db.url,
            size=WRITE_POOL_SIZE,
            read_only=False,
            application_name=WRITES_APPLICATION_NAME,
        )
        if db.dialect == "postgresql"
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warn_if_unshared(settings)
        set_request_threads(settings.request_threads)  # on the loop the requests run on
        announce(settings)
        await anyio.to_thread.run_sync(_prepare_database, db, settings, clock)
        app.state.carriers = carrier_hub()  # built here: its HTTP clients live on this loop
        for pool in (reads, writes):
            if pool is not None:
                await pool.open()  # on this loop too: its connections are asyncio ones
        scheduler = None
        if settings.scheduler == "embedded":
            context = JobContext(db=db, carriers=app.state.carriers, settings=settings, clock=clock)
            scheduler = build_scheduler(context)
            scheduler.start()
        settle_once()  # after the read pool and the carriers' clients: start-up is done
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await app.state.carriers.aclose()
            for pool in (reads, writes):
                if pool is not None:
                    await pool.close()
            if rate_limits is not None:
                await rate_limits.aclose()
            if database is None:
                db.dispose()

    # /docs and /redoc load Swagger UI and ReDoc from the package's files, not from a CDN
    app = FastAPIOffline(
        title="Resolution Tracker",
        version="0.1.0",
        summary="Every delayed, lost, damaged or disputed parcel, on one chronological record.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_bad_parameters)],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.authenticator = authenticator
    app.state.incident_reader = IncidentReader(db, reads)
    app.state.incident_opener = IncidentOpener(writes)
    app.state.clock = clock
    app.state.schema_head = head_revision()
    app.add_middleware(
        IdempotencyMiddleware,
        database=db,
        authenticator=authenticator,
        ttl_hours=settings.idempotency_ttl_hours,
        clock=clock,
        server_key=settings.resolved_secret_key,
    )
    # authenticates, rate-limits and caps the body before the idempotency middleware reads it
    app.add_middleware(
        RequestGate, authenticator=authenticator, caps=_body_caps(settings), limits=rate_limits
    )
    app.add_middleware(HttpMetricsMiddleware)  # times and counts every request
    app.add_middleware(UnexpectedErrorMiddleware)  # outermost of ours: keep this one last
    install_problem_handlers(app)
    install_problem_docs(app)
    # FastAPI tries the routes in the order they were included, about a microsecond each, twice
    # for a route in an included router: the calls storefronts make most (reading and opening
    # incidents) come first. No route of the routers moved behind them starts /v1/incidents.
    app.include_router(tracker_sheet.router)  # before incidents: /export is not an id
    app.include_router(incidents.router)
    app.include_router(health.router)
    app.include_router(metrics_router)
    app.include_router(parcels.router)
    app.include_router(tracking_router.router)
    app.include_router(carriers.router)
    app.include_router(stuck_rules.router)
    app.include_router(notice_rules.router)
    app.include_router(sender_router.router)
    app.include_router(admin.router)
    app.include_router(webhooks.router)
    app.include_router(notices.router)
    for workflow_router in (
        workflow,
        messages,
        parcel_messages,
        templates,
        evidence,
        dispute_pack,
        claims,
    ):
        app.include_router(workflow_router.router)
    # the desk's pages: its own small app, sharing the database, settings and clock
    app.mount(DESK_MOUNT, build_desk(settings, database=db, clock=clock))
    return app
