"""The plan engine: pure functions from a plan and a shop's month to invoice lines.

No database access here, so every rule can be tested with plain values. Rules followed
(see README, "Billing rules"): a line is one plan component for one shop, computed from
unrounded inputs and rounded once; fixed fee, cap and minimum billable turnover are
prorated by billable local days; tax is computed once per invoice.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portal.money import ZERO, quantize

from .models import InvoiceLine

Component = InvoiceLine.Component


@dataclass(frozen=True)
class PlanTerms:
    """The figures of one plan version, detached from the database."""

    label: str
    currency: str
    fixed_fee: Decimal
    turnover_rate: Decimal
    monthly_cap: Decimal | None
    minimum_billable_turnover: Decimal
    tax_rate: Decimal
    prices_include_tax: bool


@dataclass(frozen=True)
class ShopMonth:
    """One shop's billable share of a month and what it sold in those days."""

    enterprise_id: int
    name: str
    category: str
    billable_days: int
    days_in_month: int
    turnover: Decimal
    order_count: int
    trial_ends_on: dt.date | None = None

    @property
    def share_of_month(self) -> Decimal:
        return Decimal(self.billable_days) / Decimal(self.days_in_month)

    @property
    def is_part_month(self) -> bool:
        return self.billable_days < self.days_in_month


@dataclass(frozen=True)
class LineDraft:
    component: str
    description: str
    rule: str
    amount: Decimal


@dataclass(frozen=True)
class InvoiceTotals:
    net: Decimal
    tax: Decimal
    gross: Decimal


def _money(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency)} {currency}"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def _days_note(shop: ShopMonth) -> str:
    if not shop.is_part_month:
        return ""
    return f" x {shop.billable_days}/{shop.days_in_month} billable days"


def shop_lines(*, terms: PlanTerms, shop: ShopMonth) -> list[LineDraft]:
    """The lines one shop owes for one month under `terms`."""
    currency = terms.currency
    if shop.billable_days == 0:
        until = f" until {shop.trial_ends_on:%Y-%m-%d}" if shop.trial_ends_on else ""
        return [LineDraft(Component.TRIAL, "Free trial", f"Free trial{until}.", ZERO)]

    share = shop.share_of_month
    minimum = terms.minimum_billable_turnover * share
    if shop.turnover < minimum:
        rule = (
            f"Turnover {_money(shop.turnover, currency)} is under the minimum billable "
            f"turnover of {_money(minimum, currency)}{_days_note(shop)}: no charge."
        )
        return [
            LineDraft(Component.BELOW_MINIMUM, "Below minimum turnover", rule, ZERO)
        ]

    lines: list[LineDraft] = []
    exact_total = ZERO
    if terms.fixed_fee > 0:
        fee = terms.fixed_fee * share
        exact_total += fee
        fee_text = _money(terms.fixed_fee, currency)
        rule = f"{terms.label}: {fee_text} per month{_days_note(shop)}."
        lines.append(
            LineDraft(Component.FIXED_FEE, "Fixed fee", rule, quantize(fee, currency))
        )
    if terms.turnover_rate > 0:
        amount = terms.turnover_rate * shop.turnover
        exact_total += amount
        rule = (
            f"{terms.label}: {_percent(terms.turnover_rate)} of turnover "
            f"{_money(shop.turnover, currency)} from {shop.order_count} orders."
        )
        lines.append(
            LineDraft(
                Component.TURNOVER_SHARE,
                "Share of turnover",
                rule,
                quantize(amount, currency),
            )
        )
    if terms.monthly_cap is not None and exact_total > terms.monthly_cap * share:
        # The capped total is the rounded cap, whatever the rounding of the lines; a
        # cap only ever lowers a charge, even when the lines rounded below it.
        cap = quantize(terms.monthly_cap * share, currency)
        reduction = cap - sum((line.amount for line in lines), ZERO)
        if reduction < 0:
            cap_text = _money(terms.monthly_cap, currency)
            rule = f"Charges capped at {cap_text} per month{_days_note(shop)}."
            lines.append(LineDraft(Component.CAP, "Monthly cap", rule, reduction))
    return lines


def invoice_totals(*, amounts: list[Decimal], terms: PlanTerms) -> InvoiceTotals:
    """Net, tax and gross of an invoice whose lines are `amounts` (rule 5).

    Tax is computed once on the sum: added on the net when prices exclude tax, or
    extracted from the gross (which never moves) when they include it.
    """
    currency = terms.currency
    total = sum(amounts, ZERO)
    if terms.prices_include_tax:
        gross = total
        tax = quantize(gross - gross / (1 + terms.tax_rate), currency)
        return InvoiceTotals(net=gross - tax, tax=tax, gross=gross)
    tax = quantize(total * terms.tax_rate, currency)
    return InvoiceTotals(net=total, tax=tax, gross=total + tax)
