"""The figures of an invoice as every document shows them: PDF, CSV and Xero alike.

Tax is computed once per invoice and rate (rule 5) and stored in
`Invoice.tax_breakdown`; these helpers read it, so no document ever recomputes a tax
of its own and the same figure agrees everywhere.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from portal.money import ZERO, quantize

from ..models import Invoice

PERCENT = Decimal(100)
RATE_COLUMN_EXPONENT = Decimal("0.01")


@dataclass(frozen=True)
class TaxRow:
    """The tax of one rate on one invoice: `tax` on a base of `net`."""

    rate: Decimal
    net: Decimal
    tax: Decimal

    @property
    def percent(self) -> str:
        """The rate as a machine label: 0.21 -> "21.00" (for column names)."""
        return str((self.rate * PERCENT).quantize(RATE_COLUMN_EXPONENT))


def invoice_tax_rows(invoice: Invoice) -> list[TaxRow]:
    """Tax per rate, lowest rate first, at the currency's minor unit.

    Invoices written before the breakdown existed carry one rate: the invoice's own.
    """
    breakdown = invoice.tax_breakdown or {
        str(invoice.tax_rate): {"net": str(invoice.net), "tax": str(invoice.tax)}
    }
    rows = [
        TaxRow(
            rate=Decimal(rate),
            net=quantize(Decimal(str(figures.get("net", ZERO))), invoice.currency),
            tax=quantize(Decimal(str(figures.get("tax", ZERO))), invoice.currency),
        )
        for rate, figures in breakdown.items()
    ]
    return sorted(rows, key=lambda row: row.rate)


def credit_sign(invoice: Invoice) -> int:
    """-1 when `invoice` is a credit note stored with positive figures, else 1.

    Accounting files show a credit note's amounts negative, whichever sign the
    document itself was stored with, so a credit note always reverses its invoice.
    """
    positive = invoice.gross > ZERO or (invoice.gross == ZERO and invoice.net > ZERO)
    if invoice.kind == Invoice.Kind.CREDIT_NOTE and positive:
        return -1
    return 1


def allocate(total: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """Split `total` over `weights` in proportion, at the minor unit, summing exactly.

    Each share is rounded towards zero, then the minor units left over go to the
    shares with the largest remainders (earliest first on ties). Xero wants a tax
    amount per line; this gives lines whose taxes add up to the invoice's tax per
    rate, which was worked out once on their sum (B06: 2.00 + 1.01 = 3.01).
    """
    if not weights:
        return []
    whole = sum(weights, ZERO)
    if whole == ZERO:
        return [quantize(ZERO, currency)] * len(weights)
    unit = quantize(Decimal(1), currency).as_tuple().exponent
    step = Decimal(1).scaleb(unit)
    exact = [total * weight / whole for weight in weights]
    shares = [share.quantize(step, rounding=ROUND_DOWN) for share in exact]
    left = int((total - sum(shares, ZERO)) / step)
    sign = 1 if left >= 0 else -1
    order = sorted(
        range(len(exact)),
        key=lambda n: (-(abs(exact[n] - shares[n])), n),
    )
    for n in order[: abs(left)]:
        shares[n] += sign * step
    return [quantize(share, currency) for share in shares]
