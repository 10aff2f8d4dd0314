"""Operator endpoints: run one scheduler tick now (operators, tests, the README's walkthrough)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from app.api.deps import AdminDep, NowDep
from app.api.one_thread import OneThreadRoute
from app.core.errors import NotFound
from app.core.jobs import JobContext
from app.scheduler.jobs import JOBS
from app.scheduler.runner import run_job

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=OneThreadRoute)


class JobRunRead(BaseModel):
    job: str
    started_at: str
    counts: dict[str, int] = Field(description="What the tick did, e.g. {'opened': 3}.")


def job_context(request: Request) -> JobContext:
    state = request.app.state
    return JobContext(
        db=state.db, carriers=state.carriers, settings=state.settings, clock=state.clock
    )


@router.post("/jobs/{job}/run", response_model=JobRunRead)
async def run_job_now(
    job: Annotated[str, Path(description=f"One of: {', '.join(JOBS)}")],
    principal: AdminDep,
    now: NowDep,
    request: Request,
) -> JobRunRead:
    """Run one tick of a scheduler job now, across every tenant, and say what it did."""
    if job not in JOBS:
        raise NotFound(f"no job {job!r}; jobs: {', '.join(JOBS)}")
    counts = await run_job(job, job_context(request))
    return JobRunRead(job=job, started_at=now.isoformat(), counts=counts)
