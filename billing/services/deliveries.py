"""Invoice deliveries after the hand-over: review of lost claims, provider events.

A claim never followed by a recorded hand-over (its worker died) turns "unknown"
(rule 12); a provider's tracking webhook (django-anymail) reports "delivered" or
"bounced", recorded on the delivery by its message id, or by the key the email
carried in its metadata.
"""

import datetime as dt
import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.masking import mask_email

from ..models import Delivery

logger = logging.getLogger(__name__)

Status = Delivery.Status
# Provider events that change what the send log says; others are only recorded.
EVENT_STATUS = {
    "delivered": Status.DELIVERED,
    "bounced": Status.BOUNCED,
    "rejected": Status.BOUNCED,
    "failed": Status.BOUNCED,
}
# A bounce is final: a "delivered" event arriving after it does not hide it.
EVENT_MAY_CHANGE = {
    Status.CLAIMED,
    Status.UNKNOWN,
    Status.HANDED_OVER,
    Status.DELIVERED,
}
# An address inside an error text (SMTP and providers quote the recipients refused).
EMAIL_ADDRESS = re.compile(r"[^\s'\"<>(),;:]+@[^\s'\"<>(),;:]+")


def text_masked(text: str) -> str:
    """`text` with every email address in it masked (rule 11)."""
    return EMAIL_ADDRESS.sub(lambda match: mask_email(match.group()), text)


def _log(delivery: Delivery) -> dict:
    return {
        "instance": delivery.invoice.instance.slug,
        "invoice": delivery.invoice_id,
        "delivery": delivery.key,
    }


def delivery_sweep_unknown(*, as_of: dt.datetime | None = None) -> int:
    """Turn claims never handed over into "unknown"; how many it turned.

    A claim older than BILLING_DELIVERY_UNKNOWN_AFTER_MINUTES (longer than the send
    task may run) belongs to a worker that died or lost its database between claim
    and record: the email may or may not have left, so a person checks.
    """
    cutoff = (as_of or timezone.now()) - dt.timedelta(
        minutes=settings.BILLING_DELIVERY_UNKNOWN_AFTER_MINUTES
    )
    stale = Delivery.objects.filter(
        status=Status.CLAIMED, updated_at__lt=cutoff
    ).select_related("invoice__instance")
    turned = 0
    for delivery in stale:
        reason = (
            "Claimed but no hand-over recorded: check the mail server or provider "
            "before resending."
        )
        with transaction.atomic():
            changed = Delivery.objects.filter(
                pk=delivery.pk, status=Status.CLAIMED
            ).update(status=Status.UNKNOWN, error=reason, updated_at=timezone.now())
            if not changed:
                continue
            audit_record(
                action="delivery.unknown",
                target=delivery,
                instance=delivery.invoice.instance,
                reason=reason,
                details={"key": delivery.key},
            )
        turned += 1
        logger.warning("Invoice email hand-over unknown", extra=_log(delivery))
    return turned


def delivery_event_record(
    *,
    provider: str,
    event_type: str,
    message_id: str = "",
    delivery_key: str = "",
    occurred_at: dt.datetime | None = None,
    event_id: str = "",
    description: str = "",
) -> Delivery | None:
    """Record a provider's event (delivered, bounced...) on its delivery, once.

    The delivery is found by the provider's message id, else by the key the email
    carried in its metadata. Returns None for a message the portal did not send.
    """
    with transaction.atomic():
        delivery = _delivery_locked(message_id=message_id, key=delivery_key)
        if delivery is None:
            logger.info(
                "Provider event for no known delivery",
                extra={"provider": provider, "event": event_type},
            )
            return None
        if event_id and any(e.get("id") == event_id for e in delivery.events):
            return delivery
        delivery.events = [
            *delivery.events,
            {
                "type": event_type,
                "at": (occurred_at or timezone.now()).isoformat(),
                "provider": provider,
                "id": event_id,
                "description": text_masked(description)[:300],
            },
        ]
        status = EVENT_STATUS.get(event_type)
        if status is not None and delivery.status in EVENT_MAY_CHANGE:
            delivery.status = status
        delivery.save(update_fields=["events", "status", "updated_at"])
        audit_record(
            action="delivery.event",
            target=delivery,
            instance=delivery.invoice.instance,
            details={"event": event_type, "provider": provider, "key": delivery.key},
        )
    logger.info(
        "Provider event recorded", extra={**_log(delivery), "event": event_type}
    )
    return delivery


def _delivery_locked(*, message_id: str, key: str) -> Delivery | None:
    deliveries = Delivery.objects.select_for_update(of=("self",)).select_related(
        "invoice__instance"
    )
    delivery = None
    if message_id:
        delivery = deliveries.filter(provider_message_id=message_id).first()
    if delivery is None and key:
        delivery = deliveries.filter(key=key).first()
    return delivery


def delivery_tracking_receiver(sender, event, esp_name, **kwargs) -> None:
    """anymail's `tracking` signal, connected in BillingConfig.ready: record only."""
    delivery_event_record(
        provider=esp_name,
        event_type=event.event_type,
        message_id=str(event.message_id or ""),
        delivery_key=(event.metadata or {}).get("delivery_key", ""),
        occurred_at=event.timestamp,
        event_id=str(event.event_id or ""),
        description=event.description or event.mta_response or "",
    )
