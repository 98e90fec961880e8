"""A shop's lines under one plan version: components, tiers, cap, minimum charge
and one-off charges (rules 5-7).
"""

from collections.abc import Iterable
from decimal import Decimal

from portal.money import ZERO, quantize

from ..models import InvoiceLine, TierMeasure, TierMode
from .terms import LineDraft, PlanTerms, ShopMonth, Tier

Component = InvoiceLine.Component


def _money(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency)} {currency}"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def _plain(value: Decimal | int) -> str:
    return f"{Decimal(value).normalize():f}"


def _days_note(shop: ShopMonth) -> str:
    if not shop.is_part_month:
        return ""
    return f" x {shop.billable_days}/{shop.days_in_month} billable days"


def _explain(terms: PlanTerms, shop: ShopMonth, rule: str, **inputs) -> dict:
    """The machine-readable reason of a line: plan version, rule, inputs, window."""
    base = {
        "segment": shop.segment,
        "billable_days": shop.billable_days,
        "days_in_month": shop.days_in_month,
        "turnover": str(shop.turnover),
        "orders": shop.order_count,
        "basis": terms.turnover_basis,
    }
    if terms.tier_measure == TierMeasure.REGISTERED_CUSTOMERS:
        base["customers"] = shop.customers
    if shop.trial_ends_on:
        base["trial_ends_on"] = shop.trial_ends_on.isoformat()
    if shop.became_shop_on:
        base["became_shop_on"] = shop.became_shop_on.isoformat()
    explanation = {"plan": terms.version, "rule": rule, "inputs": base | inputs}
    if shop.window:
        explanation["window"] = shop.window
    return explanation


# Tiers -------------------------------------------------------------------------


MEASURE_WORDS = {
    TierMeasure.TURNOVER: "turnover",
    TierMeasure.COMPLETED_ORDERS: "completed orders",
    TierMeasure.REGISTERED_CUSTOMERS: "registered customers",
}


def _measure_value(terms: PlanTerms, shop: ShopMonth) -> Decimal:
    if terms.tier_measure == TierMeasure.COMPLETED_ORDERS:
        return Decimal(shop.order_count)
    if terms.tier_measure == TierMeasure.REGISTERED_CUSTOMERS:
        return Decimal(shop.customers)
    return shop.turnover


def _measure_text(terms: PlanTerms, value: Decimal) -> str:
    if terms.tier_measure == TierMeasure.TURNOVER:
        return _money(value, terms.currency)
    return _plain(value)


def tier_label(terms: PlanTerms, index: int) -> str:
    """`200 to under 500 turnover`, `80 and over registered customers`."""
    tiers = terms.tiers
    lower = _plain(tiers[index].lower_bound)
    words = MEASURE_WORDS.get(terms.tier_measure, "")
    if index + 1 < len(tiers):
        return f"{lower} to under {_plain(tiers[index + 1].lower_bound)} {words}"
    return f"{lower} and over {words}"


def _bands(terms: PlanTerms):
    """Each tier with its upper bound (None for the top one)."""
    tiers = terms.tiers
    for index, tier in enumerate(tiers):
        upper = tiers[index + 1].lower_bound if index + 1 < len(tiers) else None
        yield index, tier, upper


def _reached(terms: PlanTerms, value: Decimal) -> list[tuple[int, Tier, Decimal]]:
    """The tiers that price `value`, each with the part of the measure it prices.

    Volume: only the tier `value` falls in, pricing all of it. Graduated: every band
    from the first up to the one `value` falls in, each pricing its own part.
    """
    reached = [
        (index, tier, upper)
        for index, tier, upper in _bands(terms)
        if value >= tier.lower_bound
    ]
    if not reached:
        return []
    if terms.tier_mode == TierMode.VOLUME:
        index, tier, _ = reached[-1]
        return [(index, tier, value)]
    return [
        (
            index,
            tier,
            (value if upper is None else min(value, upper)) - tier.lower_bound,
        )
        for index, tier, upper in reached
    ]


def _tier_info(terms: PlanTerms, value: Decimal, reached) -> dict:
    """The tier reached, as the explanation of a line records it."""
    top = reached[-1][0]
    return {
        "measure": terms.tier_measure,
        "mode": terms.tier_mode,
        "value": _plain(value),
        "index": top,
        "lower_bound": _plain(terms.tiers[top].lower_bound),
        "label": tier_label(terms, top),
        "bands": [
            {"index": index, "portion": _plain(portion)}
            for index, _, portion in reached
        ],
    }


def _tier_rule(terms, shop, value, reached, flat) -> str:
    currency = terms.currency
    parts = []
    if flat:
        parts.append(f"flat {_money(flat, currency)} per month{_days_note(shop)}")
    parts.extend(
        f"{_money(tier.unit_price, currency)} x {_plain(portion)}"
        for _, tier, portion in reached
        if tier.unit_price
    )
    priced = " + ".join(parts) or "no charge"
    return (
        f"{terms.label}: {MEASURE_WORDS[terms.tier_measure]} "
        f"{_measure_text(terms, value)} reaches the tier "
        f"{tier_label(terms, reached[-1][0])} ({terms.tier_mode}): {priced}."
    )


