"""Xero's sales-invoice import layout: one row per invoice line (rule 10).

The header is Xero's own import template (Sales > Invoices > Import), starred
columns required. Rows of one invoice share its number, so Xero builds one invoice
with several lines; a credit note's amounts are negative, which Xero imports as a
credit note. The account code and the tax types (taxed and untaxed lines) come from
the instance's IssuerProfile. Dates are written the way Xero reads them for the
organisation's region: DD/MM/YYYY, or MM/DD/YYYY for a United States instance.
TaxAmount splits the invoice's tax of each rate over that rate's lines so that the
lines add up to the tax worked out once on the invoice (rule 5); Total is the
invoice's gross on each of its rows.
"""

from collections.abc import Iterable
from decimal import Decimal

from portal.exceptions import BillingError
from portal.masking import mask_email, mask_personal
from portal.money import ZERO

from ..models import Invoice, InvoiceLine, IssuerProfile
from .cells import csv_bytes, machine_amount
from .figures import allocate, credit_sign, invoice_tax_rows

XERO_HEADER = [
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "Total",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
]
ADDRESS_LINES = 4
MONTH_FIRST_COUNTRIES = {"US"}


def xero_csv(
    invoices: Iterable[Invoice], *, issuer: IssuerProfile, reveal_personal: bool
) -> bytes:
    """The Xero import file of `invoices` (with their lines prefetched), BOM first."""
    date_format = (
        "%m/%d/%Y" if issuer.instance.country in MONTH_FIRST_COUNTRIES else "%d/%m/%Y"
    )
    rows = []
    for invoice in invoices:
        rows.extend(
            _invoice_rows(
                invoice,
                issuer=issuer,
                date_format=date_format,
                reveal_personal=reveal_personal,
            )
        )
    return csv_bytes(XERO_HEADER, rows)


def _invoice_rows(
    invoice: Invoice, *, issuer: IssuerProfile, date_format: str, reveal_personal: bool
) -> list[list]:
    sign = credit_sign(invoice)
    lines = list(invoice.lines.all())
    taxes = _line_taxes(invoice, lines)
    contact = _contact(invoice, reveal_personal=reveal_personal)
    issued_on = invoice.issued_on
    due_on = invoice.due_on or issued_on
    head = [
        invoice.number,
        _reference(invoice),
        f"{issued_on:{date_format}}" if issued_on else "",
        f"{due_on:{date_format}}" if due_on else "",
        machine_amount(sign * invoice.gross, invoice.currency),
    ]
    return [
        [
            *contact,
            *head,
            None,  # InventoryItemCode
            f"{line.enterprise_name} (#{line.enterprise_id}): {line.description}",
            1,
            machine_amount(sign * line.amount, invoice.currency),
            None,  # Discount
            issuer.xero_account_code,
            issuer.xero_tax_type if rate > ZERO else issuer.xero_tax_type_exempt,
            machine_amount(sign * tax, invoice.currency),
            None,
            None,
            None,
            None,
            invoice.currency,
            None,  # BrandingTheme
        ]
        for line, (rate, tax) in zip(lines, taxes, strict=True)
    ]


def _contact(invoice: Invoice, *, reveal_personal: bool) -> list:
    name, email = invoice.subject_name, invoice.subject_email
    if not reveal_personal:
        name, email = mask_personal(name), mask_email(email)
    address = [
        line.strip() for line in invoice.subject_address.splitlines() if line.strip()
    ]
    first, rest = address[: ADDRESS_LINES - 1], address[ADDRESS_LINES - 1 :]
    lines = [*first, ", ".join(rest)]
    lines += [""] * (ADDRESS_LINES - len(lines))
    # POCity, PORegion, POPostalCode, POCountry: the address is kept as free text.
    return [name, email, *lines, None, None, None, None]


def _reference(invoice: Invoice) -> str:
    reference = f"{invoice.month:%Y-%m}"
    if invoice.credited_invoice is not None:
        reference += f" credits {invoice.credited_invoice.number}"
    if invoice.status == Invoice.Status.VOID:
        reference += " (void)"
    return reference


def _line_taxes(
    invoice: Invoice, lines: list[InvoiceLine]
) -> list[tuple[Decimal, Decimal]]:
    """Each line's tax rate and its share of the invoice's tax at that rate."""
    # Without a breakdown the invoice has one rate, its own, for every line.
    rates = [
        line.tax_rate if invoice.tax_breakdown else invoice.tax_rate for line in lines
    ]
    taxes = [ZERO] * len(lines)
    for row in invoice_tax_rows(invoice):
        members = [n for n, rate in enumerate(rates) if rate == row.rate]
        if not members and row.tax != ZERO:
            raise BillingError(
                f"Invoice {invoice.number}: tax at {row.percent} % has no line at "
                "that rate; recompute the invoice before exporting it."
            )
        shares = allocate(row.tax, [lines[n].amount for n in members], invoice.currency)
        for n, share in zip(members, shares, strict=True):
            taxes[n] = share
    return list(zip(rates, taxes, strict=True))
