"""Celery entry points: thin adapters that load rows by id and call one service."""

import logging

from celery import shared_task

from instances.models import Instance
from portal.exceptions import ReplicaUnavailable
from portal.periods import Month

from ..models import Invoice
from ..services import billing_run_execute
from ..services.rendering import invoice_render, invoice_render_sweep

logger = logging.getLogger(__name__)


@shared_task(
    name="billing.run_month",
    autoretry_for=(ReplicaUnavailable,),
    retry_backoff=60,
    max_retries=3,
    acks_late=True,
)
def billing_run_task(instance_id: int, month: str) -> int:
    """Compute a month's drafts, then fan out one render task per changed invoice."""
    instance = Instance.objects.get(pk=instance_id)
    run = billing_run_execute(instance=instance, month=Month.parse(month))
    pending = run.invoices.filter(pdf_status=Invoice.PdfStatus.PENDING)
    invoice_ids = list(pending.values_list("pk", flat=True))
    for invoice_id in invoice_ids:
        invoice_render_task.delay(invoice_id)
    logger.info(
        "Billing run renders queued",
        extra={
            "instance": instance.slug,
            "month": month,
            "run": run.pk,
            "renders": len(invoice_ids),
        },
    )
    return run.pk


@shared_task(
    name="billing.render_invoice",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=3,
    acks_late=True,
    # A render that kills its worker is not redelivered in a loop: the message is
    # acknowledged and the stuck-render sweep re-queues it, a bounded number of times.
    reject_on_worker_lost=False,
    soft_time_limit=5 * 60,
    time_limit=6 * 60,
)
def invoice_render_task(invoice_id: int) -> None:
    """Render one invoice's PDF; its state ("render failed"...) is on the invoice."""
    invoice = Invoice.objects.select_related("instance").filter(pk=invoice_id).first()
    if invoice is None:
        # A recompute deleted the draft after queueing its render.
        logger.info("Invoice to render is gone", extra={"invoice": invoice_id})
        return
    invoice_render(invoice=invoice)


@shared_task(name="billing.sweep_renders", acks_late=True, time_limit=300)
def invoice_render_sweep_task() -> int:
    """Periodic: renders lost with their worker become "render failed", re-queued."""
    return len(invoice_render_sweep())
