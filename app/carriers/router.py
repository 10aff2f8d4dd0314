"""Carriers: which exist, whether they are configured and healthy, and which one a number is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.api.deps import ReadDep
from app.api.one_thread import OneThreadRoute
from app.carriers import service as carriers
from app.carriers.schemas import CarrierRead, DetectionRead
from app.core.carrier_hub import CarrierHub
from app.core.schemas import TrackingNumber

router = APIRouter(prefix="/v1/carriers", tags=["carriers"], route_class=OneThreadRoute)


@router.get("", response_model=list[CarrierRead])
def list_carriers(request: Request, principal: ReadDep) -> list[CarrierRead]:
    """Every carrier: configured or not, capabilities (batch size, rate) and health."""
    hub: CarrierHub = request.app.state.carriers
    return carriers.describe_all(hub)


@router.get("/detect", response_model=DetectionRead)
def identify_carrier(
    principal: ReadDep,
    tracking_number: Annotated[TrackingNumber, Query()],
) -> DetectionRead:
    """Which carrier a number proves, or the candidates to choose from; no credentials needed."""
    carrier, candidates = carriers.identification(tracking_number)
    return DetectionRead(tracking_number=tracking_number, carrier=carrier, candidates=candidates)
