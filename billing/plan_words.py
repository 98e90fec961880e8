"""A plan version in words, as a shop owner would check it against an invoice.

Pure functions of the rows (the version, its tiers and its one-off charges): the plan
pages show these sentences, and tests compare them with text written by hand.
"""

from decimal import Decimal

from portal.money import minor_unit_digits

from .models import TierMeasure, TierMode, TurnoverBasis
from .plan_format import COUNT_MEASURES, decimal_text

_CATEGORY_PLURALS = {
    "producer_shop": "producer shops",
    "producer_hub": "producer hubs",
    "hub": "hubs",
}
_SALES = {
    TurnoverBasis.TOTAL: "sales",
    TurnoverBasis.TOTAL_EX_TAX: "sales without tax",
    TurnoverBasis.ITEM_TOTAL: "product sales",
}
_MEASURES = {
    TierMeasure.TURNOVER: "turnover of the month",
    TierMeasure.COMPLETED_ORDERS: "completed orders of the month",
    TierMeasure.REGISTERED_CUSTOMERS: "registered customers",
}
_UNITS = {
    TierMeasure.TURNOVER: "unit of turnover",
    TierMeasure.COMPLETED_ORDERS: "order",
    TierMeasure.REGISTERED_CUSTOMERS: "registered customer",
}


class _Words:
    def __init__(self, plan):
        self.plan = plan
        self.places = minor_unit_digits(plan.currency or plan.instance.currency)
        self.sales = _SALES.get(plan.turnover_basis, "sales")

    def money(self, amount: Decimal) -> str:
        """1000 -> "1,000.00"; keeps the decimals a fee really has (10.005)."""
        return f"{Decimal(decimal_text(amount, places=self.places)):,f}"

    def bound(self, amount: Decimal) -> str:
        if self.plan.tier_measure in COUNT_MEASURES:
            return f"{Decimal(decimal_text(amount)):,f}"
        return self.money(amount)


def percent(rate: Decimal) -> str:
    """0.02 -> "2 %", 0.012345 -> "1.2345 %"."""
    return f"{decimal_text(rate * 100)} %"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plan_sentences(plan, *, tiers, one_off_charges) -> list[tuple[str, str]]:
    """(heading, sentence) pairs describing every component of `plan` in words."""
    words = _Words(plan)
    rows = [("Applies to", _applies(plan))]
    if plan.trial_days:
        days = "day" if plan.trial_days == 1 else f"{plan.trial_days} days"
        rows.append(("Trial", f"Free for the first {days} after a shop opens."))
    rows += [("Monthly charge", text) for text in _monthly(plan, words, bool(tiers))]
    if tiers:
        rows.append(("Tiers", _tiers(plan, list(tiers), words)))
    rows.append(("Tax", _tax(plan)))
    if one_off_charges:
        rows.append(("One-off charges", _one_offs(list(one_off_charges), words)))
    return rows


def _applies(plan) -> str:
    categories = [
        _CATEGORY_PLURALS[c] for c in plan.applies_to if c in _CATEGORY_PLURALS
    ]
    if not categories:
        return "Bills only the shops assigned to it."
    return f"Bills {_and(categories)} by default."


def _per_order(plan, words: _Words) -> str:
    floor, ceiling = plan.per_order_floor, plan.per_order_ceiling
    if not plan.per_order_rate:
        return f"{words.money(floor)} per order" if floor else ""
    text = f"{percent(plan.per_order_rate)} of each order"
    limits = []
    if floor:
        limits.append(f"at least {words.money(floor)}")
    if ceiling is not None:
        limits.append(f"at most {words.money(ceiling)}")
    return f"{text} ({' and '.join(limits)} per order)" if limits else text


def _monthly(plan, words: _Words, has_tiers: bool) -> list[str]:
    parts = []
    if plan.fixed_fee:
        parts.append(f"{words.money(plan.fixed_fee)} per month")
    if plan.turnover_rate:
        parts.append(f"{percent(plan.turnover_rate)} of {words.sales}")
    per_order = _per_order(plan, words)
    if per_order:
        parts.append(per_order)
    threshold = plan.minimum_billable_turnover
    cap, minimum = plan.monthly_cap, plan.minimum_charge
    if not parts:
        return _limits_alone(words, threshold, cap, minimum, has_tiers)
    text = " plus ".join(parts)
    if threshold:
        text += f" once turnover reaches {words.money(threshold)}"
    if cap is not None:
        text += f", capped at {words.money(cap)} per month"
    if minimum:
        text += f", at least {words.money(minimum)} per month"
    return [text[0].upper() + text[1:] + "."]


def _limits_alone(words: _Words, threshold, cap, minimum, has_tiers) -> list[str]:
    """The limits of a plan whose charges all come from its tiers (or nothing)."""
    texts = [] if has_tiers else ["Nothing."]
    if threshold:
        texts.append(f"Nothing while turnover is under {words.money(threshold)}.")
    if cap is not None:
        texts.append(f"Capped at {words.money(cap)} per month.")
    if minimum:
        texts.append(f"At least {words.money(minimum)} per month.")
    return texts


def _tiers(plan, tiers: list, words: _Words) -> str:
    measure = _MEASURES.get(plan.tier_measure, plan.tier_measure)
    how = (
        "each band priced separately"
        if plan.tier_mode == TierMode.GRADUATED
        else "the band reached prices the whole month"
    )
    bands = []
    for n, tier in enumerate(tiers):
        following = tiers[n + 1].lower_bound if n + 1 < len(tiers) else None
        if following is None:
            span = f"{words.bound(tier.lower_bound)} and over"
            if n == 0:
                span = "any amount"
        elif n == 0:
            span = f"under {words.bound(following)}"
        else:
            span = f"{words.bound(tier.lower_bound)} to under {words.bound(following)}"
        bands.append(f"{span}: {_band_price(plan, tier, words)}")
    return f"By {measure} ({how}): {'; '.join(bands)}."


def _band_price(plan, tier, words: _Words) -> str:
    parts = []
    if tier.flat_fee:
        parts.append(words.money(tier.flat_fee))
    if tier.turnover_rate:
        parts.append(f"{percent(tier.turnover_rate)} of {words.sales}")
    if tier.unit_price:
        unit = _UNITS.get(plan.tier_measure, "unit")
        parts.append(f"{words.money(tier.unit_price)} per {unit}")
    return " plus ".join(parts) or "nothing"


def _tax(plan) -> str:
    if not plan.tax_rate:
        return "No tax."
    if plan.prices_include_tax:
        return f"Prices include {percent(plan.tax_rate)} tax."
    return f"{percent(plan.tax_rate)} tax added on top."


def _one_offs(charges: list, words: _Words) -> str:
    items = [
        f"{charge.description} {words.money(charge.amount)}"
        + ("" if charge.taxable else " without tax")
        for charge in charges
    ]
    return f"Once per shop, on its first invoice after the trial: {'; '.join(items)}."
