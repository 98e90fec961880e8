"""Net, tax and gross of an invoice: tax once per invoice and rate (rule 5)."""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from portal.money import ZERO, quantize

from .terms import InvoiceTotals, PlanTerms


def tax_breakdown(
    *, lines: Iterable[tuple[Decimal, Decimal, bool]], currency: str
) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """(net, tax) per tax rate of lines given as (amount, tax rate, prices incl. tax).

    Tax is computed once per rate on the sum of the lines (rule 5): added to the net
    when prices exclude tax, extracted from the gross, which never moves, when they
    include it.
    """
    sums: dict[tuple[Decimal, bool], Decimal] = defaultdict(Decimal)
    for amount, rate, inclusive in lines:
        sums[(Decimal(rate), inclusive)] += amount
    figures: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for (rate, inclusive), total in sorted(sums.items()):
        if inclusive:
            tax = quantize(total - total / (1 + rate), currency)
            net = total - tax
        else:
            net = total
            tax = quantize(total * rate, currency)
        old_net, old_tax = figures.get(rate, (ZERO, ZERO))
        figures[rate] = (old_net + net, old_tax + tax)
    return figures


def lines_totals(
    *, lines: Iterable[tuple[Decimal, Decimal, bool]], currency: str
) -> InvoiceTotals:
    """Net, tax and gross of an invoice whose lines are (amount, tax rate, prices
    include tax), with the figures per tax rate (rule 5)."""
    figures = tax_breakdown(lines=lines, currency=currency)
    net = sum((net for net, _ in figures.values()), ZERO)
    tax = sum((tax for _, tax in figures.values()), ZERO)
    breakdown = {
        f"{rate:.4f}": {
            "net": str(quantize(rate_net, currency)),
            "tax": str(quantize(rate_tax, currency)),
        }
        for rate, (rate_net, rate_tax) in figures.items()
    }
    return InvoiceTotals(net=net, tax=tax, gross=net + tax, breakdown=breakdown)


def invoice_totals(*, amounts: list[Decimal], terms: PlanTerms) -> InvoiceTotals:
    """Net, tax and gross of an invoice whose lines are `amounts`, all taxed at the
    rate of `terms`: tax is computed once, on the sum (rule 5)."""
    return lines_totals(
        lines=[
            (amount, terms.tax_rate, terms.prices_include_tax) for amount in amounts
        ],
        currency=terms.currency,
    )
