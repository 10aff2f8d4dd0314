"""Parcels and their scans: register, look up, and store scans without ever moving backwards.

A parcel's status is the status of its newest scan by ``occurred_at``; a late scan that is
older than what we have is stored for the record but cannot change the status.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from adapters.base import Location as ScanLocation
from adapters.base import Scan, ScanStatus
from adapters.generic_17track import PREFIX as KEYED_PREFIX
from app.carriers import service as carriers
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db.upsert import insert_ignore_many
from app.outbox.events import emit
from app.parcels.eta_update import update_estimate
from app.parcels.models import Parcel, ScanRecord
from app.parcels.schemas import ParcelCreate, ParcelUpdate, ScanCreate
from app.parcels.views import carrier_name_of as carrier_name_of
from app.parcels.views import customer_view as customer_view
from app.parcels.views import last_scan_view as last_scan_view
from app.parcels.views import parcel_payload as parcel_payload
from app.parcels.views import parcel_view as parcel_view
from app.parcels.views import scan_view as scan_view
from app.parcels.views import tracking_url_of as tracking_url_of
from app.stuck import checks as stuck_checks

# Tie-break for scans at the same instant: the later stage of a journey wins.
_STAGE = {
    ScanStatus.INFO_RECEIVED: 0,
    ScanStatus.ACCEPTED: 1,
    ScanStatus.UNKNOWN: 2,
    ScanStatus.IN_TRANSIT: 2,
    ScanStatus.CUSTOMS_HOLD: 3,
    ScanStatus.EXCEPTION: 4,
    ScanStatus.OUT_FOR_DELIVERY: 5,
    ScanStatus.FAILED_ATTEMPT: 6,
    ScanStatus.AVAILABLE_FOR_PICKUP: 7,
    ScanStatus.RETURNED_TO_SENDER: 8,
    ScanStatus.CANCELLED: 8,
    ScanStatus.DELIVERED: 9,
}


@dataclass(frozen=True, slots=True)
class ParcelFilters:
    status: str | None = None
    carrier: str | None = None
    order_id: str | None = None
    destination_country: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "carrier": self.carrier,
            "order_id": self.order_id,
            "destination_country": self.destination_country,
        }


@dataclass(frozen=True, slots=True)
class StoredScans:
    inserted_ids: list[uuid.UUID]
    duplicates: int
    status_changed: bool

    @property
    def inserted(self) -> int:
        return len(self.inserted_ids)


def register_parcel(
    session: Session, *, tenant_id: uuid.UUID, data: ParcelCreate, carrier: str, now: datetime
) -> Parcel:
    """Create the parcel; the same (carrier, tracking number) twice is a 409 naming the first.

    A parcel of carrier ``other`` is never polled (``next_poll_at`` stays empty): its scans are
    pushed. Its name is required, and only it may carry a name or a tracking URL template.
    It gets its first delivery estimate here (``eta_update``).
    """
    _check_other(data, carrier)
    existing = find_parcel(
        session, tenant_id=tenant_id, carrier=carrier, tracking_number=data.tracking_number
    )
    if existing is not None:
        raise ParcelAlreadyRegistered(existing)
    parcel = Parcel(**parcel_values(tenant_id=tenant_id, data=data, carrier=carrier, now=now))
    try:
        with session.begin_nested():
            session.add(parcel)
            session.flush()
    except IntegrityError:
        winner = find_parcel(
            session, tenant_id=tenant_id, carrier=carrier, tracking_number=data.tracking_number
        )
        if winner is None:
            raise
        raise ParcelAlreadyRegistered(winner) from None
    stuck_checks.schedule(session, parcel=parcel, now=now)
    update_estimate(session, parcel=parcel, now=now)
    session.flush()
    return parcel


def parcel_values(
    *, tenant_id: uuid.UUID, data: ParcelCreate, carrier: str, now: datetime
) -> dict[str, Any]:
    """The columns of the parcel ``data`` describes: ``register_parcel`` builds one parcel from
    them, the tracker import inserts a batch of them in one statement."""
    _check_other(data, carrier)
    customer = data.customer
    return dict(
        tenant_id=tenant_id,
        carrier=carrier,
        tracking_number=data.tracking_number,
        carrier_name=data.carrier_name,
        tracking_url_template=data.tracking_url_template,
        order_id=data.order_id,
        order_date=data.order_date,
        customer_name=customer.name if customer else None,
        customer_email=str(customer.email) if customer and customer.email else None,
        customer_phone=customer.phone if customer else None,
        customer_locale=customer.locale if customer else None,
        customer_ticket_ref=customer.ticket_ref if customer else None,
        customer_proactive_notices=customer.proactive_notices if customer else True,
        origin_country=data.origin_country,
        destination_country=data.destination_country,
        shipped_at=data.shipped_at,
        declared_value=data.declared_value,
        currency=data.currency,
        next_poll_at=None if carriers.never_polled(carrier) else now,
        created_at=now,
        updated_at=now,
    )


def find_or_register_parcel(
    session: Session, *, tenant_id: uuid.UUID, data: ParcelCreate, carrier: str, now: datetime
) -> Parcel:
    """The parcel with this carrier and tracking number, registered first if it is new.

    Requests racing to register the same new parcel (a storefront sending several incidents
    for one order at once) all get the one parcel: the losers of the insert take the winner's
    row (``register_parcel`` re-reads it once the winner has committed) instead of a 409.
    The caller checks that the parcel is the one it meant (its order).
    """
    try:
        return register_parcel(session, tenant_id=tenant_id, data=data, carrier=carrier, now=now)
    except ParcelAlreadyRegistered as registered:
        return registered.parcel


class ParcelAlreadyRegistered(Conflict):
    """409: this carrier's tracking number is already a parcel of the tenant (``parcel``)."""

    def __init__(self, parcel: Parcel) -> None:
        super().__init__(
            f"parcel {parcel.tracking_number} ({parcel.carrier}) is already registered",
            existing_id=str(parcel.id),
        )
        self.parcel = parcel


