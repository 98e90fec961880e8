"""Reads behind the plan pages: versions by code, one version whole, assignments."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from instances.models import Instance

from .models import (
    SHOP_CATEGORIES,
    Invoice,
    InvoiceLine,
    OneOffCharge,
    PlanTier,
    PricingPlan,
    ShopPlanAssignment,
)


def plan_version_list(*, instance: Instance) -> QuerySet[PricingPlan]:
    """The instance's versions by code and date, each knowing if a bill froze it.

    `billed` is true when a finalised (or later) invoice, or one of its lines, used
    the version: such a version never changes.
    """
    finalised = Invoice.objects.filter(plan=OuterRef("pk")).exclude(
        status=Invoice.Status.DRAFT
    )
    finalised_lines = InvoiceLine.objects.filter(plan=OuterRef("pk")).exclude(
        invoice__status=Invoice.Status.DRAFT
    )
    return (
        PricingPlan.objects.filter(instance=instance)
        .annotate(
            billed_by_invoice=Exists(finalised), billed_by_line=Exists(finalised_lines)
        )
        .order_by("code", "effective_from")
    )


def finalised_invoice_numbers(version: PricingPlan) -> list[str]:
    """Numbers of the finalised (or later) invoices that billed with `version`."""
    used = Invoice.objects.filter(Q(plan=version) | Q(lines__plan=version)).exclude(
        status=Invoice.Status.DRAFT
    )
    return sorted(
        {invoice.number or str(invoice.pk) for invoice in used.only("number")}
    )


def plan_version_get(*, instance: Instance, pk: int) -> PricingPlan | None:
    """One version with its tiers (lowest first) and one-off charges."""
    return (
        plan_version_list(instance=instance)
        .prefetch_related(
            Prefetch("tiers", queryset=PlanTier.objects.order_by("lower_bound")),
            Prefetch("one_off_charges", queryset=OneOffCharge.objects.order_by("id")),
        )
        .filter(pk=pk)
        .first()
    )


def plan_codes(*, instance: Instance) -> list[str]:
    return list(
        PricingPlan.objects.filter(instance=instance)
        .order_by("code")
        .values_list("code", flat=True)
        .distinct()
    )


def plan_assignment_list(*, instance: Instance) -> QuerySet[ShopPlanAssignment]:
    return ShopPlanAssignment.objects.filter(instance=instance).order_by(
        "enterprise_id", "starts_on", "id"
    )


@dataclass
class VersionRow:
    version: PricingPlan
    ends_on: dt.date | None  # the day before the next version; None: open-ended
    state: str  # "in-force", "scheduled" or "past"

    @property
    def billed(self) -> bool:
        return self.version.billed_by_invoice or self.version.billed_by_line

    @property
    def applies_text(self) -> str:
        """ "Producer shop, hub"; empty when only assigned shops use the version."""
        labels = [
            label
            for value, label in SHOP_CATEGORIES
            if value in self.version.applies_to
        ]
        return (
            ", ".join([labels[0], *(label.lower() for label in labels[1:])])
            if labels
            else ""
        )


@dataclass
class PlanGroup:
    code: str
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def current(self) -> VersionRow | None:
        return next((row for row in self.versions if row.state == "in-force"), None)

    @property
    def name(self) -> str:
        shown = self.current or self.versions[-1]
        return shown.version.name


def plan_group_list(*, instance: Instance, today: dt.date) -> list[PlanGroup]:
    """Versions grouped by plan code, each with its span and whether in force today."""
    groups: dict[str, PlanGroup] = {}
    for version in plan_version_list(instance=instance):
        groups.setdefault(version.code, PlanGroup(version.code)).versions.append(
            VersionRow(version, None, "")
        )
    for group in groups.values():
        rows = group.versions
        for row, following in zip(rows, [*rows[1:], None], strict=True):
            starts = row.version.effective_from
            if following is not None:
                row.ends_on = following.version.effective_from - dt.timedelta(days=1)
            if starts > today:
                row.state = "scheduled"
            elif row.ends_on is not None and row.ends_on < today:
                row.state = "past"
            else:
                row.state = "in-force"
    return list(groups.values())
