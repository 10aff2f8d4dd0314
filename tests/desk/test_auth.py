"""Signing in and out, sessions, CSRF and the headers every desk answer carries."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.db.engine import Database
from app.desk.web.headers import CONTENT_SECURITY_POLICY
from app.people.models import User
from app.people.service import disable_user
from tests.desk.conftest import DeskClient, csrf_of
from tests.factories import FakeClock


def test_the_desk_without_a_session_sends_the_browser_to_sign_in(app, client: TestClient):
    stranger = DeskClient(app)
    first = stranger.get("/desk")
    assert first.status_code in (307, 308)
    assert first.headers["location"].endswith("/desk/")
    queue = stranger.get("/desk/")
    assert queue.status_code == 303
    assert queue.headers["location"] == "/desk/login"
    deep = stranger.get("/desk/search?q=SO-1")
    assert deep.headers["location"] == "/desk/login?next=/desk/search%3Fq%3DSO-1"
    form = stranger.get("/desk/login")
    assert 'name="email"' in form.text
    assert 'name="password"' in form.text


def test_every_desk_answer_has_a_policy_without_inline_script(desk: DeskClient):
    for url in ("/desk/", "/desk/login", "/desk/static/desk.css", "/desk/nowhere"):
        answer = desk.get(url)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "<script>" not in desk.get("/desk/").text  # only <script src=...>


def test_signing_in_sets_a_strict_session_cookie_and_goes_where_asked(app, client, agent: User):
    anna = DeskClient(app)
    form = anna.client.get("/desk/login?next=/desk/search%3Fq%3DSO")
    answer = anna.client.post(
        "/desk/login",
        data={
            "email": agent.email,
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(form.text),
            "next": "/desk/search?q=SO",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/search?q=SO"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("rt_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/desk" in cookie
    assert "Secure" not in cookie  # plain http here; https sets it
    assert "Anna Agent" in anna.get("/desk/").text


def test_next_never_leaves_the_desk(app, client, agent: User):
    anna = DeskClient(app)
    form = anna.client.get("/desk/login")
    answer = anna.client.post(
        "/desk/login",
        data={
            "email": agent.email,
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(form.text),
            "next": "//evil.example/desk",
        },
    )
    assert answer.headers["location"] == "/desk/"


def test_a_wrong_password_is_refused_without_saying_which_half_was_wrong(app, client, agent):
    anna = DeskClient(app)
    answer = anna.sign_in(agent.email, "not the password at all")
    assert answer.status_code == 401
    assert "The e-mail or the password is wrong." in answer.text
    assert anna.sign_in("nobody@acme.example", "not the password at all").status_code == 401


def test_too_many_failures_are_throttled_with_the_time_to_wait(app, client, agent, settings):
    anna = DeskClient(app)
    for _ in range(settings.sign_in_failures_per_15_minutes):
        assert anna.sign_in(agent.email, "guessing guessing").status_code == 401
    throttled = anna.sign_in(agent.email)  # even the right password, now
    assert throttled.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in throttled.text
    assert int(throttled.headers["retry-after"]) > 800


def test_the_sign_in_form_needs_its_own_token(app, client, agent: User):
    anna = DeskClient(app)
    anna.client.get("/desk/login")
    forged = anna.client.post(
        "/desk/login",
        data={"email": agent.email, "password": "correct horse battery staple"},
    )
    assert forged.status_code == 403
    assert "rt_session" not in forged.headers.get("set-cookie", "")


def test_a_form_without_the_session_token_is_a_403_page(desk: DeskClient):
    missing = desk.client.post("/desk/logout")
    wrong = desk.client.post("/desk/logout", data={"csrf_token": "0" * 64})
    for answer in (missing, wrong):
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
    assert desk.get("/desk/").status_code == 200  # still signed in


def test_signing_out_clears_the_cookie(desk: DeskClient):
    answer = desk.post("/desk/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/login"
    assert 'rt_session=""' in answer.headers["set-cookie"]
    assert desk.get("/desk/").headers["location"] == "/desk/login"


def test_a_disabled_person_lands_on_the_sign_in_page_at_their_next_click(
    desk: DeskClient, db: Database, agent: User, clock: FakeClock
):
    with db.session() as session:
        user = session.get(User, agent.id)
        assert user is not None
        disable_user(session, user, now=clock.now)
        session.commit()
    answer = desk.get("/desk/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/login"


def test_an_idle_session_ends(desk: DeskClient, clock: FakeClock, settings):
    clock.advance(minutes=settings.session_idle_minutes + 1)
    assert desk.get("/desk/").headers["location"] == "/desk/login"


def test_using_the_desk_keeps_the_session_alive(desk: DeskClient, clock: FakeClock, settings):
    for _ in range(3):
        clock.advance(minutes=settings.session_idle_minutes - 5)
        assert desk.get("/desk/").status_code == 200


def test_unknown_query_parameters_are_a_400_page_not_everything(desk: DeskClient):
    answer = desk.get("/desk/?veiw=escalated")
    assert answer.status_code == 400
    assert "veiw" in answer.text
    assert "view" in answer.text


def test_the_api_gate_does_not_guard_the_desk(app, client: TestClient):
    """The desk has its own sign-in: no API key is asked for, no problem+json answers."""
    answer = DeskClient(app).get("/desk/login")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
