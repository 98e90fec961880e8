"""Reading the explanations of invoice lines: review flags and recompute differences.

Pure functions over lines (InvoiceLine rows or the line dicts a run computes) and
orders; no database access, so billing.services.runs decides when to read and write.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from instances.models.ofn import TURNOVER_STATES
from portal.money import ZERO, quantize
from portal.periods import Month

from ..models import Invoice, InvoiceLine, RecomputeProposal

Component = InvoiceLine.Component
# Notes naming orders in a proposal's reason, before "and N more".
ORDER_NOTES_SHOWN = 5


def _get(line, name: str):
    return line[name] if isinstance(line, dict) else getattr(line, name)


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@dataclass
class ShopFacts:
    """What a shop's lines on one invoice say, summed over its plan segments."""

    name: str
    amount: Decimal = ZERO
    orders: int = 0
    turnover: Decimal = ZERO
    plans: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    capped: bool = False
    below_minimum: bool = False
    trial_ends_on: dt.date | None = None
    became_shop_on: dt.date | None = None
    one_offs: list[str] = field(default_factory=list)
    segments: set = field(default_factory=set)


def _plan_label(plan: dict) -> str:
    return f"{plan.get('name') or plan.get('code')} (from {plan.get('effective_from')})"


def _segment_seen(facts: ShopFacts, line, inputs: dict, plan: dict | None) -> None:
    """Count a segment's measures once, whichever of its lines comes first."""
    facts.orders += int(inputs.get("orders", _get(line, "order_count")))
    facts.turnover += Decimal(str(inputs.get("turnover", _get(line, "turnover"))))
    if plan:
        facts.plans.append(_plan_label(plan))
    facts.trial_ends_on = _date(inputs.get("trial_ends_on")) or facts.trial_ends_on
    facts.became_shop_on = _date(inputs.get("became_shop_on")) or facts.became_shop_on


def _line_noted(facts: ShopFacts, line, component: str, inputs: dict) -> None:
    if component == Component.TIER and "tier" in inputs:
        facts.tiers.append(inputs["tier"]["label"])
    facts.capped |= component == Component.CAP
    facts.below_minimum |= component == Component.BELOW_MINIMUM
    if component == Component.ONE_OFF:
        facts.one_offs.append(_get(line, "description"))


def shop_facts(lines: Iterable) -> dict[int, ShopFacts]:
    """Each shop's charges and measures on an invoice; corrections left out."""
    facts: dict[int, ShopFacts] = {}
    for line in lines:
        component = _get(line, "component")
        if component == Component.CORRECTION:
            continue
        shop = facts.setdefault(
            _get(line, "enterprise_id"), ShopFacts(_get(line, "enterprise_name"))
        )
        shop.amount += _get(line, "amount")
        explanation = _get(line, "explanation") or {}
        inputs = explanation.get("inputs", {})
        segment = inputs.get("segment")
        if component not in (Component.ONE_OFF, Component.TRIAL) and (
            segment not in shop.segments
        ):
            shop.segments.add(segment)
            _segment_seen(shop, line, inputs, explanation.get("plan"))
        _line_noted(shop, line, component, inputs)
    return facts


# Review flags ------------------------------------------------------------------


def moved(*, before: Decimal, now: Decimal, threshold: Decimal) -> bool:
    """Whether a gross moved by more than `threshold` (a share) from `before`."""
    if before == 0:
        return now != 0
    return abs(now - before) / abs(before) > threshold


def _change_text(before: Decimal, now: Decimal, currency: str) -> str:
    if before == 0:
        return f"{quantize(before, currency)} -> {quantize(now, currency)} {currency}"
    percent = (now - before) / abs(before) * 100
    return (
        f"{quantize(before, currency)} -> {quantize(now, currency)} {currency} "
        f"({percent:+.0f} %)"
    )


def _in_month(day: dt.date | None, month: Month, *, from_day_before=False) -> bool:
    first = month.first_day - dt.timedelta(1 if from_day_before else 0)
    return day is not None and first <= day <= month.last_day


def _counts_text(name: str, before: ShopFacts, now: ShopFacts) -> list[str]:
    if now.orders == before.orders:
        return []
    more = "More" if now.orders > before.orders else "Fewer"
    return [f"{name}: {more.lower()} orders: {before.orders} -> {now.orders}."]


