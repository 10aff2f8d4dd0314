"""The route finishes the request's unit of work (``app.api.request_unit``)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import select

from app.api.deps import SessionDep, get_session
from app.api.request_unit import NoUnitOfWork, UnitOfWorkRoute
from app.core.models import Tenant
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents.models import Incident
from tests.api.routes import every_route
from tests.factories import ApiClient, register_parcel


def asks_for_a_session(dependant: Dependant) -> bool:
    return dependant.call is get_session or any(
        asks_for_a_session(sub) for sub in dependant.dependencies
    )


def test_every_route_that_asks_for_a_session_can_finish_it(app: FastAPI) -> None:
    """A new router, of the API or of the desk, without a UnitOfWorkRoute fails here."""
    routes = list(every_route(app.routes))
    with_sessions = [route for route in routes if asks_for_a_session(route.dependant)]

    assert any(route.path.startswith("/incidents/") for route in with_sessions)  # the desk's
    assert [r.path for r in with_sessions if not isinstance(r, UnitOfWorkRoute)] == []


def test_a_route_that_cannot_finish_a_unit_of_work_refuses_to_open_one(db: Database) -> None:
    plain = APIRouter()

    @plain.get("/count")
    def count(session: SessionDep) -> int:
        return len(session.exec(select(Incident)).all())

    service = FastAPI()
    service.state.db = db
    service.include_router(plain)

    with TestClient(service) as client, pytest.raises(NoUnitOfWork, match="UnitOfWorkRoute"):
        client.get("/count")


def test_a_write_whose_answer_fails_validation_is_rolled_back(db: Database) -> None:
    """The unit commits only once the answer is built: a handler whose answer does not fit
    its response model stores nothing."""
    router = APIRouter(route_class=UnitOfWorkRoute)

    @router.post("/broken", response_model=int)
    def broken(session: SessionDep) -> object:
        ensure_tenant(session, slug="written-then-refused")
        return "not a number"

    service = FastAPI()
    service.state.db = db
    service.include_router(router)

    with TestClient(service, raise_server_exceptions=False) as client:
        assert client.post("/broken").status_code == 500
    with db.session() as session:
        assert session.exec(select(Tenant).where(Tenant.slug == "written-then-refused")).all() == []


def test_a_read_through_the_service_leaves_no_connection_checked_out(
    api: ApiClient, db: Database
) -> None:
    parcel = register_parcel(api)
    moves: list[str] = []
    checked_out, checked_in = (lambda *_: moves.append("out")), (lambda *_: moves.append("in"))
    event.listen(db.engine, "checkout", checked_out)
    event.listen(db.engine, "checkin", checked_in)
    try:
        answers = [api.get(f"/v1/parcels/{parcel['id']}").status_code for _ in range(30)]
        api.get("/v1/incidents/00000000-0000-0000-0000-000000000000")  # a 404 rolls back
    finally:
        event.remove(db.engine, "checkout", checked_out)
        event.remove(db.engine, "checkin", checked_in)

    assert set(answers) == {200}
    assert moves.count("out") == moves.count("in") > 0
