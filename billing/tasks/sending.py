"""Celery entry points for sending invoices: thin adapters around services.sending."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from ..models import Invoice
from ..services.deliveries import delivery_sweep_unknown
from ..services.sending import TRANSIENT_SEND_ERRORS, InvoiceNotReady, invoice_send

logger = logging.getLogger(__name__)


@shared_task(
    name="billing.send_invoice",
    # Retried only when nothing was handed over: the server could not be reached, or
    # the PDF is still rendering. A retry reuses the key, so it sends at most once.
    autoretry_for=(*TRANSIENT_SEND_ERRORS, InvoiceNotReady),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=6,
    acks_late=True,
    soft_time_limit=120,
    time_limit=150,
)
def invoice_send_task(
    invoice_id: int, attempt: int = 1, actor_id: int | None = None
) -> str | None:
    """Email one invoice under its attempt's key; the key, or None if a copy had it."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    invoice = Invoice.objects.select_related("instance").get(pk=invoice_id)
    delivery = invoice_send(invoice=invoice, actor=actor, attempt=attempt)
    return delivery.key if delivery is not None else None


@shared_task(name="billing.sweep_deliveries", acks_late=True, time_limit=300)
def delivery_sweep_task() -> int:
    """Periodic: claims never handed over become "unknown" for review (rule 12)."""
    return delivery_sweep_unknown()