def _changes(name: str, before: ShopFacts, now: ShopFacts, currency: str) -> list:
    reasons = _counts_text(name, before, now)
    if now.tiers != before.tiers and (now.tiers or before.tiers):
        was = ", ".join(before.tiers) or "no tier"
        reasons.append(
            f"{name}: tier change: {was} -> {', '.join(now.tiers) or 'no tier'}."
        )
    if now.turnover != before.turnover:
        reasons.append(
            f"{name}: turnover {quantize(before.turnover, currency)} -> "
            f"{quantize(now.turnover, currency)} {currency}."
        )
    return reasons


def _events(name: str, now: ShopFacts, month: Month) -> list[str]:
    reasons = []
    if _in_month(now.became_shop_on, month):
        reasons.append(f"{name} became a shop on {now.became_shop_on}.")
    if _in_month(now.trial_ends_on, month, from_day_before=True):
        reasons.append(f"{name}: free trial ended on {now.trial_ends_on}.")
    if now.capped:
        reasons.append(f"{name}: cap reached.")
    if now.below_minimum:
        reasons.append(f"{name}: under the minimum billable turnover.")
    reasons.extend(f"{name}: one-off charge: {charge}." for charge in now.one_offs)
    return reasons


def _plan_change(name: str, before: ShopFacts | None, now: ShopFacts) -> list[str]:
    """The plan versions of the month, when more than one, or not last month's."""
    chain = list(now.plans)
    was = before.plans[-1] if before is not None and before.plans else None
    if was is not None and chain[:1] != [was]:
        chain.insert(0, was)
    if len(chain) < 2:
        return []
    return [f"{name}: plan changed: {' -> '.join(chain)}."]


def _shop_reasons(now_facts, before_facts, month: Month, currency: str) -> list[str]:
    reasons = []
    for shop_id in sorted(set(now_facts) | set(before_facts)):
        now, before = now_facts.get(shop_id), before_facts.get(shop_id)
        if now is None:
            reasons.append(f"{before.name}: no longer billed.")
            continue
        if before is None and before_facts:
            reasons.append(f"{now.name}: new on this invoice.")
        if before is not None:
            reasons.extend(_changes(now.name, before, now, currency))
        reasons.extend(_plan_change(now.name, before, now))
        reasons.extend(_events(now.name, now, month))
    return reasons


def review_flags(
    *,
    lines: list,
    gross: Decimal,
    previous: Invoice | None,
    month: Month,
    currency: str,
    threshold: Decimal,
) -> list[str]:
    """Why a draft needs a look, or [] when it moved by at most the threshold.

    Compared with the same subject's invoice of the previous month: a new subject is
    always flagged; the reasons come from the lines' explanations.
    """
    previous_month = month.previous()
    if previous is None:
        head = f"New billing subject: no invoice for {previous_month}."
        before_lines = []
    else:
        if not moved(before=previous.gross, now=gross, threshold=threshold):
            return []
        change = _change_text(previous.gross, gross, currency)
        head = f"Gross {change} since {previous_month}."
        before_lines = list(previous.lines.all())
    reasons = _shop_reasons(
        shop_facts(lines), shop_facts(before_lines), month, currency
    )
    reasons.extend(
        f"{_get(line, 'description')}: {quantize(_get(line, 'amount'), currency)} "
        f"{currency}."
        for line in lines
        if _get(line, "component") == Component.CORRECTION
    )
    return [head, *reasons]


# Recompute differences ---------------------------------------------------------


ACCEPTED = (RecomputeProposal.Status.CORRECTION, RecomputeProposal.Status.CREDIT_NOTE)


@dataclass(frozen=True)
class ShopDifference:
    """A shop whose recomputed charge differs from what its finalised invoice says.

    `invoiced` already counts the differences the manager accepted before (credit
    notes, corrections), so only what is still unsettled is proposed.
    """

    invoice: Invoice
    enterprise_id: int
    name: str
    invoiced: Decimal
    recomputed: Decimal
    invoiced_turnover: Decimal
    recomputed_turnover: Decimal
    invoiced_orders: int
    recomputed_orders: int

    @property
    def difference(self) -> Decimal:
        return self.recomputed - self.invoiced


