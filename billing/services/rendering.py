"""Rendering state that survives a dead worker (case C06).

A render marks its start on the invoice (`pdf_render_started_at`, "rendering") before
it draws anything. A worker killed mid-render (out of memory, SIGKILL, a lost node)
cannot record a failure, so `invoice_render_sweep` finds renders that have been
"rendering" for longer than any render may run, marks them "render failed" with the
reason, and queues them again. An invoice that keeps killing its workers is left
failed for a person after RENDER_REQUEUE_LIMIT interruptions.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.models import AuditEvent

from ..models import Invoice
from ..pdf import invoice_render_pdf

logger = logging.getLogger(__name__)

RENDER_INTERRUPTED = "invoice.pdf_render_interrupted"
RENDER_REQUEUE_LIMIT = 3


def invoice_render(*, invoice: Invoice) -> None:
    """Render `invoice`'s PDF, recording when the render started."""
    now = timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(
        pdf_status=Invoice.PdfStatus.RENDERING,
        pdf_render_started_at=now,
        updated_at=now,
    )
    invoice.pdf_render_started_at = now
    invoice_render_pdf(invoice=invoice)


def invoice_render_sweep(*, as_of: dt.datetime | None = None) -> list[int]:
    """Fail and re-queue renders stuck in "rendering"; the ids queued again."""
    from ..tasks.runs import invoice_render_task

    cutoff = (as_of or timezone.now()) - dt.timedelta(
        minutes=settings.BILLING_RENDER_STUCK_AFTER_MINUTES
    )
    stuck = Invoice.objects.filter(
        pdf_status=Invoice.PdfStatus.RENDERING, pdf_render_started_at__lt=cutoff
    ).select_related("instance")
    requeued = []
    for invoice in stuck:
        with transaction.atomic():
            if not _render_fail_stuck(invoice, cutoff=cutoff):
                continue
            if _interruptions(invoice) <= RENDER_REQUEUE_LIMIT:
                requeued.append(invoice.pk)
                transaction.on_commit(
                    lambda pk=invoice.pk: invoice_render_task.delay(pk), robust=True
                )
        logger.warning(
            "Invoice PDF render interrupted",
            extra={
                "instance": invoice.instance.slug,
                "invoice": invoice.pk,
                "requeued": invoice.pk in requeued,
            },
        )
    return requeued


def _render_fail_stuck(invoice: Invoice, *, cutoff: dt.datetime) -> bool:
    reason = (
        "Render interrupted: the worker stopped before finishing "
        f"(started {invoice.pdf_render_started_at:%Y-%m-%d %H:%M} UTC)."
    )
    # Conditional: a render that finished meanwhile keeps its result.
    changed = Invoice.objects.filter(
        pk=invoice.pk,
        pdf_status=Invoice.PdfStatus.RENDERING,
        pdf_render_started_at__lt=cutoff,
    ).update(
        pdf_status=Invoice.PdfStatus.FAILED,
        pdf_error=reason,
        updated_at=timezone.now(),
    )
    if changed:
        audit_record(
            action=RENDER_INTERRUPTED,
            target=invoice,
            instance=invoice.instance,
            reason=reason,
        )
    return bool(changed)


def _interruptions(invoice: Invoice) -> int:
    return AuditEvent.objects.filter(
        action=RENDER_INTERRUPTED,
        object_type=Invoice._meta.label,
        object_id=str(invoice.pk),
    ).count()