def _check_other(data: ParcelCreate, carrier: str) -> None:
    if carrier == carriers.OTHER:
        if data.carrier_name is None:
            raise ValidationFailed(
                "carrier_name", f"required with carrier '{carriers.OTHER}': the carrier's name"
            )
        return
    for field in ("carrier_name", "tracking_url_template"):
        if getattr(data, field) is not None:
            raise ValidationFailed(
                field, f"only for carrier '{carriers.OTHER}' (this parcel's carrier is {carrier!r})"
            )


def find_parcel(
    session: Session, *, tenant_id: uuid.UUID, carrier: str, tracking_number: str
) -> Parcel | None:
    return session.exec(
        select(Parcel).where(
            Parcel.tenant_id == tenant_id,
            Parcel.carrier == carrier,
            Parcel.tracking_number == tracking_number,
        )
    ).first()


def get_parcel(
    session: Session, *, tenant_id: uuid.UUID, parcel_id: uuid.UUID, lock: bool = False
) -> Parcel:
    """The tenant's parcel or 404; another tenant's parcel is indistinguishable from none."""
    query = select(Parcel).where(Parcel.id == parcel_id, Parcel.tenant_id == tenant_id)
    parcel = session.exec(query.with_for_update() if lock else query).first()
    if parcel is None:
        raise NotFound(f"parcel {parcel_id} not found")
    return parcel


def update_parcel(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    parcel_id: uuid.UUID,
    data: ParcelUpdate,
    now: datetime,
) -> Parcel:
    """Change what may change after registration: the customer's wish for notices."""
    parcel = get_parcel(session, tenant_id=tenant_id, parcel_id=parcel_id, lock=True)
    wish = data.customer.proactive_notices
    if wish is not None and wish != parcel.customer_proactive_notices:
        parcel.customer_proactive_notices = wish
        parcel.updated_at = now
        session.add(parcel)
        session.flush()
    return parcel


def keyed_carriers_due(session: Session, *, now: datetime) -> list[str]:
    """The ``17track:<key>`` codes that have parcels due for a poll: each needs its adapter."""
    return list(
        session.exec(
            select(Parcel.carrier)
            .where(
                col(Parcel.carrier).startswith(KEYED_PREFIX, autoescape=True),
                col(Parcel.next_poll_at) <= now,
            )
            .distinct()
        )
    )


