"""The people page: Ada, the admin of 'acme', adds people, changes roles, disables someone and
resets passwords on the desk; agents and supervisors are refused; a refused form comes back
as the page with the reason, and a generated password is shown once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.db.engine import Database
from app.people.models import User
from tests.desk.conftest import PASSWORD, DeskClient, add_person

NEW = {"email": "bruno@acme.example", "name": "Bruno Neu", "role": "agent"}
_SHOWN = re.compile(r'<code class="secret">([^<]+)</code>')


@pytest.fixture
def ada(db: Database) -> User:
    return add_person(db, email="ada@acme.example", name="Ada Admin", role="admin")


@pytest.fixture
def admin_desk(app: Any, client: TestClient, ada: User) -> DeskClient:
    signed = DeskClient(app)
    assert signed.sign_in(ada.email).status_code == 303
    return signed


def _maybe(db: Database, email: str) -> User | None:
    with db.session() as session:
        found = session.exec(select(User).where(User.email == email)).first()
        if found is not None:
            session.expunge(found)
        return found


def _person(db: Database, email: str) -> User:
    found = _maybe(db, email)
    assert found is not None, f"{email} is nobody"
    return found


def _shown_password(html: str) -> str:
    found = _SHOWN.search(html)
    assert found, "no password shown on the page"
    return found.group(1)


def _fresh_sign_in(app: Any, email: str, password: str) -> int:
    return DeskClient(app).sign_in(email, password).status_code


def test_an_admin_sees_the_tenants_people_and_the_link_to_them(
    admin_desk: DeskClient, agent: User, db: Database
):
    add_person(db, email="gina@globex.example", name="Gina Globex", tenant="globex")
    queue = admin_desk.get("/desk/").text
    page = admin_desk.get("/desk/people")

    assert 'href="/desk/people"' in queue
    assert page.status_code == 200
    rows = re.findall(
        r'<tr id="person-[^"]+">\s*<td>([^<]+?)( <span class="badge">you</span>)?</td>'
        r"\s*<td>([^<]+)</td>",
        page.text,
    )
    assert rows == [
        ("Ada Admin", ' <span class="badge">you</span>', "ada@acme.example"),
        ("Anna Agent", "", "anna@acme.example"),
    ]
    assert "gina@globex.example" not in page.text
    assert '<a href="/desk/people" aria-current="page">People</a>' in page.text


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_people_other_than_admins_are_refused_and_see_no_link(
    app: Any, client: TestClient, db: Database, role: str
):
    add_person(db, email="pat@acme.example", name="Pat", role=role)
    pat = DeskClient(app)
    assert pat.sign_in("pat@acme.example").status_code == 303

    listed = pat.get("/desk/people")
    added = pat.post("/desk/people", {**NEW, "password": PASSWORD})
    promoted = pat.post(
        f"/desk/people/{_person(db, 'pat@acme.example').id}/role", {"role": "admin"}
    )

    assert 'href="/desk/people"' not in pat.get("/desk/").text
    assert listed.status_code == 403
    assert "only an admin may manage people" in listed.text
    assert (added.status_code, promoted.status_code) == (403, 403)
    assert _maybe(db, NEW["email"]) is None
    assert _person(db, "pat@acme.example").role == role


def test_a_person_added_with_a_typed_password_signs_in_with_it(
    app: Any, admin_desk: DeskClient, db: Database
):
    added = admin_desk.post("/desk/people", {**NEW, "role": "supervisor", "password": PASSWORD})

    assert added.status_code == 303
    bruno = _person(db, NEW["email"])
    assert added.headers["location"] == f"/desk/people#person-{bruno.id}"
    assert (bruno.display_name, bruno.role, bruno.tenant_id) == (
        "Bruno Neu",
        "supervisor",
        _person(db, "ada@acme.example").tenant_id,
    )
    assert PASSWORD not in admin_desk.get("/desk/people").text
    assert _fresh_sign_in(app, NEW["email"], PASSWORD) == 303


def test_a_generated_password_is_shown_once_and_works(
    app: Any, admin_desk: DeskClient, db: Database
):
    added = admin_desk.post("/desk/people", NEW)

    assert added.status_code == 200
    assert "Added Bruno Neu (agent)." in added.text
    password = _shown_password(added.text)
    assert len(password) >= 20
    assert password not in admin_desk.get("/desk/people").text
    assert password not in _person(db, NEW["email"]).password_hash
    assert _fresh_sign_in(app, NEW["email"], password) == 303


@pytest.mark.parametrize(
    ("form", "status", "field", "reason"),
    [
        ({"email": "anna@acme.example"}, 409, "email", "anna@acme.example is already a user"),
        ({"password": "short"}, 422, "password", "must be at least 12 characters (it has 5)"),
        ({"email": "not-an-address"}, 422, "email", "is not an e-mail address"),
        ({"name": "   "}, 422, "name", "must not be empty"),
        ({"role": "owner"}, 422, "role", "&#39;owner&#39; is not a role"),
        (
            {"password": "bruno@acme.example"},
            422,
            "password",
            "must not be the e-mail address",
        ),
    ],
)
def test_a_refused_person_comes_back_as_the_page_with_the_reason(
    admin_desk: DeskClient,
    agent: User,
    db: Database,
    form: dict[str, str],
    status: int,
    field: str,
    reason: str,
):
    sent = {**NEW, "password": PASSWORD, **form}
    answer = admin_desk.post("/desk/people", sent)

    assert answer.status_code == status
    assert "<h1>People</h1>" in answer.text  # the page itself, with its list and forms
    error = re.search(
        r'<div class="notice error" role="alert" id="add-error">(.*?)</div>', answer.text, re.S
    )
    assert error is not None
    assert error.group(1).startswith(f"{field}: ")
    assert reason in error.group(1)
    assert re.search(rf'id="add-{field}"[^>]*aria-invalid="true"', answer.text)
    if field != "email":
        assert f'value="{sent["email"]}"' in answer.text  # kept: nothing to type again
    password_field = re.search(r'<input id="add-password"[^>]*>', answer.text)
    assert password_field is not None
    assert "value=" not in password_field.group(0)  # a password is never echoed
    with db.session() as session:
        assert len(session.exec(select(User)).all()) == 2  # Ada and Anna only


def test_a_new_role_applies_on_the_persons_next_click(
    app: Any, admin_desk: DeskClient, agent: User, db: Database
):
    anna = DeskClient(app)
    assert anna.sign_in(agent.email).status_code == 303
    assert anna.get("/desk/people").status_code == 403

    changed = admin_desk.post(f"/desk/people/{agent.id}/role", {"role": "admin"})
    refused = admin_desk.post(f"/desk/people/{agent.id}/role", {"role": "boss"})

    assert changed.status_code == 303
    assert anna.get("/desk/people").status_code == 200  # the same session, the new role
    assert refused.status_code == 422
    assert "Not changed for anna@acme.example: role: &#39;boss&#39; is not a role" in refused.text
    assert _person(db, agent.email).role == "admin"


def test_a_disabled_persons_session_ends_at_once(
    app: Any, admin_desk: DeskClient, agent: User, db: Database
):
    anna = DeskClient(app)
    assert anna.sign_in(agent.email).status_code == 303

    disabled = admin_desk.post(f"/desk/people/{agent.id}/disable")

    assert disabled.status_code == 303
    assert anna.get("/desk/").headers["location"].startswith("/desk/login")
    assert _fresh_sign_in(app, agent.email, PASSWORD) == 401
    row = re.search(
        rf'<tr id="person-{agent.id}">.*?</tr>', admin_desk.get("/desk/people").text, re.S
    )
    assert row is not None
    assert '<span class="badge late">disabled</span> 2026-03-12 09:30' in row.group(0)
    assert ">Disable<" not in row.group(0)


def test_an_admin_can_neither_disable_themselves_nor_change_their_own_role(
    admin_desk: DeskClient, ada: User, db: Database
):
    own_row = re.search(
        rf'<tr id="person-{ada.id}">.*?</tr>', admin_desk.get("/desk/people").text, re.S
    )
    assert own_row is not None
    assert ">Disable<" not in own_row.group(0)
    assert "Change role" not in own_row.group(0)

    disable = admin_desk.post(f"/desk/people/{ada.id}/disable")
    demote = admin_desk.post(f"/desk/people/{ada.id}/role", {"role": "agent"})

    assert disable.status_code == 422
    assert "you cannot disable yourself: another admin can" in disable.text
    assert demote.status_code == 422
    assert "you cannot change your own role: another admin can" in demote.text
    me = _person(db, ada.email)
    assert (me.role, me.disabled_at) == ("admin", None)
    assert admin_desk.get("/desk/people").status_code == 200  # still signed in, still admin


def test_a_reset_password_is_shown_once_and_ends_the_old_sessions(
    app: Any, admin_desk: DeskClient, agent: User
):
    anna = DeskClient(app)
    assert anna.sign_in(agent.email).status_code == 303

    too_short = admin_desk.post(f"/desk/people/{agent.id}/password", {"password": "abc"})
    assert too_short.status_code == 422
    assert "Not changed for anna@acme.example: password: must be at least 12" in too_short.text
    assert anna.get("/desk/").status_code == 200  # a refused reset changes nothing

    reset = admin_desk.post(f"/desk/people/{agent.id}/password")
    assert reset.status_code == 200
    assert "New password for Anna Agent: every session they had has ended." in reset.text
    password = _shown_password(reset.text)
    assert password not in admin_desk.get("/desk/people").text
    assert anna.get("/desk/").status_code == 303
    assert _fresh_sign_in(app, agent.email, PASSWORD) == 401
    assert _fresh_sign_in(app, agent.email, password) == 303


def test_a_typed_reset_password_is_not_shown(app: Any, admin_desk: DeskClient, agent: User):
    chosen = "a long new password for anna"
    reset = admin_desk.post(f"/desk/people/{agent.id}/password", {"password": chosen})
    assert reset.status_code == 200
    assert chosen not in reset.text
    assert _SHOWN.search(reset.text) is None
    assert _fresh_sign_in(app, agent.email, chosen) == 303


def test_another_tenants_person_is_out_of_reach(admin_desk: DeskClient, db: Database):
    gina = add_person(db, email="gina@globex.example", name="Gina Globex", tenant="globex")
    for action, form in (("disable", {}), ("role", {"role": "admin"}), ("password", {})):
        assert admin_desk.post(f"/desk/people/{gina.id}/{action}", form).status_code == 404
    after = _person(db, gina.email)
    assert (after.role, after.disabled_at, after.session_epoch) == ("agent", None, 0)


def test_a_people_form_without_the_sessions_token_is_refused(
    admin_desk: DeskClient, agent: User, db: Database
):
    forged = {**NEW, "password": PASSWORD}
    assert admin_desk.client.post("/desk/people", data=forged).status_code == 403
    assert admin_desk.client.post(f"/desk/people/{agent.id}/disable").status_code == 403
    assert _maybe(db, NEW["email"]) is None
    assert _person(db, agent.email).is_active
