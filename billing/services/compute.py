"""Computing a month's charges: every billing subject's lines, read from the replica.

A fixed number of replica queries whatever the number of shops or orders: shops, their
history, one aggregate of the order measures of every plan segment, registered
customers when a plan needs them, owners; plus, for a recompute of finalised invoices,
one bounded query for the orders behind the differences. Nothing is written here.
"""

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal

from instances.models import Instance
from portal.money import ZERO
from portal.periods import Month, local_date

from .. import engine, selectors
from ..models import (
    Invoice,
    PricingPlan,
)
from . import review

plan_terms = selectors.plan_terms


@dataclass
class SubjectDraft:
    """A billing subject's computed lines, and its details as OFN prefills them."""

    key: str
    name: str
    email: str
    lines: list[dict]
    address: str = ""
    categories: dict[int, str] = field(default_factory=dict)


def _catalogue(instance, month, plan) -> engine.PlanCatalogue:
    if plan is not None:
        return engine.PlanCatalogue([plan_terms(plan)])
    return selectors.plan_catalogue(instance=instance, month=month)


def _became_shop_on(shop, time_zone: str):
    if shop.became_shop_at is None:
        return None
    return local_date(shop.became_shop_at, time_zone)


@dataclass
class _Measures:
    windows: dict
    sales: dict
    customers: dict


def _measures(*, instance, month, shops, plans) -> _Measures:
    """Every segment's window and measures: one order aggregate, one customer count."""
    windows, per_order, customer_shops = {}, {}, set()
    for shop in shops:
        for segment in plans[shop.enterprise_id].segments:
            key = (shop.enterprise_id, segment.index)
            terms = segment.terms
            windows[key] = selectors.measure_window(
                instance=instance,
                shop_id=shop.enterprise_id,
                days=segment.days,
                basis=terms.turnover_basis,
            )
            if terms.has_per_order:
                per_order[key] = selectors.PerOrder(
                    terms.turnover_basis,
                    terms.per_order_rate,
                    terms.per_order_floor,
                    terms.per_order_ceiling,
                )
            if selectors.uses_customers(terms):
                customer_shops.add(shop.enterprise_id)
    sales = {}
    if windows:
        sales = selectors.segment_sales(
            instance=instance, month=month, windows=windows, per_order=per_order
        )
    customers = selectors.registered_customers(
        instance=instance, month=month, shop_ids=customer_shops
    )
    return _Measures(windows, sales, customers)


def _segment_month(shop, segment, measures: _Measures, month, became_on):
    key = (shop.enterprise_id, segment.index)
    sales = measures.sales.get(key) or selectors.SegmentSales(ZERO, 0)
    return engine.ShopMonth(
        enterprise_id=shop.enterprise_id,
        name=shop.name,
        category=shop.category,
        billable_days=len(segment.days),
        days_in_month=month.days,
        turnover=sales.turnover,
        order_count=sales.order_count,
        trial_ends_on=segment.trial_ends_on,
        per_order_fees=sales.per_order_fees,
        customers=measures.customers.get(shop.enterprise_id, 0),
        became_shop_on=became_on,
        segment=segment.index,
        window=measures.windows[key],
    )


def _trial_rows(shop, shop_plan, month, became_on) -> list[dict]:
    shop_month = engine.ShopMonth(
        enterprise_id=shop.enterprise_id,
        name=shop.name,
        category=shop.category,
        billable_days=0,
        days_in_month=month.days,
        turnover=ZERO,
        order_count=0,
        trial_ends_on=shop_plan.trial_ends_on,
        became_shop_on=became_on,
    )
    terms = shop_plan.trial_terms
    return [
        _line_row(shop_month, line, terms)
        for line in engine.shop_lines(terms=terms, shop=shop_month)
    ]


def _shop_rows(*, shop, shop_plan, measures, month, time_zone, charged) -> list[dict]:
    """A shop's lines for the month: each plan segment's, then one-off charges."""
    became_on = _became_shop_on(shop, time_zone)
    if not shop_plan.segments:
        return _trial_rows(shop, shop_plan, month, became_on)
    rows, one_offs = [], []
    done = {code for shop_id, code in charged if shop_id == shop.enterprise_id}
    for segment in shop_plan.segments:
        shop_month = _segment_month(shop, segment, measures, month, became_on)
        rows.extend(
            _line_row(shop_month, line, segment.terms)
            for line in engine.shop_lines(terms=segment.terms, shop=shop_month)
        )
        if not _joins_in(month, segment.terms, became_on):
            continue
        for line in engine.one_off_lines(
            terms=segment.terms, shop=shop_month, charged=done
        ):
            done.add(line.one_off_code)
            one_offs.append(_line_row(shop_month, line, segment.terms))
    return rows + one_offs


def _joins_in(month: Month, terms: engine.PlanTerms, became_on) -> bool:
    """Whether the shop's first billable day (after its trial) falls in `month`.

    One-off charges go on the invoice of that month only: a shop that was billable
    before the portal (or the plan's one-off charge) existed has settled them already.
    """
    if became_on is None:
        return False
    first = became_on + dt.timedelta(terms.trial_days)
    return month.first_day <= first <= month.last_day


def _line_row(shop: engine.ShopMonth, line: engine.LineDraft, terms) -> dict:
    return {
        "enterprise_id": shop.enterprise_id,
        "enterprise_name": shop.name,
        "category": shop.category,
        "component": line.component,
        "description": line.description,
        "rule": line.rule,
        "explanation": line.explanation,
        "plan_id": terms.plan_id,
        "turnover": shop.turnover,
        "order_count": shop.order_count,
        "billable_days": shop.billable_days,
        "days_in_month": shop.days_in_month,
        "tax_rate": line.tax_rate,
        "amount": line.amount,
        "one_off_code": line.one_off_code,
        "prices_include_tax": terms.prices_include_tax,
    }


