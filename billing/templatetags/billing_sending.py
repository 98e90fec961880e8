"""Template tags behind the send slots of the run and invoice pages.

The run and invoice pages belong to the lifecycle; their include slots load what
they show through these tags, so those pages need not know about deliveries.
"""

from django import template

from ..delivery_selectors import delivery_log, run_send_summary
from ..models import Delivery, Invoice
from ..page_selectors import user_manages_instance
from ..services.sending import SENDABLE

register = template.Library()


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None)


def _manages(context, instance) -> bool:
    user = _user(context)
    return bool(
        user is not None
        and user.is_authenticated
        and user_manages_instance(instance=instance, user=user)
    )


@register.simple_tag(takes_context=True)
def run_send_panel(context, run, instance) -> dict:
    """The run's send counts, and whether the reader may send."""
    return {
        "summary": run_send_summary(instance=instance, run=run),
        "can_send": _manages(context, instance),
    }


@register.simple_tag(takes_context=True)
def invoice_send_panel(context, invoice, instance) -> dict:
    """An invoice's send log (addresses masked unless the reader manages the
    instance) and which send button it offers."""
    manages = _manages(context, instance)
    rows = delivery_log(instance=instance, invoice=invoice, reveal_recipient=manages)
    latest = rows[0].status if rows else None
    return {
        "rows": rows,
        # A first send, or a send whose hand-over failed (its key is claimed again).
        "can_send": manages
        and invoice.status == Invoice.Status.FINALISED
        and latest in (None, Delivery.Status.FAILED),
        # Sending again on purpose, under a new key, once the last send settled.
        "can_resend": manages
        and invoice.status in SENDABLE
        and latest not in (None, Delivery.Status.FAILED, Delivery.Status.CLAIMED),
        "sent_pdf_sha256": invoice.sent_pdf_sha256,
    }
