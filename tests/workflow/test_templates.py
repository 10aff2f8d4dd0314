"""Every template in every language, rendered with a realistic incident; the sandbox's limits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date

from app.core.errors import ValidationFailed
from app.incidents.models import Incident
from app.parcels.models import Parcel
from app.workflow.templates import renderer
from app.workflow.templates.catalogue import CATALOGUE, LANGUAGES, parse_params, sample_params
from app.workflow.templates.context import MessageFacts, babel_locale, build_context
from app.workflow.templates.library import library_text

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)  # a Thursday
CUSTOMERS = {  # name, locale, destination country
    "en": ("Siobhán O'Connor", "en-IE", "IE"),
    "es": ("María José Núñez", "es-ES", "ES"),
    "fr": ("Élodie Lefèvre", "fr-FR", "FR"),
    "de": ("Jürgen Groß", "de-DE", "DE"),
    "pt": ("João Gonçalves", "pt-BR", "BR"),
}
GREETING = {"en": "Hello", "es": "Hola", "fr": "Bonjour", "de": "Hallo", "pt": "Olá"}
SHOWS_TRACKING = {"delay_notice", "holiday_suspension", "in_transit_update"}


def facts_for(language: str, *, now: datetime = NOW) -> MessageFacts:
    name, locale, country = CUSTOMERS[language]
    parcel = Parcel(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        carrier="dhl",
        tracking_number="1234567890",
        order_id="SO-48213",
        order_date=date(2026, 2, 27),
        customer_name=name,
        customer_locale=locale,
        origin_country="CN",
        destination_country=country,
        shipped_at=now - timedelta(days=12),
        declared_value=Decimal("84.50"),
        currency="EUR",
        status="customs_hold",
        last_scan_at=now - timedelta(days=3, hours=5),
        last_scan_status="customs_hold",
        last_scan_description="Clearance event",
        last_scan_city="Leipzig",
        last_scan_country="DE",
    )
    incident = Incident(
        id=uuid.uuid4(),
        tenant_id=parcel.tenant_id,
        number=317,
        parcel_id=parcel.id,
        type="delay",
        source="customer",
        opened_at=now,
        compensation_kind="partial_refund",
        compensation_amount=Decimal("20"),
        compensation_currency="EUR",
    )
    return MessageFacts(incident, parcel, "Lumen Home", now, 2)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_template_renders_in_every_language_with_the_incidents_data(
    key: str, language: str
) -> None:
    spec = CATALOGUE[key]
    facts = facts_for(language)
    text = library_text(key, language)
    assert text is not None
    locale = babel_locale(facts.parcel.customer_locale, language)

    rendered = renderer.render(
        text.subject, text.body, build_context(facts, spec, sample_params(spec), locale)
    )

    name = CUSTOMERS[language][0]
    assert "SO-48213" in rendered.subject
    assert rendered.text.startswith(f"{GREETING[language]} {name}")
    assert "Lumen Home" in rendered.text
    assert "None" not in rendered.text
    assert "{" not in rendered.text
    assert "\n\n\n" not in rendered.text
    if key in SHOWS_TRACKING:
        assert "https://www.dhl.com/" in rendered.text
        assert "1234567890" in rendered.text
        assert "Clearance event" in rendered.text
        assert "Leipzig" in rendered.text
    update_by = datetime(2026, 3, 16, tzinfo=UTC).date()  # Thursday + 2 business days: Monday
    if "update_by" in text.body:
        assert str(format_date(update_by, "long", locale=locale)) in rendered.text
    for param in spec.params:
        if param.kind == "date":
            shown = format_date(date.fromisoformat(param.sample), "long", locale=locale)
            assert str(shown) in rendered.text
        elif param.kind == "text" and param.name != "currency":
            assert param.sample in rendered.text
    assert f"{name}" in rendered.html.replace("&#39;", "'")
    assert rendered.html.startswith("<p>")


def test_dates_follow_the_customers_locale() -> None:
    spec = CATALOGUE["holiday_suspension"]
    params = parse_params(
        spec,
        {"holiday_name": "Spring Festival", "from_date": "2026-02-14", "to_date": "2026-02-22"},
    )
    texts = {}
    for language in ("de", "pt", "fr"):
        text = library_text("holiday_suspension", language)
        assert text is not None
        facts = facts_for(language)
        locale = babel_locale(facts.parcel.customer_locale, language)
        texts[language] = renderer.render(
            text.subject, text.body, build_context(facts, spec, params, locale)
        ).text

    assert "vom 14. Februar 2026 bis zum 22. Februar 2026" in texts["de"]
    assert "de 14 de fevereiro de 2026 a 22 de fevereiro de 2026" in texts["pt"]
    assert "du 14 février 2026 au 22 février 2026" in texts["fr"]


def test_update_by_counts_business_days_of_the_destination_country() -> None:
    good_friday = datetime(2026, 4, 3, 10, 0, tzinfo=UTC)  # Easter Monday follows in Germany
    facts = facts_for("de", now=good_friday)
    context = build_context(
        facts, CATALOGUE["delay_notice"], {"reason": "peak_season"}, babel_locale("de-DE", "de")
    )

    assert context["update_by"] == "8. April 2026"  # Fri (holiday), Mon (holiday), Tue, Wed


def test_amounts_are_formatted_for_the_locale_and_default_to_the_compensation() -> None:
    spec = CATALOGUE["refund_confirmed"]
    shown = {}
    for language, locale in (("de", "de-DE"), ("en", "en-IE"), ("pt", "pt-BR")):
        context = build_context(
            facts_for(language), spec, parse_params(spec, {}), babel_locale(locale, language)
        )
        shown[language] = context["params"]["amount"]

    assert shown == {"de": "20,00\xa0€", "en": "€20.00", "pt": "€\xa020,00"}


def test_a_customer_in_a_language_we_lack_gets_english_with_english_dates() -> None:
    locale = babel_locale("it-IT", "en")

    assert str(locale) == "en"
    assert library_text("delay_notice", "it") is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "params.reason"),
        ({"reason": "aliens"}, "params.reason"),
        ({"reason": "peak_season", "colour": "red"}, "params.colour"),
    ],
)
def test_parameters_are_checked_naming_the_field(raw: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_params(CATALOGUE["delay_notice"], raw)

    assert caught.value.extensions["errors"][0]["field"] == field


def test_a_date_range_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_params(
            CATALOGUE["holiday_suspension"],
            {"holiday_name": "Golden Week", "from_date": "2026-10-07", "to_date": "2026-10-01"},
        )

    assert caught.value.extensions["errors"][0]["field"] == "params.to_date"


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("Hello\n{% for i in range(9) %}x{% endfor %}", 2, "For is not allowed"),
        ("Hi\n\n{{ order_id * 100000000 }}", 3, "Mul is not allowed"),
        ("{{ customer_name.__class__ }}", 1, "unsafe"),
        ("{{ customer_name|attr('upper') }}", 1, "filter 'attr' is not allowed"),
        ("{% include 'x' %}", 1, "Include is not allowed"),
        ("ok\nok\n{{ ordr_id }}", 3, "'ordr_id' is undefined"),
        ("{% if order_id %}\nunclosed", 1, "Unexpected end of template"),  # where it opens
        ("{{ last_scan.nowhere.deeper }}", 1, "has no attribute 'nowhere'"),
    ],
)
def test_the_sandbox_refuses_what_templates_must_not_do_and_names_the_line(
    source: str, line: int, message: str
) -> None:
    spec = CATALOGUE["delay_notice"]
    context = build_context(facts_for("en"), spec, sample_params(spec), babel_locale("en-IE", "en"))

    with pytest.raises(renderer.TemplateRefused) as caught:
        renderer.render("Subject", source, context)

    assert caught.value.line == line
    assert message in caught.value.message


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_library_text_stays_inside_the_whitelist(language: str) -> None:
    for key in CATALOGUE:
        text = library_text(key, language)
        assert text is not None, (key, language)
        renderer.check_syntax(text.subject)
        renderer.check_syntax(text.body)


def test_values_are_escaped_in_html_but_not_in_text() -> None:
    facts = facts_for("en")
    facts.parcel.customer_name = "<b>Ann</b> & Co"
    spec = CATALOGUE["incident_closed"]
    text = library_text("incident_closed", "en")
    assert text is not None

    rendered = renderer.render(
        text.subject, text.body, build_context(facts, spec, {}, babel_locale("en-IE", "en"))
    )

    assert rendered.text.startswith("Hello <b>Ann</b> & Co,")
    assert rendered.html.startswith("<p>Hello &lt;b&gt;Ann&lt;/b&gt; &amp; Co,</p>")
