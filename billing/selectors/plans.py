"""Plan versions and assignments as the engine reads them (portal database)."""

from collections.abc import Iterable

from django.db.models import (
    Q,
)

from instances.models import Instance
from portal.exceptions import BillingError
from portal.periods import Month

from .. import engine
from ..models import (
    Invoice,
    InvoiceLine,
    PricingPlan,
    ShopPlanAssignment,
)
from .invoices import DEAD_STATUSES


def pricing_plan_for_month(*, instance: Instance, month: Month) -> PricingPlan:
    """The plan version in force on the first day of `month`, else the first one
    taking effect during it; BillingError when no plan bills any day of it."""
    plans = PricingPlan.objects.filter(instance=instance).select_related("instance")
    plan = (
        plans.filter(effective_from__lte=month.first_day)
        .order_by("-effective_from", "-id")
        .first()
    ) or (
        plans.filter(effective_from__lte=month.last_day)
        .order_by("effective_from", "id")
        .first()
    )
    if plan is None:
        raise BillingError(
            f"Instance {instance.slug}: no pricing plan is in force on "
            f"{month.first_day}; add one in the admin (Billing > Pricing plans)."
        )
    return plan


def plan_terms(plan: PricingPlan) -> engine.PlanTerms:
    """A plan version as the engine reads it (tiers and one-off charges included)."""
    return engine.PlanTerms(
        label=f"{plan.name} (plan of {plan.effective_from:%Y-%m-%d})",
        currency=plan.instance.currency,
        fixed_fee=plan.fixed_fee,
        turnover_rate=plan.turnover_rate,
        monthly_cap=plan.monthly_cap,
        minimum_billable_turnover=plan.minimum_billable_turnover,
        tax_rate=plan.tax_rate,
        prices_include_tax=plan.prices_include_tax,
        plan_id=plan.pk,
        code=plan.code,
        name=plan.name,
        effective_from=plan.effective_from,
        applies_to=tuple(plan.applies_to or ()),
        turnover_basis=plan.turnover_basis,
        trial_days=plan.trial_days,
        minimum_charge=plan.minimum_charge,
        per_order_rate=plan.per_order_rate,
        per_order_floor=plan.per_order_floor,
        per_order_ceiling=plan.per_order_ceiling,
        tier_measure=plan.tier_measure,
        tier_mode=plan.tier_mode,
        tiers=tuple(
            engine.Tier(t.lower_bound, t.flat_fee, t.turnover_rate, t.unit_price)
            for t in sorted(plan.tiers.all(), key=lambda t: t.lower_bound)
        ),
        one_offs=tuple(
            engine.OneOff(c.code, c.description, c.amount, c.taxable)
            for c in sorted(plan.one_off_charges.all(), key=lambda c: c.code)
        ),
    )


def plan_catalogue(*, instance: Instance, month: Month) -> engine.PlanCatalogue:
    """Every plan version that may bill a day of `month`, and the assignments in it.

    Versions that a later one replaced before the month began are left out. Raises
    BillingError when no plan bills any day of the month.
    """
    pricing_plan_for_month(instance=instance, month=month)
    plans = (
        PricingPlan.objects.filter(
            instance=instance, effective_from__lte=month.last_day
        )
        .select_related("instance")
        .prefetch_related("tiers", "one_off_charges")
        .order_by("code", "effective_from", "id")
    )
    versions = [plan_terms(plan) for plan in plans]
    assignments = [
        engine.Assignment(a.enterprise_id, a.plan_code, a.starts_on, a.ends_on)
        for a in ShopPlanAssignment.objects.filter(
            instance=instance, starts_on__lte=month.last_day
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=month.first_day))
        .order_by("enterprise_id", "starts_on", "id")
    ]
    return engine.PlanCatalogue(versions, assignments)


def one_offs_charged(
    *, instance: Instance, month: Month, enterprise_ids: Iterable[int], codes: set[str]
) -> set[tuple[int, str]]:
    """(shop, one-off code) pairs already charged on a live invoice of another month.

    Void and fully credited invoices do not count: what they charged was given back.
    """
    if not codes:
        return set()
    return set(
        InvoiceLine.objects.filter(
            invoice__instance=instance,
            invoice__kind=Invoice.Kind.INVOICE,
            one_off_code__in=sorted(codes),
            enterprise_id__in=sorted(set(enterprise_ids)),
        )
        .exclude(invoice__status__in=DEAD_STATUSES)
        .exclude(invoice__month=month.first_day)
        .values_list("enterprise_id", "one_off_code")
        .distinct()
    )
