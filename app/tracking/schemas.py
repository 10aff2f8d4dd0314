"""What a manual refresh from the carrier answers."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    Field,
)

from app.parcels.schemas import ParcelRead, ScanRead


class RefreshRead(BaseModel):
    carrier: str
    outcome: Literal["found", "not_found"]
    new_scans: list[ScanRead] = Field(description="Scans we had not stored before, oldest first.")
    parcel: ParcelRead
