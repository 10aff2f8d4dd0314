"""The desk as its own small application, mounted at ``/desk`` by ``app.main``.

Its own because its answers differ from the API's: errors are pages, every answer carries
the desk's security headers, and nothing of it belongs in the OpenAPI document. It shares the
service's database, settings and clock (``app.api.deps`` reads them from ``app.state``), so
its pages call the same services in the same unit of work as the API does.

Unknown query parameters are refused here too (``refuse_unknown_query_params``): every desk
page declares the parameters it reads, and a misspelt filter is a 400 page, never a list of
everything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.unknown_params import refuse_bad_parameters
from app.core.settings import Settings
from app.db.engine import Database
from app.desk import login, search, stuck
from app.desk.dashboard import router as dashboard
from app.desk.incident import claims as incident_claims
from app.desk.incident import forms as incident_forms
from app.desk.incident import owner as incident_owner
from app.desk.incident import process as incident_process
from app.desk.incident import router as incident
from app.desk.notices import page as notice_page
from app.desk.notices import router as notices
from app.desk.people import router as people
from app.desk.queue import router as queue
from app.desk.web.errors import install_error_pages
from app.desk.web.headers import DeskHeaders
from app.evidence.router import MULTIPART_OVERHEAD

STATIC = Path(__file__).resolve().parent / "static"
MOUNT = "/desk"


def body_cap(settings: Settings) -> Callable[[str], int]:
    """The evidence upload takes the evidence cap; every other desk form the default one."""

    def cap(path: str) -> int:
        if path.startswith(f"{MOUNT}/incidents/") and path.endswith("/evidence"):
            return settings.evidence_max_bytes + MULTIPART_OVERHEAD
        return settings.max_body_bytes

    return cap


def build_desk(settings: Settings, *, database: Database, clock: Callable[[], datetime]) -> FastAPI:
    desk = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_bad_parameters)],
    )
    desk.state.settings = settings
    desk.state.db = database
    desk.state.clock = clock
    desk.add_middleware(
        DeskHeaders,
        body_cap=body_cap(settings),
        cookie_max_age=settings.session_idle_minutes * 60,
    )
    install_error_pages(desk)
    desk.mount("/static", StaticFiles(directory=STATIC), name="static")
    desk.include_router(login.router)
    desk.include_router(queue.router)
    desk.include_router(search.router)
    desk.include_router(stuck.router)
    desk.include_router(dashboard.router)
    desk.include_router(people.router)
    desk.include_router(notices.router)  # before the notice page: /notices/params is no id
    desk.include_router(notice_page.router)
    for incident_router in (
        incident,
        incident_forms,
        incident_owner,
        incident_process,
        incident_claims,
    ):
        desk.include_router(incident_router.router)
    return desk
