"""CSV files as billing rule 10 wants them, whatever the display locale.

Machine columns hold plain numbers (`1234.56`: point, no grouping, the currency's
minor unit); text cells that a spreadsheet would run as a formula (starting with
= + - @, tab or carriage return) get a leading apostrophe; numbers are never altered
(a credit note's -60.33 stays -60.33); every file starts with a UTF-8 byte order mark
so Excel reads "Épicerie Bío Château" as written.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from portal.money import ZERO, quantize

BOM = "\ufeff"
ENCODING = "utf-8-sig"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"


class Amount(str):
    """A machine-formatted number: written to a cell exactly as it is."""


def machine_amount(amount: Decimal, currency: str) -> Amount:
    """`amount` at `currency`'s minor unit, point-separated, no grouping, no exponent.

    18500 EUR -> "18500.00"; 3469 JPY -> "3469"; -60.33 GBP -> "-60.33".
    """
    value = quantize(amount, currency)
    if value == ZERO:
        value = abs(value)  # never "-0.00"
    return Amount(format(value, "f"))


def neutralise(text: str) -> str:
    """`text` made inert for spreadsheets: a formula-like start gets an apostrophe.

    Text whose apostrophes already precede such a character gets one more, so
    `read_text` gives back exactly what was written.
    """
    if text.lstrip(NEUTRALISER).startswith(FORMULA_STARTS):
        return NEUTRALISER + text
    return text


def read_text(cell: str) -> str:
    """The text that `neutralise` wrote as `cell`."""
    if cell.startswith(NEUTRALISER) and cell.lstrip(NEUTRALISER).startswith(
        FORMULA_STARTS
    ):
        return cell[1:]
    return cell


def cell(value) -> str:
    """One cell: amounts and integers as they are, dates in ISO, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, Amount):
        return str(value)
    if isinstance(value, bool):
        raise TypeError("Write a flag as text, not as a bool.")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        raise TypeError("Format money with machine_amount(amount, currency) first.")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """A whole CSV file: byte order mark, header, rows, CRLF line ends (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode(ENCODING)


def csv_dicts(content: bytes | str) -> list[dict[str, str]]:
    """The rows of a CSV written by csv_bytes, keyed by header, text un-neutralised."""
    text = content.decode(ENCODING) if isinstance(content, bytes) else content
    text = text.removeprefix(BOM)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return [
        {key: read_text(value or "") for key, value in row.items()} for row in reader
    ]