def _tier_lines(terms: PlanTerms, shop: ShopMonth) -> list[tuple[LineDraft, Decimal]]:
    """The tier line (flat fees + unit prices) and the tiers' share of turnover."""
    value = _measure_value(terms, shop)
    reached = _reached(terms, value)
    if not reached:
        return []
    tier_info = _tier_info(terms, value, reached)
    flat = sum((tier.flat_fee for _, tier, _ in reached), ZERO)
    units = sum((tier.unit_price * portion for _, tier, portion in reached), ZERO)
    exact = flat * shop.share_of_month + units
    line = LineDraft(
        Component.TIER,
        f"Tier: {tier_info['label']}",
        _tier_rule(terms, shop, value, reached, flat),
        quantize(exact, terms.currency),
        terms.tax_rate,
        _explain(
            terms,
            shop,
            Component.TIER,
            tier=tier_info,
            flat_fee=str(flat),
            unit_amount=str(units),
        ),
    )
    lines = [(line, exact)]
    share_line = _tier_share_line(terms, shop, reached, tier_info)
    if share_line:
        lines.append(share_line)
    return lines


def _tier_share_line(terms, shop, reached, tier_info):
    """Graduated on turnover: each band's rate on its part; otherwise the top rate."""
    if terms.tier_measure == TierMeasure.TURNOVER:
        priced = [(tier.turnover_rate, portion) for _, tier, portion in reached]
    else:
        priced = [(reached[-1][1].turnover_rate, shop.turnover)]
    exact = sum((rate * base for rate, base in priced), ZERO)
    if not any(rate for rate, _ in priced):
        return None
    currency = terms.currency
    parts = " + ".join(
        f"{_percent(rate)} of {_money(base, currency)}" for rate, base in priced if rate
    )
    rule = (
        f"{terms.label}: tier {tier_info['label']}: {parts} "
        f"(turnover from {shop.order_count} orders)."
    )
    line = LineDraft(
        Component.TURNOVER_SHARE,
        "Share of turnover (tier)",
        rule,
        quantize(exact, currency),
        terms.tax_rate,
        _explain(
            terms,
            shop,
            Component.TURNOVER_SHARE,
            tier=tier_info,
            rates=[[str(rate), str(base)] for rate, base in priced],
        ),
    )
    return line, exact


# Components --------------------------------------------------------------------


def _fixed_fee_line(terms: PlanTerms, shop: ShopMonth):
    fee = terms.fixed_fee * shop.share_of_month
    rule = (
        f"{terms.label}: {_money(terms.fixed_fee, terms.currency)} per month"
        f"{_days_note(shop)}."
    )
    line = LineDraft(
        Component.FIXED_FEE,
        "Fixed fee",
        rule,
        quantize(fee, terms.currency),
        terms.tax_rate,
        _explain(terms, shop, Component.FIXED_FEE, fixed_fee=str(terms.fixed_fee)),
    )
    return line, fee


def _turnover_share_line(terms: PlanTerms, shop: ShopMonth):
    amount = terms.turnover_rate * shop.turnover
    rule = (
        f"{terms.label}: {_percent(terms.turnover_rate)} of turnover "
        f"{_money(shop.turnover, terms.currency)} from {shop.order_count} orders."
    )
    line = LineDraft(
        Component.TURNOVER_SHARE,
        "Share of turnover",
        rule,
        quantize(amount, terms.currency),
        terms.tax_rate,
        _explain(terms, shop, Component.TURNOVER_SHARE, rate=str(terms.turnover_rate)),
    )
    return line, amount


def _per_order_line(terms: PlanTerms, shop: ShopMonth):
    currency = terms.currency
    bounds = []
    if terms.per_order_floor is not None:
        bounds.append(f"at least {_money(terms.per_order_floor, currency)}")
    if terms.per_order_ceiling is not None:
        bounds.append(f"at most {_money(terms.per_order_ceiling, currency)}")
    limits = f" ({' and '.join(bounds)} an order)" if bounds else ""
    rule = (
        f"{terms.label}: {_percent(terms.per_order_rate)} of each order{limits}, "
        f"{shop.order_count} orders."
    )
    line = LineDraft(
        Component.PER_ORDER,
        "Per-order fees",
        rule,
        quantize(shop.per_order_fees, currency),
        terms.tax_rate,
        _explain(
            terms,
            shop,
            Component.PER_ORDER,
            rate=str(terms.per_order_rate),
            floor=None if terms.per_order_floor is None else str(terms.per_order_floor),
            ceiling=(
                None
                if terms.per_order_ceiling is None
                else str(terms.per_order_ceiling)
            ),
            fees=str(shop.per_order_fees),
        ),
    )
    return line, shop.per_order_fees


def _component_lines(terms: PlanTerms, shop: ShopMonth):
    """(line, exact amount) of every charging component of the plan."""
    priced = []
    if terms.fixed_fee > 0:
        priced.append(_fixed_fee_line(terms, shop))
    if terms.turnover_rate > 0:
        priced.append(_turnover_share_line(terms, shop))
    if terms.has_per_order:
        priced.append(_per_order_line(terms, shop))
    if terms.tier_measure and terms.tiers:
        priced.extend(_tier_lines(terms, shop))
    return priced