def _new_subject(shop, owners) -> SubjectDraft:
    if shop.external_billing_id:
        # Shared by several shops: the first shop (lowest id) names the subject.
        return SubjectDraft(shop.subject_key, shop.name, "", [])
    owner = owners.get(shop.owner_id)
    if owner is None:
        return SubjectDraft(shop.subject_key, f"Owner #{shop.owner_id}", "", [])
    name = owner.invoice_name or f"Owner #{shop.owner_id}"
    return SubjectDraft(shop.subject_key, name, owner.email, [], owner.address)


def _shop_plans(*, instance, month, shops, catalogue) -> dict:
    return {
        shop.enterprise_id: engine.shop_segments(
            catalogue=catalogue,
            enterprise_id=shop.enterprise_id,
            category=shop.category,
            shop_days=shop.shop_days,
            became_shop_on=_became_shop_on(shop, instance.time_zone),
        )
        for shop in shops
    }


def _one_offs_charged(*, instance, month, shops, plans) -> set[tuple[int, str]]:
    codes = {
        charge.code
        for shop_plan in plans.values()
        for segment in shop_plan.segments
        for charge in segment.terms.one_offs
    }
    return selectors.one_offs_charged(
        instance=instance,
        month=month,
        enterprise_ids=[shop.enterprise_id for shop in shops],
        codes=codes,
    )


def billing_compute(
    *, instance: Instance, month: Month, plan: PricingPlan | None = None
) -> list[SubjectDraft]:
    """Every subject's lines for `month`, read from the replica (no portal writes).

    Without `plan`, each local day of each shop is billed by the plan version in force
    that day (assignments first, then the plan of the shop's category); with `plan`,
    that one version bills the shops of its categories.
    """
    catalogue = _catalogue(instance, month, plan)
    shops = selectors.shop_records(instance=instance, month=month)
    plans = _shop_plans(
        instance=instance, month=month, shops=shops, catalogue=catalogue
    )
    shops = [
        shop
        for shop in shops
        if plans[shop.enterprise_id].segments or plans[shop.enterprise_id].trial_days
    ]
    measures = _measures(instance=instance, month=month, shops=shops, plans=plans)
    owners = selectors.owner_details(
        instance=instance,
        owner_ids={shop.owner_id for shop in shops if not shop.external_billing_id},
    )
    charged = _one_offs_charged(
        instance=instance, month=month, shops=shops, plans=plans
    )
    subjects: dict[str, SubjectDraft] = {}
    for shop in shops:
        subject = subjects.setdefault(shop.subject_key, _new_subject(shop, owners))
        subject.categories[shop.enterprise_id] = shop.category
        subject.lines.extend(
            _shop_rows(
                shop=shop,
                shop_plan=plans[shop.enterprise_id],
                measures=measures,
                month=month,
                time_zone=instance.time_zone,
                charged=charged,
            )
        )
    return [
        s for s in subjects.values() if any(row["billable_days"] for row in s.lines)
    ]


# Recompute of finalised invoices (portal and replica reads) --------------------


def _finalised_invoices(*, instance, month):
    return list(
        selectors.live_invoice_list(instance=instance, month=month)
        .exclude(status=Invoice.Status.DRAFT)
        .prefetch_related("lines__orders", "proposals")
    )


def _frozen_orders(invoice: Invoice, shop_id: int) -> dict[int, Decimal]:
    return {
        order.order_id: order.total
        for line in invoice.lines.all()
        if line.enterprise_id == shop_id
        for order in line.orders.all()
    }


def _basis(rows: list[dict], shop_id: int) -> str:
    for row in rows:
        window = (row["explanation"] or {}).get("window")
        if row["enterprise_id"] == shop_id and window:
            return window["basis"]
    return "total"


def recompute_notes(
    *, instance: Instance, month: Month, subjects: list[SubjectDraft]
) -> dict[tuple[int, int], list[str]]:
    """Per (finalised invoice, shop) that differs now, what changed in its orders.

    One bounded replica query for every differing shop: the orders frozen at
    finalisation and those in the recomputed windows.
    """
    rows_of = {subject.key: subject.lines for subject in subjects}
    differing = [
        (difference, rows_of.get(invoice.subject_key, []))
        for invoice in _finalised_invoices(instance=instance, month=month)
        for difference in review.shop_differences(
            invoice=invoice, rows=rows_of.get(invoice.subject_key, [])
        )
    ]
    if not differing:
        return {}
    frozen = {
        (d.invoice.pk, d.enterprise_id): _frozen_orders(d.invoice, d.enterprise_id)
        for d, _ in differing
    }
    windows = {
        json.dumps(row["explanation"]["window"], sort_keys=True): row["explanation"][
            "window"
        ]
        for d, rows in differing
        for row in rows
        if row["enterprise_id"] == d.enterprise_id
        and (row["explanation"] or {}).get("window")
    }
    orders = selectors.orders_now(
        instance=instance,
        order_ids=[order_id for ids in frozen.values() for order_id in ids],
        windows=windows.values(),
    )
    return {
        (d.invoice.pk, d.enterprise_id): review.order_notes(
            frozen=frozen[(d.invoice.pk, d.enterprise_id)],
            orders=[o for o in orders if o.shop_id == d.enterprise_id],
            basis=_basis(rows, d.enterprise_id),
            currency=instance.currency,
        )
        for d, rows in differing
    }
