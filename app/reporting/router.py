"""``GET /metrics`` for Prometheus and ``GET /v1/metrics/summary`` for a tenant's dashboard."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE

from app.api.deps import NowDep, ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.carriers import service as carriers
from app.core.carrier_hub import CarrierHub
from app.core.errors import Unauthorized, ValidationFailed
from app.core.schemas import CountryCode, UtcDatetime
from app.core.settings import Settings
from app.reporting import summary
from app.reporting.metrics import exposition
from app.reporting.metrics_db import SnapshotCache
from app.reporting.schemas import SummaryRead

router = APIRouter(tags=["metrics"], route_class=OneThreadRoute)
DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)


# The scrape token as its own OpenAPI scheme, optional on /metrics (see the route's security).
metrics_token_scheme = HTTPBearer(
    scheme_name="MetricsToken",
    description="RT_METRICS_TOKEN, when it is set: `Authorization: Bearer <token>`. "
    "API keys never open /metrics.",
    auto_error=False,
)
MetricsTokenDep = Annotated[HTTPAuthorizationCredentials | None, Depends(metrics_token_scheme)]


def _check_metrics_token(sent: HTTPAuthorizationCredentials | None, settings: Settings) -> None:
    """Only the configured scrape token opens /metrics; API keys are never asked for here."""
    if settings.metrics_token is None:
        return
    secret = sent.credentials.encode() if sent is not None else b""
    expected = settings.metrics_token.get_secret_value().encode()
    if not hmac.compare_digest(secret, expected):
        raise Unauthorized("send 'Authorization: Bearer <RT_METRICS_TOKEN>' to read /metrics")


def _snapshot_cache(request: Request, settings: Settings) -> SnapshotCache:
    cache: SnapshotCache | None = getattr(request.app.state, "metrics_snapshot_cache", None)
    if cache is None:
        cache = SnapshotCache(
            request.app.state.db,
            ttl_seconds=settings.metrics_cache_seconds,
            clock=request.app.state.clock,
        )
        request.app.state.metrics_snapshot_cache = cache
    return cache


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}},
    summary="Prometheus metrics (text format)",
    openapi_extra={"security": [{}]},  # or no token at all: RT_METRICS_TOKEN is optional
)
def prometheus_metrics(request: Request, settings: SettingsDep, token: MetricsTokenDep) -> Response:
    """This process's counters, then the shared database metrics (cached briefly)."""
    _check_metrics_token(token, settings)
    snapshot = _snapshot_cache(request, settings).get()
    hub: CarrierHub | None = getattr(request.app.state, "carriers", None)
    adapters = hub.adapters.values() if hub is not None else []
    return Response(exposition(snapshot, adapters), media_type=CONTENT_TYPE)


@router.get("/v1/metrics/summary", response_model=SummaryRead, response_model_by_alias=True)
def metrics_summary(
    principal: ReadDep,
    session: SessionDep,
    now: NowDep,
    from_: Annotated[
        UtcDatetime | None, Query(alias="from", description="Default: 30 days before 'to'.")
    ] = None,
    to: Annotated[UtcDatetime | None, Query(description="Exclusive; default: now.")] = None,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    destination_country: Annotated[CountryCode | None, Query()] = None,
) -> SummaryRead:
    """Patterns over a window: incidents, detection lead time, response and resolution times,
    stuck rates per carrier and lane, root causes, compensation and claims."""
    end = to or now
    start = from_ or end - DEFAULT_WINDOW
    if start >= end:
        raise ValidationFailed("from", "must be before 'to'")
    if end - start > MAX_WINDOW:
        raise ValidationFailed("from", "the window can span at most 366 days")
    if carrier is not None and carrier not in carriers.carrier_codes():
        raise ValidationFailed("carrier", f"unknown carrier {carrier!r}")
    window = summary.SummaryWindow(
        start=start, end=end, carrier=carrier, destination_country=destination_country
    )
    return summary.build_summary(session, tenant_id=principal.tenant_id, window=window, now=now)
