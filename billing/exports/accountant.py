"""The accountant's CSV: one row per invoice or credit note, tax by rate (rule 10).

Columns: number, kind, credits (the invoice a credit note cancels), issue_date,
due_date (ISO dates), month (YYYY-MM), subject_key, subject_name, subject_tax_id,
shop_ids and shop_names (`;`-separated, in line order), net, then for every tax rate
present in the file `net_<rate>` and `tax_<rate>` (rate in percent with two decimals,
e.g. `tax_21.00`; empty where an invoice has no line at that rate), tax_total, gross,
currency, status. Credit notes carry negative amounts.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from portal.masking import mask_personal

from ..models import Invoice
from .cells import csv_bytes, csv_dicts, machine_amount
from .figures import TaxRow, credit_sign, invoice_tax_rows

LEADING_COLUMNS = [
    "number",
    "kind",
    "credits",
    "issue_date",
    "due_date",
    "month",
    "subject_key",
    "subject_name",
    "subject_tax_id",
    "shop_ids",
    "shop_names",
    "net",
]
TRAILING_COLUMNS = ["tax_total", "gross", "currency", "status"]
DATE_COLUMNS = {"issue_date", "due_date"}
AMOUNT_COLUMNS = {"net", "tax_total", "gross"}
RATE_COLUMN_PREFIXES = ("net_", "tax_")


def invoice_csv(invoices: Iterable[Invoice], *, reveal_personal: bool) -> bytes:
    """The CSV of `invoices` (with their lines prefetched), BOM first."""
    rows = [(invoice, invoice_tax_rows(invoice)) for invoice in invoices]
    rates = sorted({(row.rate, row.percent) for _, taxes in rows for row in taxes})
    percents = list(dict.fromkeys(percent for _, percent in rates))
    header = [
        *LEADING_COLUMNS,
        *(f"{kind}_{percent}" for percent in percents for kind in ("net", "tax")),
        *TRAILING_COLUMNS,
    ]
    return csv_bytes(
        header,
        (
            _row(invoice, taxes, percents, reveal_personal=reveal_personal)
            for invoice, taxes in rows
        ),
    )


def _row(
    invoice: Invoice,
    taxes: list[TaxRow],
    percents: list[str],
    *,
    reveal_personal: bool,
) -> list:
    sign = credit_sign(invoice)

    def amount(value: Decimal):
        return machine_amount(sign * value, invoice.currency)

    lines = list(invoice.lines.all())
    shops = dict.fromkeys((line.enterprise_id, line.enterprise_name) for line in lines)
    by_percent = {row.percent: row for row in taxes}
    per_rate = []
    for percent in percents:
        row = by_percent.get(percent)
        per_rate += [amount(row.net), amount(row.tax)] if row else [None, None]
    name = invoice.subject_name
    return [
        invoice.number,
        invoice.kind,
        invoice.credited_invoice.number if invoice.credited_invoice else "",
        invoice.issued_on,
        invoice.due_on,
        f"{invoice.month:%Y-%m}",
        invoice.subject_key,
        name if reveal_personal else mask_personal(name),
        invoice.subject_tax_id,
        ";".join(str(shop_id) for shop_id, _ in shops),
        "; ".join(shop_name for _, shop_name in shops),
        amount(invoice.net),
        *per_rate,
        amount(invoice.tax),
        amount(invoice.gross),
        invoice.currency,
        invoice.status,
    ]


def read_invoice_csv(content: bytes | str) -> list[dict]:
    """The rows of an accountant CSV, typed: amounts as exact Decimal, dates as date.

    The portal's own reader for round trips (case M06): "18500.00" comes back as
    Decimal("18500.00"), never reinterpreted by a display locale; text cells come back
    without the apostrophe that neutralised them.
    """
    return [
        {key: _typed(key, value) for key, value in row.items()}
        for row in csv_dicts(content)
    ]


def _typed(column: str, value: str):
    if value == "":
        return None if column in DATE_COLUMNS or _is_amount(column) else value
    if column in DATE_COLUMNS:
        return dt.date.fromisoformat(value)
    if _is_amount(column):
        return Decimal(value)
    return value


def _is_amount(column: str) -> bool:
    return column in AMOUNT_COLUMNS or column.startswith(RATE_COLUMN_PREFIXES)
