"""Amounts and dates as people read them; machine formats (CSV) never come here.

Every figure goes through `portal.money.quantize` first, so what a person reads is the
amount at its currency's ISO 4217 minor unit (JPY 0 decimals, BHD 3), written the way
the reader's locale writes numbers ("£18.04", "18,04 €", "¥3,469").
"""

import copy
import datetime as dt
import functools
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern
from django.utils import translation

from .money import minor_unit_digits, quantize


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


def _active_locale() -> Locale:
    return locale_for(translation.get_language())


@functools.cache
def _currency_pattern(locale: Locale, digits: int) -> NumberPattern:
    """The locale's currency pattern with exactly `digits` decimals.

    Babel would take the decimals from CLDR, which differs from ISO 4217 for a few
    currencies (IQD: CLDR 0, ISO 3); an invoice follows ISO (rule 5), so the minor
    unit comes from portal.money.
    """
    pattern = copy.copy(parse_pattern(locale.currency_formats["standard"]))
    pattern.frac_prec = (digits, digits)
    return pattern


def money_display(
    amount: Decimal | None, currency: str, *, locale: Locale | None = None
) -> str:
    """`amount` rounded to `currency`'s minor unit and written for `locale`.

    Without a locale, the active Django language decides ("£18.04", "18,04 €").
    """
    if amount is None:
        return ""
    locale = locale or _active_locale()
    digits = minor_unit_digits(currency)
    return _currency_pattern(locale, digits).apply(
        quantize(amount, currency), locale, currency=currency, currency_digits=False
    )


@functools.cache
def _percent_pattern(locale: Locale) -> NumberPattern:
    pattern = copy.copy(parse_pattern(locale.percent_formats[None]))
    # Tax rates such as 5.5 % need their decimals; whole rates show none.
    pattern.frac_prec = (0, 2)
    return pattern


def percent_display(rate: Decimal, *, locale: Locale | None = None) -> str:
    """A rate (0.21) as a percentage for `locale`: "21%", "21 %", "5,5 %"."""
    locale = locale or _active_locale()
    return _percent_pattern(locale).apply(Decimal(rate), locale)


def date_display(
    day: dt.date | None, *, locale: Locale | None = None, style: str = "long"
) -> str:
    """A calendar date for `locale`: "1 November 2026", "1 de noviembre de 2026"."""
    if day is None:
        return ""
    return format_date(day, format=style, locale=locale or _active_locale())