def _cap_line(terms, shop, lines, exact_total):
    """A negative line bringing the charges down to the (prorated) cap, if over it."""
    cap = terms.monthly_cap * shop.share_of_month
    if exact_total <= cap:
        return None
    # The capped total is the rounded cap, whatever the rounding of the lines; a cap
    # only ever lowers a charge, even when the lines rounded below it.
    reduction = quantize(cap, terms.currency) - sum((x.amount for x in lines), ZERO)
    if reduction >= 0:
        return None
    rule = (
        f"Charges capped at {_money(terms.monthly_cap, terms.currency)} per month"
        f"{_days_note(shop)}."
    )
    return LineDraft(
        Component.CAP,
        "Monthly cap",
        rule,
        reduction,
        terms.tax_rate,
        _explain(
            terms,
            shop,
            Component.CAP,
            cap=str(terms.monthly_cap),
            charges=str(exact_total),
        ),
    )


def _minimum_charge_line(terms, shop, lines, exact_total):
    """A line raising the charges to the (prorated) minimum charge, if under it."""
    minimum = terms.minimum_charge * shop.share_of_month
    if exact_total >= minimum:
        return None
    addition = quantize(minimum, terms.currency) - sum((x.amount for x in lines), ZERO)
    if addition <= 0:
        return None
    rule = (
        f"Minimum charge of {_money(terms.minimum_charge, terms.currency)} per month"
        f"{_days_note(shop)}."
    )
    return LineDraft(
        Component.MINIMUM_CHARGE,
        "Minimum charge",
        rule,
        addition,
        terms.tax_rate,
        _explain(
            terms,
            shop,
            Component.MINIMUM_CHARGE,
            minimum_charge=str(terms.minimum_charge),
            charges=str(exact_total),
        ),
    )


def _trial_line(terms: PlanTerms, shop: ShopMonth) -> LineDraft:
    until = f" until {shop.trial_ends_on:%Y-%m-%d}" if shop.trial_ends_on else ""
    return LineDraft(
        Component.TRIAL,
        "Free trial",
        f"Free trial{until}.",
        ZERO,
        terms.tax_rate,
        _explain(terms, shop, Component.TRIAL),
    )


def _below_minimum_line(terms: PlanTerms, shop: ShopMonth, minimum: Decimal):
    rule = (
        f"Turnover {_money(shop.turnover, terms.currency)} is under the minimum "
        f"billable turnover of {_money(minimum, terms.currency)}{_days_note(shop)}: "
        "no charge."
    )
    return LineDraft(
        Component.BELOW_MINIMUM,
        "Below minimum turnover",
        rule,
        ZERO,
        terms.tax_rate,
        _explain(
            terms,
            shop,
            Component.BELOW_MINIMUM,
            minimum_billable_turnover=str(terms.minimum_billable_turnover),
        ),
    )


def shop_lines(*, terms: PlanTerms, shop: ShopMonth) -> list[LineDraft]:
    """The lines one shop owes for its days under one plan version (`terms`)."""
    if shop.billable_days == 0:
        return [_trial_line(terms, shop)]
    minimum = terms.minimum_billable_turnover * shop.share_of_month
    if shop.turnover < minimum:
        return [_below_minimum_line(terms, shop, minimum)]
    priced = _component_lines(terms, shop)
    lines = [line for line, _ in priced]
    exact_total = sum((exact for _, exact in priced), ZERO)
    if terms.monthly_cap is not None:
        cap = _cap_line(terms, shop, lines, exact_total)
        if cap is not None:
            lines.append(cap)
            exact_total = terms.monthly_cap * shop.share_of_month
    if terms.minimum_charge is not None:
        raised = _minimum_charge_line(terms, shop, lines, exact_total)
        if raised is not None:
            lines.append(raised)
    return lines


def one_off_lines(
    *, terms: PlanTerms, shop: ShopMonth, charged: Iterable[str] = ()
) -> list[LineDraft]:
    """The plan's one-off charges the shop has not been charged yet (member capital).

    Charged on a month with billable days (so after the trial), never prorated, and
    outside the cap and minimum charge; untaxed when the charge is not taxable.
    """
    if shop.billable_days == 0:
        return []
    done = set(charged)
    lines = []
    for charge in terms.one_offs:
        if charge.code in done:
            continue
        rule = (
            f"{terms.label}: {charge.description}, "
            f"{_money(charge.amount, terms.currency)} once"
            f"{'' if charge.taxable else ', without tax'}."
        )
        explanation = _explain(
            terms, shop, Component.ONE_OFF, code=charge.code, taxable=charge.taxable
        )
        explanation.pop("window", None)
        lines.append(
            LineDraft(
                Component.ONE_OFF,
                charge.description,
                rule,
                quantize(charge.amount, terms.currency),
                terms.tax_rate if charge.taxable else ZERO,
                explanation,
                charge.code,
            )
        )
    return lines
