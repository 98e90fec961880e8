"""The one place where money is rounded.

Amounts are `Decimal` built from strings. Every line is rounded once, half away from
zero (so a credit note mirrors its invoice), to its ISO 4217 currency's minor unit.
"""

import functools
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision, list_currencies

from .exceptions import InvalidInput

ZERO = Decimal("0")
# OFN's money columns are numeric(10,2): every sum of them is a whole number of cents.
OFN_COLUMN_EXPONENT = Decimal("0.01")


# Where CLDR's accounting precision (what babel reports) differs from ISO 4217's minor
# unit for a currency in use: CLDR drops the decimals nobody writes in practice, but an
# invoice follows ISO (rule 5).
_ISO_MINOR_UNITS = {
    "AFN": 2,
    "ALL": 2,
    "IQD": 3,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "RSD": 2,
    "SLL": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}


# Cached: babel rebuilds its currency list on every call, and quantize() asks this for
# every amount (the demo generates hundreds of thousands).
@functools.cache
def minor_unit_digits(currency: str) -> int:
    """Decimal places of a currency's ISO 4217 minor unit (JPY 0, GBP 2, BHD 3)."""
    if not is_currency_code(currency):
        raise InvalidInput(
            f"Unknown currency {currency!r}: use an ISO 4217 code such as GBP or EUR."
        )
    return _ISO_MINOR_UNITS.get(currency, get_currency_precision(currency))


def is_currency_code(code: str) -> bool:
    return isinstance(code, str) and code.upper() == code and code in list_currencies()


def quantize(amount: Decimal | int, currency: str) -> Decimal:
    """Round `amount` to `currency`'s minor unit, ties away from zero.

    Integers are exact and accepted (an empty `sum()` is the int 0); floats are not.
    """
    if isinstance(amount, float):
        raise TypeError("Money must be a Decimal built from a string, not a float.")
    exponent = Decimal(1).scaleb(-minor_unit_digits(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The integer count of minor units (3,469 JPY -> 3469; 24.691 BHD -> 24691)."""
    return int(quantize(amount, currency).scaleb(minor_unit_digits(currency)))


def ofn_column_sum(value) -> Decimal:
    """A database sum of OFN numeric(10,2) columns as an exact two-place Decimal.

    PostgreSQL returns the exact sum. SQLite adds binary floats (100.10 + 200.20 +
    199.70 gives 499.99999999999994) and Django hands that back unquantized; the error
    is far below half a cent, so returning to the columns' own scale is exact.
    """
    return Decimal(value).quantize(OFN_COLUMN_EXPONENT, rounding=ROUND_HALF_UP)