def list_parcels(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    filters: ParcelFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Parcel]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = filtered(select(Parcel), tenant_id=tenant_id, filters=filters, after=after)
    return list(session.exec(query.limit(limit)))


def filtered(
    query: SelectOfScalar[Parcel],
    *,
    tenant_id: uuid.UUID,
    filters: ParcelFilters,
    after: tuple[datetime, uuid.UUID] | None,
) -> SelectOfScalar[Parcel]:
    """The tenant's parcels matching ``filters``, newest first, after the keyset position."""
    query = query.where(Parcel.tenant_id == tenant_id)
    if filters.status:
        query = query.where(Parcel.status == filters.status)
    if filters.carrier:
        query = query.where(Parcel.carrier == filters.carrier)
    if filters.order_id:
        query = query.where(Parcel.order_id == filters.order_id)
    if filters.destination_country:
        query = query.where(Parcel.destination_country == filters.destination_country)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                col(Parcel.created_at) < at,
                and_(col(Parcel.created_at) == at, col(Parcel.id) < last_id),
            )
        )
    return query.order_by(col(Parcel.created_at).desc(), col(Parcel.id).desc())


def scans_of(session: Session, parcel_id: uuid.UUID) -> list[ScanRecord]:
    return list(
        session.exec(
            select(ScanRecord)
            .where(ScanRecord.parcel_id == parcel_id)
            .order_by(col(ScanRecord.occurred_at), col(ScanRecord.recorded_at))
        )
    )


def scan_from_push(item: ScanCreate) -> Scan:
    loc = item.location
    return Scan(
        status=item.status,
        occurred_at=item.occurred_at.astimezone(UTC),
        description=item.description,
        location=ScanLocation(loc.city, loc.region, loc.postal_code, loc.country),
        raw_code=item.raw_code,
        raw_text=item.raw_text,
        raw_timestamp=item.occurred_at.isoformat(),
        carrier_delay=item.carrier_delay,
        exception_reason=item.exception_reason,
    )


