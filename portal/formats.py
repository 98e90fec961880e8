"""Amounts and dates as people read them; machine formats (CSV) never come here."""

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.utils import translation

from .money import quantize


def locale_for(language: str | None, country: str = "") -> Locale:
    """The CLDR locale of `language`, narrowed to `country` when CLDR knows the pair."""
    language = (language or "en").replace("-", "_")
    candidates = [f"{language}_{country}"] if country else []
    for code in [*candidates, language]:
        try:
            return Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale("en")


def money_display(
    amount: Decimal | None, currency: str, *, locale: Locale | None = None
) -> str:
    """`amount` rounded to `currency`'s minor unit and written for `locale`.

    Without a locale, the active Django language decides ("£18.04", "18,04 €").
    """
    if amount is None:
        return ""
    locale = locale or locale_for(translation.get_language())
    return format_currency(quantize(amount, currency), currency, locale=locale)
