"""What a job tick needs, and the coordination helpers every job shares.

APScheduler does not coordinate processes, so correctness comes from the database: rows are
claimed with ``FOR UPDATE SKIP LOCKED`` (ignored on SQLite, where ``BEGIN IMMEDIATE`` already
serialises writers) and leases; a transaction-scoped advisory lock per tick only saves work.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session

from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database


@dataclass
class JobContext:
    db: Database
    carriers: CarrierHub
    settings: Settings
    clock: Callable[[], datetime]
    monotonic: Callable[[], float] = field(default=time.monotonic)
    # the advisory lock only saves work; tests switch it off to prove the claims alone suffice
    use_tick_lock: bool = True

    def deadline(self) -> float:
        return self.monotonic() + self.settings.tick_budget_seconds


def advisory_key(job: str) -> int:
    """A stable signed 64-bit key per job name (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(f"rt:job:{job}".encode()).digest()[:8], "big", signed=True)


def try_tick_lock(session: Session, job: str, *, enabled: bool = True) -> bool:
    """True unless another process is inside the same job's transaction right now.

    An optimisation only: without it the claims still never overlap, they just contend.
    """
    if not enabled or session.get_bind().dialect.name != "postgresql":
        return True
    acquired = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": advisory_key(job)}
    ).scalar_one()
    return bool(acquired)


def run_batches(
    ctx: JobContext, batch: Callable[[JobContext, Counter[str]], bool], counts: Counter[str]
) -> dict[str, int]:
    """Run ``batch`` (one claimed batch, one transaction) until it reports nothing left or the
    tick's budget is spent; what the batches counted is the tick's answer."""
    deadline = ctx.deadline()
    while ctx.monotonic() < deadline and batch(ctx, counts):
        pass
    return dict(counts)
