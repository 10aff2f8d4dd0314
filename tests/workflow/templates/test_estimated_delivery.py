"""The delivery estimate in the customer's words: "expected delivery: 17-19 March" in their
locale, and the delay notice's "a possible delay of 3-5 business days", counted in the
destination country's business days (Ireland stops for St Patrick's Day, Germany does not)."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import ValidationFailed
from app.workflow.templates import renderer
from app.workflow.templates.catalogue import CATALOGUE, sample_params
from app.workflow.templates.context import MessageFacts, babel_locale, build_context
from app.workflow.templates.library import library_text, validate_text
from tests.workflow.test_templates import facts_for

DASH = "\u2013"  # the en dash of a range
THIN = "\u2009"  # CLDR puts thin spaces around the dash of some locales' date ranges


def with_estimate(
    language: str, earliest: date | None, latest: date | None, basis: str | None = "carrier"
) -> MessageFacts:
    """A parcel (DHL, CN to the customer's country) as the template tests build it, on
    Thursday 12 March 2026, with the estimate given."""
    facts = facts_for(language)
    facts.parcel.eta_earliest, facts.parcel.eta_latest = earliest, latest
    facts.parcel.eta_basis = basis
    return facts


def render(key: str, language: str, facts: MessageFacts) -> str:
    spec, text = CATALOGUE[key], library_text(key, language)
    assert text is not None
    locale = babel_locale(facts.parcel.customer_locale, language)
    context = build_context(facts, spec, sample_params(spec), locale)
    return renderer.render(text.subject, text.body, context).text


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        # Ireland (en-IE): Fri 13, Mon 16, [17 March is St Patrick's Day], Wed 18, Thu 19
        (
            "en",
            f"That means a possible delay of 2{DASH}4 business days "
            f"(expected delivery: 17{THIN}{DASH}{THIN}19 March).",
        ),
        # Germany: Fri 13, Mon 16, Tue 17, Wed 18, Thu 19
        (
            "de",
            f"Das bedeutet eine mögliche Verzögerung von 3{DASH}5 Werktagen "
            f"(voraussichtliche Zustellung: 17.{DASH}19. März).",
        ),
        (
            "fr",
            f"Cela représente un retard possible de 3{DASH}5 jours ouvrés "
            f"(livraison prévue : 17{THIN}{DASH}{THIN}19 mars).",
        ),
        (
            "es",
            f"Esto supone un posible retraso de 3{DASH}5 días hábiles "
            f"(entrega prevista: 17{DASH}19 de marzo).",
        ),
        (
            "pt",
            f"Isso significa um possível atraso de 3{DASH}5 dias úteis "
            f"(entrega prevista: 17{DASH}19 de março).",
        ),
    ],
)
def test_the_delay_notice_says_how_many_business_days_and_until_when(
    language: str, sentence: str
) -> None:
    facts = with_estimate(language, date(2026, 3, 17), date(2026, 3, 19))

    text = render("delay_notice", language, facts)

    assert sentence in text


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", f"Expected delivery: 17{THIN}{DASH}{THIN}19 March (according to DHL)\n"),
        ("de", f"Voraussichtliche Zustellung: 17.{DASH}19. März (laut DHL)\n"),
        ("fr", f"Livraison prévue : 17{THIN}{DASH}{THIN}19 mars (selon DHL)\n"),
        ("es", f"Entrega prevista: 17{DASH}19 de marzo (según DHL)\n"),
        ("pt", f"Entrega prevista: 17{DASH}19 de março (segundo a DHL)\n"),
    ],
)
def test_the_in_transit_update_names_the_window_and_whose_it_is(language: str, line: str) -> None:
    text = render(
        "in_transit_update", language, with_estimate(language, date(2026, 3, 17), date(2026, 3, 19))
    )

    assert line in text


def test_our_own_estimate_is_not_put_in_the_carriers_mouth() -> None:
    facts = with_estimate("de", date(2026, 3, 18), date(2026, 3, 19), basis="history")

    text = render("in_transit_update", "de", facts)

    assert f"Voraussichtliche Zustellung: 18.{DASH}19. März\n" in text
    assert "laut" not in text


def test_one_day_tomorrow_is_one_business_day() -> None:
    en = render("delay_notice", "en", with_estimate("en", date(2026, 3, 13), date(2026, 3, 13)))
    de = render("delay_notice", "de", with_estimate("de", date(2026, 3, 13), date(2026, 3, 13)))

    assert "a possible delay of 1 business day (expected delivery: 13 March)." in en
    assert "eine mögliche Verzögerung von 1 Werktag (voraussichtliche Zustellung: 13. März)." in de


def test_a_window_into_next_year_says_which_year() -> None:
    facts = with_estimate("de", date(2026, 12, 30), date(2027, 1, 4))

    text = render("in_transit_update", "de", facts)

    assert (
        f"Voraussichtliche Zustellung: 30. Dez. 2026{THIN}{DASH}{THIN}4. Jan. 2027 (laut DHL)"
        in text
    )


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("key", ["delay_notice", "in_transit_update"])
def test_without_an_estimate_the_texts_say_nothing_about_it(key: str, language: str) -> None:
    text = render(key, language, with_estimate(language, None, None, basis=None))

    for words in ("Expected delivery", "possible delay", "Voraussichtliche", "Verzögerung von"):
        assert words not in text
    assert "\n\n\n" not in text


def test_a_tenants_text_must_allow_for_a_parcel_without_estimate() -> None:
    guarded = "{% if estimated_delivery %}Expected {{ estimated_delivery.range }}.{% endif %}"

    validate_text("in_transit_update", "en", "Your order {{ order_id }}", guarded)
    with pytest.raises(ValidationFailed) as refused:
        validate_text(
            "in_transit_update", "en", "Your order", "Expected {{ estimated_delivery.range }}."
        )
    assert str(refused.value).startswith("body: ")
