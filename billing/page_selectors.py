"""Reads behind the billing pages: every figure a row shows comes with the row."""

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.shortcuts import get_object_or_404

from instances.models import Instance
from portal.models import AuditEvent, Membership, Role
from portal.money import ZERO

from .models import (
    BillingRun,
    Invoice,
    InvoiceLine,
    InvoiceLineOrder,
    RecomputeProposal,
)


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


def recompute_proposal_open_list(
    *, instance: Instance, run: BillingRun
) -> QuerySet[RecomputeProposal]:
    """Differences of the run's finalised invoices still waiting for a decision."""
    return (
        RecomputeProposal.objects.filter(
            run=run,
            invoice__instance=instance,
            status=RecomputeProposal.Status.PROPOSED,
        )
        .select_related("invoice")
        .order_by("invoice__subject_name", "enterprise_name", "id")
    )


def invoice_page_get(*, instance: Instance, pk: int) -> Invoice:
    """One invoice of the instance with its run, lines and credit notes; else 404."""
    return get_object_or_404(
        Invoice.objects.filter(instance=instance)
        .select_related("run", "credited_invoice")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")),
            Prefetch("credit_notes", queryset=Invoice.objects.order_by("number", "id")),
        ),
        pk=pk,
    )


def invoice_history_list(*, instance: Instance, invoice: Invoice) -> QuerySet:
    """The audit trail of an invoice and of the recompute proposals about it."""
    proposal_ids = (
        RecomputeProposal.objects.filter(invoice=invoice)
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    return (
        AuditEvent.objects.filter(instance=instance)
        .filter(
            Q(object_type=Invoice._meta.label, object_id=str(invoice.pk))
            | Q(
                object_type=RecomputeProposal._meta.label,
                object_id__in=proposal_ids,
            )
        )
        .order_by("created_at", "id")
    )


def invoice_line_get(*, instance: Instance, invoice_pk: int, pk: int) -> InvoiceLine:
    """A line of one of the instance's invoices, with its invoice; else 404."""
    return get_object_or_404(
        InvoiceLine.objects.filter(
            invoice__instance=instance, invoice_id=invoice_pk
        ).select_related("invoice"),
        pk=pk,
    )


def line_order_frozen_list(
    *, instance: Instance, line: InvoiceLine
) -> QuerySet[InvoiceLineOrder]:
    """The orders frozen behind a finalised invoice's line, oldest first."""
    return InvoiceLineOrder.objects.filter(
        line=line, line__invoice__instance=instance
    ).order_by("completed_at", "order_id")


def user_manages_instance(*, instance: Instance, user) -> bool:
    """Global admins and the instance's managers may change its invoices.

    The answer is kept on the user object, which lives for one request, so the
    page and each of its include slots can ask without a query apiece.
    """
    if user.is_superuser:
        return True
    known = user.__dict__.setdefault("_manages_instance", {})
    if instance.pk not in known:
        known[instance.pk] = Membership.objects.filter(
            user=user, instance=instance, role=Role.MANAGER
        ).exists()
    return known[instance.pk]
