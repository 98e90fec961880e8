"""Rounding money once, half away from zero, to the ISO 4217 minor unit (rule 5)."""

from decimal import Decimal

import pytest

from portal.exceptions import InvalidInput
from portal.money import minor_unit_digits, ofn_column_sum, quantize, to_minor_units

ROUNDING = [
    # amount, currency, rounded
    ("60.325", "GBP", "60.33"),  # B13
    ("-60.325", "GBP", "-60.33"),  # B13 credit note mirrors the invoice
    ("60.324999", "GBP", "60.32"),
    ("-0.005", "EUR", "-0.01"),
    ("0.005", "EUR", "0.01"),
    ("3469.12", "JPY", "3469"),  # B12: 1,000 + 2 % of 123,456
    ("1000.5", "JPY", "1001"),
    ("-1000.5", "JPY", "-1001"),
    ("24.69134", "BHD", "24.691"),  # B12: 2 % of 1,234.567
    ("24.6915", "BHD", "24.692"),
    ("-24.6915", "BHD", "-24.692"),
    ("11.6129032", "GBP", "11.61"),  # B18: 30 x 12/31
    ("3.006", "GBP", "3.01"),  # B06: VAT on 15.03
    ("2.5", "IQD", "2.500"),  # ISO 3 places, where CLDR says 0
]


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    ROUNDING,
    ids=[f"{c}-{a}" for a, c, _ in ROUNDING],
)
def test_quantize_half_away_from_zero(amount, currency, rounded):
    result = quantize(Decimal(amount), currency)
    assert result == Decimal(rounded)
    assert str(result) == rounded


def test_quantize_credit_note_nets_to_zero_b13():
    invoice = quantize(Decimal("2413.00") * Decimal("0.025"), "GBP")
    credit = quantize(-Decimal("2413.00") * Decimal("0.025"), "GBP")
    assert (invoice, credit, invoice + credit) == (
        Decimal("60.33"),
        Decimal("-60.33"),
        Decimal("0.00"),
    )


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("GBP", 2),
        ("EUR", 2),
        ("AUD", 2),
        ("CAD", 2),
        ("USD", 2),
        ("JPY", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("IQD", 3),
        ("CLF", 4),
        ("RSD", 2),
    ],
    ids=str,
)
def test_minor_unit_digits_from_iso_4217(currency, digits):
    assert minor_unit_digits(currency) == digits


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("3469", "JPY", 3469), ("24.691", "BHD", 24691), ("18.04", "GBP", 1804)],
    ids=["jpy-b12", "bhd-b12", "gbp-b06"],
)
def test_to_minor_units_b12(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize("code", ["gbp", "XYZ", "", "EURO", None], ids=str)
def test_minor_unit_digits_rejects_unknown_codes(code):
    with pytest.raises(InvalidInput, match="ISO 4217 code"):
        minor_unit_digits(code)


def test_quantize_refuses_floats_and_accepts_an_empty_sum():
    with pytest.raises(TypeError, match="not a float"):
        quantize(0.1, "GBP")
    assert str(quantize(sum([], 0), "GBP")) == "0.00"


@pytest.mark.parametrize(
    ("value", "exact"),
    [
        (499.99999999999994, "500.00"),  # SQLite's SUM of 100.10, 200.20, 199.70
        (Decimal("500.000000000000"), "500.00"),
        (Decimal("130.00"), "130.00"),
        (0, "0.00"),
    ],
    ids=["sqlite-float", "sqlite-decimal", "postgres", "empty"],
)
def test_ofn_column_sum_returns_exact_cents(value, exact):
    assert str(ofn_column_sum(value)) == exact
