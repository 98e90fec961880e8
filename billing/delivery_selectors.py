"""Reads behind the send panels of the run and invoice pages (rule 12's send log)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from instances.models import Instance
from portal.masking import mask_email

from .models import BillingRun, Delivery, Invoice

# Deliveries that stop "Send finalised invoices" from sending an invoice again: it
# left, may have left, or is leaving. Only a failed claim (nothing left) does not.
LIVE_DELIVERY = [
    Delivery.Status.CLAIMED,
    Delivery.Status.HANDED_OVER,
    Delivery.Status.DELIVERED,
    Delivery.Status.BOUNCED,
    Delivery.Status.UNKNOWN,
]


@dataclass(frozen=True)
class RunSendSummary:
    """Counts of a run's invoices by send state, and its deliveries by status."""

    to_send: int
    waiting_for_pdf: int
    pdf_failed: int
    no_email: int
    sent: int
    # (status value, label, count) for every status with a delivery, in model order.
    deliveries: list[tuple[str, str, int]]


def run_send_summary(*, instance: Instance, run: BillingRun) -> RunSendSummary:
    """What "Send finalised invoices" would do now, and what was sent (2 queries)."""
    finalised = Q(status=Invoice.Status.FINALISED)
    pdf_failed = Q(pdf_status=Invoice.PdfStatus.FAILED)
    pdf_waiting = ~Q(pdf_status=Invoice.PdfStatus.RENDERED) & ~pdf_failed
    live = Delivery.objects.filter(invoice=OuterRef("pk"), status__in=LIVE_DELIVERY)
    counts = (
        Invoice.objects.filter(instance=instance, run=run)
        .annotate(has_live_delivery=Exists(live))
        .aggregate(
            to_send=Count(
                "pk",
                filter=finalised
                & ~Q(subject_email="")
                & ~pdf_failed
                & Q(has_live_delivery=False),
            ),
            waiting_for_pdf=Count("pk", filter=finalised & pdf_waiting),
            pdf_failed=Count("pk", filter=finalised & pdf_failed),
            no_email=Count("pk", filter=finalised & Q(subject_email="")),
            sent=Count("pk", filter=Q(status=Invoice.Status.SENT)),
        )
    )
    by_status = dict(
        Delivery.objects.filter(invoice__instance=instance, invoice__run=run)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    deliveries = [
        (status.value, status.label, by_status[status.value])
        for status in Delivery.Status
        if by_status.get(status.value)
    ]
    return RunSendSummary(deliveries=deliveries, **counts)


@dataclass(frozen=True)
class DeliveryRow:
    """One line of an invoice's send log, as its reader may see it."""

    key: str
    attempt: int
    claimed_at: dt.datetime
    handed_over_at: dt.datetime | None
    recipient: str
    status: str
    status_label: str
    provider_message_id: str
    error: str
    last_event: dict | None


def delivery_log(
    *, instance: Instance, invoice: Invoice, reveal_recipient: bool
) -> list[DeliveryRow]:
    """The invoice's deliveries, newest first; the address masked unless revealed
    (rule 11: managers need it, accountants do not)."""
    deliveries = Delivery.objects.filter(
        invoice__instance=instance, invoice=invoice
    ).order_by("-created_at", "-id")
    return [
        DeliveryRow(
            key=delivery.key,
            attempt=int(delivery.key.rsplit(":", 1)[1]),
            claimed_at=delivery.created_at,
            handed_over_at=delivery.handed_over_at,
            recipient=(
                delivery.recipient
                if reveal_recipient
                else mask_email(delivery.recipient)
            ),
            status=delivery.status,
            status_label=delivery.get_status_display(),
            provider_message_id=delivery.provider_message_id,
            error=delivery.error,
            last_event=delivery.events[-1] if delivery.events else None,
        )
        for delivery in deliveries
    ]
