"""Reads behind the billing pages: every figure a row shows comes with the row."""

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from instances.models import Instance
from portal.money import ZERO

from .models import BillingRun, Invoice


def _total(field: str) -> Coalesce:
    money = DecimalField(max_digits=14, decimal_places=4)
    return Coalesce(Sum(field), Value(ZERO), output_field=money)


def billing_run_summary_list(*, instance: Instance) -> QuerySet[BillingRun]:
    """The instance's runs, latest month first, with their invoice count and totals.

    Every invoice of a run is in the instance's currency, so the totals add up.
    """
    return (
        BillingRun.objects.filter(instance=instance)
        .annotate(
            invoice_count=Count("invoices"),
            draft_count=Count(
                "invoices", filter=Q(invoices__status=Invoice.Status.DRAFT)
            ),
            failed_pdf_count=Count(
                "invoices", filter=Q(invoices__pdf_status=Invoice.PdfStatus.FAILED)
            ),
            total_net=_total("invoices__net"),
            total_tax=_total("invoices__tax"),
            total_gross=_total("invoices__gross"),
        )
        .order_by("-month")
    )


def invoice_summary_list(*, instance: Instance, run: BillingRun) -> QuerySet[Invoice]:
    """The run's invoices with the number of shops each bills, by subject name."""
    return (
        Invoice.objects.filter(instance=instance, run=run)
        .annotate(shop_count=Count("lines__enterprise_id", distinct=True))
        .order_by("subject_name", "id")
    )