def _fingerprint(scan: Scan) -> str:
    parts = (
        scan.status.value,
        scan.occurred_at.astimezone(UTC).isoformat(timespec="seconds"),
        scan.raw_code or "",
        scan.description.strip().lower(),
        (scan.location.city or "").strip().lower(),
        scan.location.country or "",
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


# each scan column's length, read once: a poll page fits tens of thousands of values
_LENGTHS: dict[str, int | None] = {
    column.name: getattr(column.type, "length", None)
    for column in ScanRecord.__table__.columns  # type: ignore[attr-defined]
}


def _fit(column: str, value: str | None) -> str | None:
    """Carrier text is untrusted: cut it to its column rather than fail the whole poll."""
    if value is None:
        return None
    length = _LENGTHS[column]
    return value[:length] if length else value


def _country(value: str | None) -> str | None:
    """ISO alpha-2 or nothing: a carrier's odd country text is kept in raw_text, not here."""
    return value.upper() if value and len(value) == 2 and value.isalpha() else None


def store_scans(
    session: Session, *, parcel: Parcel, scans: Sequence[Scan], source: str, now: datetime
) -> StoredScans:
    """Insert new scans (duplicates ignored), then re-derive status from the newest scan."""
    return store_scans_many(session, [(parcel, scans)], source=source, now=now)[0]


def store_scans_many(
    session: Session,
    batch: Sequence[tuple[Parcel, Sequence[Scan]]],
    *,
    source: str,
    now: datetime,
) -> list[StoredScans]:
    """``store_scans`` for many parcels in two statements, not two per parcel.

    A poll page stores hundreds of answers: one INSERT for all their scans and one read of
    every moved parcel's newest scans. Each parcel's consequences (its status, its
    ``parcel.status_changed``) are then written in order, parcel by parcel.
    """
    ids = [[uuid.uuid4() for _ in scans] for _, scans in batch]
    rows = [
        _scan_row(parcel, scan, scan_id, source=source, now=now)
        for (parcel, scans), scan_ids in zip(batch, ids, strict=True)
        for scan_id, scan in zip(scan_ids, scans, strict=True)
    ]
    new_ids = insert_ignore_many(session, ScanRecord.__table__, rows)  # type: ignore[attr-defined]
    inserted = [[scan_id for scan_id in scan_ids if scan_id in new_ids] for scan_ids in ids]
    for (parcel, scans), scan_ids in zip(batch, ids, strict=True):
        attempts = sum(
            1
            for scan_id, scan in zip(scan_ids, scans, strict=True)
            if scan_id in new_ids and scan.status == ScanStatus.FAILED_ATTEMPT
        )
        if attempts:
            parcel.failed_attempts = (parcel.failed_attempts or 0) + attempts
    newest = _newest_scans(
        session, [parcel.id for (parcel, _), new in zip(batch, inserted, strict=True) if new]
    )
    return [
        StoredScans(
            inserted_ids=new,
            duplicates=len(scans) - len(new),
            status_changed=_refresh_last_scan(session, parcel, newest[parcel.id], now)
            if new
            else False,
        )
        for (parcel, scans), new in zip(batch, inserted, strict=True)
    ]


def _scan_row(
    parcel: Parcel, scan: Scan, scan_id: uuid.UUID, *, source: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": scan_id,
        "tenant_id": parcel.tenant_id,
        "parcel_id": parcel.id,
        "status": scan.status.value,
        "occurred_at": scan.occurred_at,
        "description": _fit("description", scan.description) or "",
        "city": _fit("city", scan.location.city),
        "region": _fit("region", scan.location.region),
        "postal_code": _fit("postal_code", scan.location.postal_code),
        "country": _country(scan.location.country),
        "raw_code": _fit("raw_code", scan.raw_code),
        "raw_text": _fit("raw_text", scan.raw_text or None),
        "raw_timestamp": _fit("raw_timestamp", scan.raw_timestamp),
        "carrier_delay": scan.carrier_delay,
        "exception_reason": _fit("exception_reason", scan.exception_reason),
        "source": source,
        "fingerprint": _fingerprint(scan),
        "recorded_at": now,
    }


_NEWEST_CHUNK = 500


def _newest_scans(
    session: Session, parcel_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ScanRecord]]:
    """Each parcel's scans at its latest ``occurred_at`` (several can share that instant)."""
    newest: dict[uuid.UUID, list[ScanRecord]] = {}
    for start in range(0, len(parcel_ids), _NEWEST_CHUNK):
        chunk = parcel_ids[start : start + _NEWEST_CHUNK]
        latest = (
            select(col(ScanRecord.parcel_id), func.max(ScanRecord.occurred_at).label("at"))
            .where(col(ScanRecord.parcel_id).in_(chunk))
            .group_by(col(ScanRecord.parcel_id))
            .subquery()
        )
        rows = session.exec(
            select(ScanRecord).join(
                latest,
                and_(
                    col(ScanRecord.parcel_id) == latest.c.parcel_id,
                    col(ScanRecord.occurred_at) == latest.c.at,
                ),
            )
        )
        for scan in rows:
            newest.setdefault(scan.parcel_id, []).append(scan)
    return newest


def _refresh_last_scan(
    session: Session, parcel: Parcel, candidates: Sequence[ScanRecord], now: datetime
) -> bool:
    latest = max(candidates, key=lambda s: (_STAGE[ScanStatus(s.status)], s.recorded_at))
    previous = parcel.status
    parcel.status = latest.status
    parcel.last_scan_at = latest.occurred_at
    parcel.last_scan_status = latest.status
    parcel.last_scan_description = latest.description
    parcel.last_scan_city = latest.city
    parcel.last_scan_country = latest.country
    parcel.last_exception_reason = latest.exception_reason
    parcel.updated_at = now
    session.add(parcel)
    if previous == parcel.status:
        return False
    emit(
        session,
        type="parcel.status_changed",
        occurred_at=now,
        tenant_id=parcel.tenant_id,
        parcel_id=parcel.id,
        payload={"parcel": parcel_view(parcel).model_dump(mode="json"), "previous": previous},
    )
    return True
