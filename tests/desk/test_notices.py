"""Notify customers from the desk: an agent previews a holiday notice to six customers in
three languages but may not send it; a supervisor sends it and follows its progress; a double
submit sends it once; a form that does not read comes back naming the field."""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from app.core.settings import Settings
from app.db.engine import Database
from app.notify.models import Notice
from app.people.models import User
from app.workflow.messages.models import CustomerMessage
from tests.desk.conftest import PASSWORD, DeskClient, csrf_of
from tests.desk.notice_steps import HOLIDAY_FORM, confirm_form, count_of, six_customers
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.notify.customers import customer, stored_messages


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Sending on (nothing is sent here: the scheduler is off, messages stay queued)."""
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 2525})


def _notices(db: Database) -> list[Notice]:
    with db.session() as session:
        return list(session.exec(select(Notice)))


def _message_count(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(CustomerMessage)).one()


def test_an_agent_previews_counts_and_samples_in_each_language_but_may_not_send(
    desk: DeskClient, api: ApiClient, clock: FakeClock, db: Database
) -> None:
    six_customers(api, clock)
    form = desk.get("/desk/notices")
    assert form.status_code == 200
    assert '<a href="/desk/notices" aria-current="page">Notify customers</a>' in form.text
    assert "sending it to customers is a supervisor's decision" in form.text
    options = re.findall(r'<option value="(\w+)"[^>]*>', form.text.split('id="n-template"')[1])
    assert "holiday_suspension" in options
    assert "refund_confirmed" not in options
    assert "incident_closed" not in options

    preview = desk.post("/desk/notices/preview", HOLIDAY_FORM)

    assert preview.status_code == 200, preview.text
    page = preview.text
    counts = [count_of(page, n) for n in ("count", "no_email", "opted_out", "to_send")]
    assert counts == [6, 1, 1, 4]
    samples = re.findall(
        r'<article class="sample"[^>]*lang="(\w+)">.*?order (SO-\d+)</h4>\s*'
        r'<p class="subject"><strong>([^<]+)</strong>',
        page,
        re.S,
    )
    assert samples == [
        ("de", "SO-0001", "Bestellung SO-0001: kurze Pause über die Feiertage (Spring Festival)"),
        ("fr", "SO-0002", "Commande SO-0002 : courte pause (congés : Spring Festival)"),
        ("en", "SO-0003", "Order SO-0003: short pause for Spring Festival"),
    ]
    assert "Hallo Jürgen Weiß," in page
    assert "Bonjour Élodie Lefèvre," in page
    assert 'id="confirm-form"' not in page
    assert "Send to" not in page
    assert "Only a supervisor may send this notice" in page
    assert 'value="Spring Festival"' in page  # the form keeps what was typed
    assert _notices(db) == []
    assert stored_messages(db) == []


def test_an_agent_cannot_send_even_with_a_confirm_form(
    desk: DeskClient, supervisor_desk: DeskClient, api: ApiClient, clock: FakeClock, db: Database
) -> None:
    six_customers(api, clock)
    fields = confirm_form(supervisor_desk.post("/desk/notices/preview", HOLIDAY_FORM).text)
    fields.pop("csrf_token")

    refused = desk.post("/desk/notices", fields)

    assert refused.status_code == 403
    assert "only a supervisor may send a notice" in refused.text
    assert _notices(db) == []
    assert stored_messages(db) == []


def test_a_supervisor_sends_and_follows_the_notice_queued(
    supervisor_desk: DeskClient, supervisor: User, api: ApiClient, clock: FakeClock, db: Database
) -> None:
    six_customers(api, clock)
    preview = supervisor_desk.post("/desk/notices/preview", HOLIDAY_FORM).text
    assert "Send to 4 customers" in preview

    sent = supervisor_desk.post("/desk/notices", confirm_form(preview))

    assert sent.status_code == 303, sent.text
    [notice] = _notices(db)
    assert sent.headers["location"] == f"/desk/notices/{notice.id}"
    page = supervisor_desk.get(sent.headers["location"]).text
    progress = dict(re.findall(r'data-progress="(\w+)">(\d+)<', page))
    assert progress == {"queued": "4", "sent": "0", "failed": "0", "not_sent": "2"}
    assert "by Sven Supervisor" in page
    assert "Spring Festival" in page
    assert "<dd>sandbox</dd>" in page
    rows = re.findall(r"<td>(SO-\d+)</td>.*?delivery-(\w+)", page, re.S)
    assert rows == [
        ("SO-0001", "queued"),
        ("SO-0002", "queued"),
        ("SO-0003", "queued"),
        ("SO-0004", "not_sent"),
        ("SO-0005", "not_sent"),
        ("SO-0006", "queued"),
    ]
    failed_only = supervisor_desk.get(f"/desk/notices/{notice.id}?delivery=not_sent").text
    assert re.findall(r"<td>(SO-\d+)</td>", failed_only) == ["SO-0004", "SO-0005"]
    # the API reads the same notice, made by the person
    read = api.get(f"/v1/notices/{notice.id}").json()
    assert read["actor"] == {"type": "user", "id": str(supervisor.id), "name": "Sven Supervisor"}
    assert read["filter"] == {"carrier": "sandbox"}
    # and the list of earlier notices links to it with its progress
    listing = supervisor_desk.get("/desk/notices").text
    assert f'href="/desk/notices/{notice.id}"' in listing
    assert "Holiday suspension".lower() in listing.lower()


def test_submitting_the_confirm_form_twice_sends_one_notice(
    supervisor_desk: DeskClient, api: ApiClient, clock: FakeClock, db: Database
) -> None:
    six_customers(api, clock)
    fields = confirm_form(supervisor_desk.post("/desk/notices/preview", HOLIDAY_FORM).text)

    first = supervisor_desk.post("/desk/notices", fields)
    second = supervisor_desk.post("/desk/notices", fields)

    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]
    assert len(_notices(db)) == 1
    assert _message_count(db) == 6
    # a new preview is a new form: that one may be sent (it is another notice)
    again = confirm_form(supervisor_desk.post("/desk/notices/preview", HOLIDAY_FORM).text)
    assert again["notice_token"] != fields["notice_token"]


def _signed_in(served: str, email: str) -> httpx.Client:
    http = httpx.Client(base_url=served, timeout=60)
    login = http.get("/desk/login")
    answer = http.post(
        "/desk/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(login.text)},
    )
    assert answer.status_code == 303, answer.text
    return http


def test_two_clicks_at_once_send_one_notice(
    served: str, supervisor: User, api: ApiClient, clock: FakeClock, db: Database
) -> None:
    six_customers(api, clock)
    http = _signed_in(served, supervisor.email)
    csrf = csrf_of(http.get("/desk/notices").text)
    preview = http.post("/desk/notices/preview", data={"csrf_token": csrf, **HOLIDAY_FORM})
    fields = confirm_form(preview.text)
    cookies = dict(http.cookies)
    http.close()
    barrier = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def click() -> None:
        with httpx.Client(base_url=served, timeout=60, cookies=cookies) as tab:
            barrier.wait()
            answers.append(tab.post("/desk/notices", data=fields))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [303] * 4, [a.text[:300] for a in answers]
    assert len({a.headers["location"] for a in answers}) == 1
    assert len(_notices(db)) == 1
    assert _message_count(db) == 6


@pytest.mark.parametrize(
    ("change", "label", "input_id"),
    [
        ({"destination_country": "Germany"}, "Destination country", "n-destination"),
        ({"carrier": ""}, "Which parcels", None),  # no criterion left: never every parcel
        (
            {"shipped_after": "2026-03-10", "shipped_before": "2026-03-01"},
            "Shipped before",
            "n-before",
        ),
        ({"shipped_after": "10/03/2026"}, "Shipped on or after", "n-after"),
        ({"parcel_ids": "SO-0001"}, "Parcel ids", "n-parcel-ids"),
        ({"template_key": "refund_confirmed"}, "Template", "n-template"),
        (
            {"param_holiday_suspension_to_date": "2026-02-01"},
            "To date",
            "p-holiday_suspension-to_date",
        ),
        ({"param_holiday_suspension_holiday_name": ""}, "Holiday name", None),
    ],
)
def test_a_form_that_does_not_read_comes_back_naming_the_field(
    supervisor_desk: DeskClient,
    api: ApiClient,
    clock: FakeClock,
    db: Database,
    change: dict[str, str],
    label: str,
    input_id: str | None,
) -> None:
    six_customers(api, clock)
    typed = {**HOLIDAY_FORM, **change}

    answer = supervisor_desk.post("/desk/notices/preview", typed)

    assert answer.status_code == 422, answer.text
    error = re.search(r'id="notice-error">\s*<p><strong>([^<]+)</strong>', answer.text)
    assert error
    assert error.group(1) == label
    if input_id is not None:
        tag = re.search(rf'<(?:input|select|textarea) id="{input_id}"[^>]*>', answer.text)
        assert tag
        assert 'aria-invalid="true"' in tag.group(0)
    assert "Preview:" not in answer.text  # no preview, and so no confirm form


def test_a_parcel_of_another_shop_is_refused_by_name(
    supervisor_desk: DeskClient, api: ApiClient, clock: FakeClock, other_api: ApiClient
) -> None:
    mine = six_customers(api, clock)[0]
    theirs = register_parcel(other_api)

    answer = supervisor_desk.post(
        "/desk/notices/preview",
        {**HOLIDAY_FORM, "parcel_ids": f"{mine['id']}\n{theirs['id']}"},
    )

    assert answer.status_code == 422
    assert "1 of them are not parcels of yours" in answer.text
    assert mine["id"] in answer.text  # the list as typed is still there to correct


def test_sending_a_filter_that_now_matches_nobody_is_refused_on_the_page(
    supervisor_desk: DeskClient, api: ApiClient, clock: FakeClock, db: Database
) -> None:
    six_customers(api, clock)
    fields: dict[str, Any] = confirm_form(
        supervisor_desk.post("/desk/notices/preview", HOLIDAY_FORM).text
    )
    fields["destination_country"] = "JP"  # nobody ships there

    answer = supervisor_desk.post("/desk/notices", fields)

    assert answer.status_code == 422
    assert "matches no parcel: nothing to send" in answer.text
    assert _notices(db) == []
    fields.pop("destination_country")  # the form, as previewed, still sends (its token is free)
    assert supervisor_desk.post("/desk/notices", fields).status_code == 303
    assert len(_notices(db)) == 1


def test_a_notice_of_another_tenant_is_not_found(
    supervisor_desk: DeskClient, other_api: ApiClient
) -> None:
    register_parcel(other_api)
    theirs = other_api.post(
        "/v1/notices",
        json={
            "filter": {"carrier": "ups"},
            "template_key": "delay_notice",
            "params": {"reason": "peak_season"},
            "dry_run": False,
        },
    )
    assert theirs.status_code == 201, theirs.text

    assert supervisor_desk.get(f"/desk/notices/{theirs.json()['id']}").status_code == 404
    assert theirs.json()["id"] not in supervisor_desk.get("/desk/notices").text


def test_the_template_parameters_follow_the_chosen_template(desk: DeskClient) -> None:
    fragment = desk.get("/desk/notices/params?template_key=parcel_returned").text
    assert 'name="param_parcel_returned_reason"' in fragment
    assert "<option" in fragment
    assert "wrong address" in fragment
    refused = desk.get("/desk/notices/params?template_key=incident_closed").text
    assert "param_" not in refused
    assert "Choose a template" in refused


def test_a_notice_to_fifty_two_customers_lists_its_messages_fifty_a_page(
    supervisor_desk: DeskClient, api: ApiClient, clock: FakeClock, db: Database
) -> None:
    for n in range(1, 53):
        customer(api, n, locale="en-GB", country="GB", name=f"Customer {n}")
        clock.advance(seconds=1)
    preview = supervisor_desk.post("/desk/notices/preview", HOLIDAY_FORM).text
    location = supervisor_desk.post("/desk/notices", confirm_form(preview)).headers["location"]

    first = supervisor_desk.get(location).text
    orders = re.findall(r"<td>(SO-\d+)</td>", first)
    assert orders == [f"SO-{n:04d}" for n in range(1, 51)]
    token = re.search(r'page_token=([\w-]+)#messages">Next page', first)
    assert token is not None
    second = supervisor_desk.get(f"{location}?page_token={token.group(1)}").text
    assert re.findall(r"<td>(SO-\d+)</td>", second) == ["SO-0051", "SO-0052"]
    assert "Next page" not in second


def test_at_night_quiet_hours_hold_the_mail_until_morning_unless_unticked(
    supervisor_desk: DeskClient, supervisor: User, api: ApiClient, clock: FakeClock
) -> None:
    six_customers(api, clock)
    clock.now = clock.now.replace(hour=21, minute=30)  # 22:30 in Germany and France
    assert supervisor_desk.sign_in(supervisor.email).status_code == 303  # the evening shift

    quiet = supervisor_desk.post("/desk/notices/preview", HOLIDAY_FORM).text
    held = supervisor_desk.get(
        supervisor_desk.post("/desk/notices", confirm_form(quiet)).headers["location"]
    ).text
    urgent_form = {k: v for k, v in HOLIDAY_FORM.items() if k != "quiet_hours"}
    urgent = supervisor_desk.post("/desk/notices/preview", urgent_form).text
    assert "at once, quiet hours off" in urgent
    at_once = supervisor_desk.get(
        supervisor_desk.post("/desk/notices", confirm_form(urgent)).headers["location"]
    ).text

    # 08:00 at each customer's (the desk shows UTC): Germany 07:00, Britain 08:00
    row = r"<td>(SO-\d+)</td>(?:(?!</tr>).)*?from ([\d:-]+ [\d:]+)</span>"
    assert re.findall(row, held, re.S) == [
        ("SO-0001", "2026-03-13 07:00"),
        ("SO-0002", "2026-03-13 07:00"),
        ("SO-0003", "2026-03-13 08:00"),
        ("SO-0006", "2026-03-13 08:00"),
    ]
    assert "from 2026" not in at_once
