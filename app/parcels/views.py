"""Parcels and scans as the API shows them (``...Read``), and the parcel in event payloads.

Kept apart from ``service.py`` (which re-exports them) so the estimate's updater can put the
parcel in its event without importing the rules that call it.
"""

from __future__ import annotations

from typing import Any, cast

from adapters.base import ScanStatus
from app.carriers import service as carriers
from app.parcels.models import Parcel, ScanRecord
from app.parcels.schemas import (
    CustomerRead,
    EstimatedDeliveryRead,
    EtaBasis,
    LastScanRead,
    LocationRead,
    ParcelRead,
    ScanRead,
)


def last_scan_view(parcel: Parcel) -> LastScanRead | None:
    if parcel.last_scan_at is None or parcel.last_scan_status is None:
        return None
    return LastScanRead(
        status=ScanStatus(parcel.last_scan_status),
        description=parcel.last_scan_description,
        occurred_at=parcel.last_scan_at,
        location=LocationRead(city=parcel.last_scan_city, country=parcel.last_scan_country),
    )


def customer_view(parcel: Parcel) -> CustomerRead:
    return CustomerRead(
        name=parcel.customer_name,
        email=parcel.customer_email,
        phone=parcel.customer_phone,
        locale=parcel.customer_locale,
        ticket_ref=parcel.customer_ticket_ref,
        proactive_notices=parcel.customer_proactive_notices,
    )


def carrier_name_of(parcel: Parcel) -> str:
    """The carrier's display name; for ``other``, the one the seller gave."""
    return carriers.carrier_name(parcel.carrier, named=parcel.carrier_name)


def tracking_url_of(parcel: Parcel) -> str:
    """The public tracking page; for ``other``, the seller's template filled in."""
    return carriers.tracking_url(
        parcel.carrier, parcel.tracking_number, template=parcel.tracking_url_template
    )


def parcel_view(parcel: Parcel) -> ParcelRead:
    return ParcelRead(
        id=parcel.id,
        carrier=parcel.carrier,
        carrier_name=carrier_name_of(parcel),
        tracking_number=parcel.tracking_number,
        tracking_url=tracking_url_of(parcel),
        tracking_url_template=parcel.tracking_url_template,
        sandbox=parcel.carrier == carriers.SANDBOX,
        order_id=parcel.order_id,
        order_date=parcel.order_date,
        customer=customer_view(parcel),
        origin_country=parcel.origin_country,
        destination_country=parcel.destination_country,
        shipped_at=parcel.shipped_at,
        declared_value=parcel.declared_value,
        currency=parcel.currency,
        status=ScanStatus(parcel.status),
        last_scan_at=parcel.last_scan_at,
        last_scan=last_scan_view(parcel),
        last_polled_at=parcel.last_polled_at,
        last_poll_error=parcel.last_poll_error,
        next_poll_at=parcel.next_poll_at,
        created_at=parcel.created_at,
        updated_at=parcel.updated_at,
        estimated_delivery=estimated_delivery_view(parcel),
    )


def estimated_delivery_view(parcel: Parcel) -> EstimatedDeliveryRead | None:
    """The stored estimate (``app/parcels/eta_update.py``); None until there is one."""
    if parcel.eta_earliest is None or parcel.eta_latest is None or parcel.eta_basis is None:
        return None
    return EstimatedDeliveryRead(
        earliest=parcel.eta_earliest,
        latest=parcel.eta_latest,
        basis=cast(EtaBasis, parcel.eta_basis),
    )


def scan_view(record: ScanRecord) -> ScanRead:
    return ScanRead(
        id=record.id,
        status=ScanStatus(record.status),
        occurred_at=record.occurred_at,
        description=record.description,
        location=LocationRead(
            city=record.city,
            region=record.region,
            postal_code=record.postal_code,
            country=record.country,
        ),
        raw_code=record.raw_code,
        raw_text=record.raw_text,
        raw_timestamp=record.raw_timestamp,
        carrier_delay=record.carrier_delay,
        exception_reason=record.exception_reason,
        source=record.source,
        recorded_at=record.recorded_at,
    )


def parcel_payload(parcel: Parcel) -> dict[str, Any]:
    return parcel_view(parcel).model_dump(mode="json")