def _decided(invoice: Invoice):
    accepted: dict[int, Decimal] = defaultdict(Decimal)
    dismissed: dict[int, Decimal] = {}
    decided = [p for p in invoice.proposals.all() if p.status in ACCEPTED]
    for proposal in decided:
        accepted[proposal.enterprise_id] += proposal.difference
    closed = sorted(
        (p for p in invoice.proposals.all() if p.status != p.Status.PROPOSED),
        key=lambda p: (p.decided_at or p.updated_at, p.pk),
    )
    for proposal in closed:
        # The last decision stands: a dismissed figure is not proposed again.
        if proposal.status == RecomputeProposal.Status.DISMISSED:
            dismissed[proposal.enterprise_id] = proposal.recomputed_amount
        else:
            dismissed.pop(proposal.enterprise_id, None)
    return accepted, dismissed


def shop_differences(*, invoice: Invoice, rows: list) -> list[ShopDifference]:
    """Per shop, the recomputed charges (`rows`) against the finalised `invoice`."""
    before = shop_facts(invoice.lines.all())
    now = shop_facts(rows)
    accepted, dismissed = _decided(invoice)
    differences = []
    for shop_id in sorted(set(before) | set(now)):
        old = before.get(shop_id) or ShopFacts(now[shop_id].name)
        new = now.get(shop_id) or ShopFacts(old.name)
        invoiced = old.amount + accepted.get(shop_id, ZERO)
        if new.amount == invoiced or dismissed.get(shop_id) == new.amount:
            continue
        differences.append(
            ShopDifference(
                invoice=invoice,
                enterprise_id=shop_id,
                name=old.name,
                invoiced=invoiced,
                recomputed=new.amount,
                invoiced_turnover=old.turnover,
                recomputed_turnover=new.turnover,
                invoiced_orders=old.orders,
                recomputed_orders=new.orders,
            )
        )
    return differences


def _order_note(order, frozen_total: Decimal | None, basis: str, currency: str):
    """What happened to one order since finalisation, or None if nothing did."""
    if frozen_total is None:
        if order.state in TURNOVER_STATES:
            return f"order {order.number} added after finalisation"
        return None
    if order.state not in TURNOVER_STATES:
        state = "cancelled" if order.state == "canceled" else f"now {order.state}"
        return f"order {order.number} {state} after finalisation"
    now = order.amount(basis)
    if now != frozen_total:
        return (
            f"order {order.number} edited after finalisation: "
            f"{quantize(frozen_total, currency)} -> {quantize(now, currency)}"
        )
    return None


def order_notes(
    *, frozen: dict[int, Decimal], orders: Iterable, basis: str, currency: str
) -> list[str]:
    """Notes on a shop's orders: cancelled, edited or added since finalisation.

    `frozen` maps the order ids frozen at finalisation to their amounts; without any
    (an invoice finalised before orders were frozen) nothing can be said per order.
    """
    if not frozen:
        return []
    notes = [
        note
        for order in orders
        if (note := _order_note(order, frozen.get(order.order_id), basis, currency))
    ]
    if len(notes) > ORDER_NOTES_SHOWN:
        more = len(notes) - ORDER_NOTES_SHOWN
        notes = [*notes[:ORDER_NOTES_SHOWN], f"and {more} more"]
    return notes


def difference_reason(
    difference: ShopDifference, notes: list[str], currency: str
) -> str:
    """`order R000000123 cancelled after finalisation: turnover 250.00 -> 200.00`."""
    d = difference
    if d.recomputed_turnover != d.invoiced_turnover:
        figures = (
            f"turnover {quantize(d.invoiced_turnover, currency)} -> "
            f"{quantize(d.recomputed_turnover, currency)}"
        )
    else:
        figures = (
            f"charges {quantize(d.invoiced, currency)} -> "
            f"{quantize(d.recomputed, currency)}"
        )
    if not notes and d.recomputed_orders != d.invoiced_orders:
        figures += f", orders {d.invoiced_orders} -> {d.recomputed_orders}"
    return f"{', '.join(notes)}: {figures}" if notes else figures
