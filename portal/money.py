"""The one place where money is rounded.

Amounts are `Decimal` built from strings. Every line is rounded once, half away from
zero (so a credit note mirrors its invoice), to its ISO 4217 currency's minor unit.
"""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision

from .exceptions import InvalidInput

ZERO = Decimal("0")


def minor_unit_digits(currency: str) -> int:
    """Decimal places of a currency's minor unit (JPY 0, GBP 2, BHD 3), from CLDR."""
    if not is_currency_code(currency):
        raise InvalidInput(
            f"Unknown currency {currency!r}: use an ISO 4217 code such as GBP or EUR."
        )
    return get_currency_precision(currency)


def is_currency_code(code: str) -> bool:
    from babel.numbers import list_currencies

    return isinstance(code, str) and code.upper() == code and code in list_currencies()


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round `amount` to `currency`'s minor unit, ties away from zero."""
    exponent = Decimal(1).scaleb(-minor_unit_digits(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The integer count of minor units (3,469 JPY -> 3469; 24.691 BHD -> 24691)."""
    return int(quantize(amount, currency).scaleb(minor_unit_digits(currency)))
