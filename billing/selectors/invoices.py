"""Billing runs and invoices, and what the run page shows for review (portal)."""

from dataclasses import dataclass

from django.db.models import (
    QuerySet,
)

from instances.models import Instance
from portal.periods import Month

from ..models import (
    BillingRun,
    Invoice,
    RecomputeProposal,
)

# Invoices that no longer count: cancelled, or fully credited.
DEAD_STATUSES = (Invoice.Status.VOID, Invoice.Status.CREDITED)


def billing_run_list(*, instance: Instance) -> QuerySet[BillingRun]:
    return BillingRun.objects.filter(instance=instance).order_by("-month")


def invoice_list(
    *, instance: Instance, run: BillingRun | None = None
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(instance=instance).select_related("run")
    if run is not None:
        invoices = invoices.filter(run=run)
    return invoices


def live_invoice_list(*, instance: Instance, month: Month) -> QuerySet[Invoice]:
    """The month's invoices that count: not credit notes, not void, not credited."""
    return Invoice.objects.filter(
        instance=instance, month=month.first_day, kind=Invoice.Kind.INVOICE
    ).exclude(status__in=DEAD_STATUSES)


@dataclass(frozen=True)
class RunReview:
    """What the run page shows for review.

    `flagged`: the run's invoices whose gross moved more than the threshold from the
    previous month (or whose subject is new), with `review_flags` saying why.
    `dropped`: the previous month's invoices whose subject has none this month.
    `proposals`: open recompute proposals of finalised invoices of the month.
    """

    flagged: QuerySet[Invoice]
    dropped: QuerySet[Invoice]
    proposals: QuerySet[RecomputeProposal]


def run_review(*, instance: Instance, run: BillingRun) -> RunReview:
    month = Month.from_date(run.month)
    live = live_invoice_list(instance=instance, month=month)
    flagged = (
        live.filter(run=run)
        .exclude(review_flags=[])
        .exclude(review_flags__isnull=True)
        .order_by("subject_name", "id")
    )
    dropped = (
        live_invoice_list(instance=instance, month=month.previous())
        .exclude(subject_key__in=live.values("subject_key"))
        .order_by("subject_name", "id")
    )
    proposals = (
        RecomputeProposal.objects.filter(
            run=run,
            invoice__instance=instance,
            status=RecomputeProposal.Status.PROPOSED,
        )
        .select_related("invoice")
        .order_by("invoice__subject_name", "enterprise_id")
    )
    return RunReview(flagged=flagged, dropped=dropped, proposals=proposals)
