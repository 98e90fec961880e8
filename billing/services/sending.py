"""Sending invoices: one email per billing subject, handed over at most once (rule 12).

A send is a side effect between two short transactions, never inside one:

1. claim: lock the invoice, check that it may be sent, and insert a Delivery under
   a unique key (`uk:invoice:42:email:1`), or re-claim one whose hand-over failed;
   commit. A second copy of the task finds the key taken and does nothing.
2. hand the email, PDF attached, to Django's email backend (SMTP, or a provider
   through django-anymail).
3. record: the Delivery is "handed over" with the provider's message id, the exact
   PDF bytes of the first send are archived with their SHA-256 (rule 9) and the
   invoice goes from finalised to sent; commit.

A worker that dies between 1 and 3 leaves the claim "claimed";
`delivery_sweep_unknown` turns it "unknown" for a person to check before resending.
An error while handing over that does not prove the message was refused also makes
it "unknown", never "failed": only a "failed" claim may be claimed again.

The attempt number in the key is fixed when the send is requested: every copy and
retry of that request shares one key, and a deliberate resend takes the next number.
"""

import hashlib
import logging
import smtplib
import socket
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from babel.dates import format_date
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail.message import make_msgid
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import get_valid_filename

from instances.models import Instance
from portal.audit import audit_record
from portal.exceptions import BillingError
from portal.formats import locale_for, money_display

from ..models import Delivery, Invoice
from .deliveries import text_masked

logger = logging.getLogger(__name__)

Status = Delivery.Status
# Invoices that may be emailed: finalised ones, and sent ones resent on purpose.
SENDABLE = (Invoice.Status.FINALISED, Invoice.Status.SENT)
# Errors from opening a connection to the mail server or provider: nothing was
# handed over, so the task may retry them.
TRANSIENT_SEND_ERRORS = (
    smtplib.SMTPException,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)
EMAIL_SUBJECT_TEMPLATE = "billing/email/invoice_subject.txt"
EMAIL_BODY_TEMPLATE = "billing/email/invoice_body.txt"


class InvoiceNotReady(BillingError):
    """The invoice's PDF is still waiting to render; sending it later will work."""


def delivery_key(*, instance: Instance, invoice_id: int, attempt: int) -> str:
    """The stable key of one deliberate send of an invoice; webhooks echo it."""
    return f"{instance.slug}:invoice:{invoice_id}:email:{attempt}"


def delivery_attempt(delivery: Delivery) -> int:
    return int(delivery.key.rsplit(":", 1)[1])


# Sending one invoice ---------------------------------------------------------------


def invoice_send(*, invoice: Invoice, actor=None, attempt: int = 1) -> Delivery | None:
    """Email `invoice` to its subject once for `attempt`; None if already claimed.

    Raises InvoiceNotReady while the PDF renders, one of TRANSIENT_SEND_ERRORS when
    the mail server cannot be reached (the claim is then "failed" and a retry may
    claim it again), and BillingError when the invoice may not be sent or the
    hand-over failed for good or uncertainly (the claim says which).
    """
    claimed = _delivery_claim(invoice_id=invoice.pk, attempt=attempt)
    if claimed is None:
        logger.info(
            "Invoice send already claimed",
            extra={
                "instance": invoice.instance.slug,
                "invoice": invoice.pk,
                "attempt": attempt,
            },
        )
        return None
    locked, delivery = claimed
    pdf = _pdf_to_send(locked, delivery)
    message_id = _hand_over(locked, delivery, pdf)
    _delivery_handed_over(
        delivery=delivery, pdf=pdf, message_id=message_id, actor=actor
    )
    logger.info("Invoice handed over", extra=_log(delivery))
    delivery.refresh_from_db()
    return delivery


def _delivery_claim(*, invoice_id: int, attempt: int):
    """(invoice, claimed delivery), or None when another send holds the key."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("instance")
            .get(pk=invoice_id)
        )
        invoice_check_sendable(invoice)
        key = delivery_key(
            instance=invoice.instance, invoice_id=invoice.pk, attempt=attempt
        )
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    key=key,
                    invoice=invoice,
                    channel=Delivery.Channel.EMAIL,
                    recipient=invoice.subject_email,
                    status=Status.CLAIMED,
                )
        except IntegrityError:
            # Only a claim that provably handed nothing over may be taken again.
            taken = Delivery.objects.filter(key=key, status=Status.FAILED).update(
                status=Status.CLAIMED,
                recipient=invoice.subject_email,
                error="",
                updated_at=timezone.now(),
            )
            if not taken:
                return None
            delivery = Delivery.objects.get(key=key)
    delivery.invoice = invoice
    return invoice, delivery


def invoice_check_sendable(invoice: Invoice) -> None:
    """Raise BillingError (InvoiceNotReady while it renders) unless it can be sent."""
    if invoice.status not in SENDABLE:
        raise BillingError(
            f"{invoice} is {invoice.get_status_display().lower()}: only finalised "
            "invoices are sent."
        )
    if not invoice.subject_email:
        raise BillingError(
            f"{invoice} has no email address: add one to the billing subject "
            f"{invoice.subject_name!r}, then send it again."
        )
    try:
        validate_email(invoice.subject_email)
    except ValidationError:
        raise BillingError(
            f"{invoice} has no valid email address: correct the billing subject "
            f"{invoice.subject_name!r}, then send it again."
        ) from None
    if invoice.sent_pdf:
        return
    if invoice.pdf_status == Invoice.PdfStatus.FAILED:
        raise BillingError(
            f"The PDF of {invoice} failed to render: retry the render before sending."
        )
    if invoice.pdf_status != Invoice.PdfStatus.RENDERED or not invoice.pdf:
        raise InvoiceNotReady(f"The PDF of {invoice} is not rendered yet.")


def _pdf_to_send(invoice: Invoice, delivery: Delivery) -> bytes:
    """The archived bytes when resending, else the rendered PDF (archived on send)."""
    try:
        if invoice.sent_pdf:
            with invoice.sent_pdf.open("rb") as file:
                content = file.read()
            if hashlib.sha256(content).hexdigest() != invoice.sent_pdf_sha256:
                raise BillingError(
                    f"The archived PDF of {invoice} does not match its SHA-256: it "
                    "was altered, so it is not resent."
                )
            return content
        with invoice.pdf.open("rb") as file:
            return file.read()
    except (BillingError, OSError) as error:
        _delivery_failed(delivery, error)
        if isinstance(error, BillingError):
            raise
        raise BillingError(f"The PDF of {invoice} could not be read.") from error


def invoice_email(*, invoice: Invoice, key: str, pdf: bytes) -> mail.EmailMessage:
    """The email of `invoice` in its instance's language, PDF attached."""
    instance = invoice.instance
    locale = locale_for(instance.language, instance.country)
    context = {
        "invoice": invoice,
        "instance": instance,
        "issuer_name": (invoice.issuer or {}).get("legal_name") or instance.name,
        "gross": money_display(invoice.gross, invoice.currency, locale=locale),
        "due_on": format_date(invoice.due_on, format="long", locale=locale)
        if invoice.due_on
        else "",
        "is_credit_note": invoice.kind == Invoice.Kind.CREDIT_NOTE,
    }
    with translation.override(locale.language):
        subject = render_to_string(EMAIL_SUBJECT_TEMPLATE, context)
        body = render_to_string(EMAIL_BODY_TEMPLATE, context)
    reply_to = (invoice.issuer or {}).get("email")
    message = mail.EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invoice.subject_email],
        reply_to=[reply_to] if reply_to else None,
        # Receivers can discard a repeat by this key (rule 12).
        headers={"X-OFN-Portal-Delivery": key},
    )
    message.attach(
        get_valid_filename(f"{invoice.number or invoice.pk}.pdf"),
        pdf,
        "application/pdf",
    )
    # Anymail passes metadata to the provider, which echoes it in tracking events.
    message.metadata = {"delivery_key": key}
    return message


def _hand_over(invoice: Invoice, delivery: Delivery, pdf: bytes) -> str:
    """Give the email to the backend; the provider's message id."""
    message = invoice_email(invoice=invoice, key=delivery.key, pdf=pdf)
    connection = mail.get_connection()
    if not isinstance(connection, AnymailBaseBackend):
        # SMTP reports no id: ours, in the Message-ID header, identifies the email.
        message.extra_headers["Message-ID"] = make_msgid(domain="ofn-portal.invalid")
    try:
        connection.open()
    except TRANSIENT_SEND_ERRORS as error:
        _delivery_failed(delivery, error)
        raise
    try:
        sent = connection.send_messages([message])
    # Broad on purpose: whatever a backend raises mid-send leaves the hand-over
    # uncertain unless it proves a refusal, and must never be retried blindly.
    except Exception as error:
        if _refused(error):
            _delivery_failed(delivery, error)
            raise BillingError(
                f"The email of {invoice} was refused: {_short(error)}"
            ) from error
        _delivery_unknown(delivery, error)
        raise BillingError(
            f"Handing over the email of {invoice} failed half way: check the mail "
            "server or provider before sending it again."
        ) from error
    finally:
        connection.close()
    if not sent:
        _delivery_failed(delivery, BillingError("the backend sent nothing"))
        raise BillingError(f"The email backend did not send {invoice}.")
    return _message_id(message)


def _refused(error: Exception) -> bool:
    """Errors proving the message was not taken: sender or every recipient refused,
    or a provider answering with a client error."""
    if isinstance(
        error,
        smtplib.SMTPRecipientsRefused
        | smtplib.SMTPSenderRefused
        | AnymailRecipientsRefused,
    ):
        return True
    status_code = getattr(error, "status_code", None)
    return (
        isinstance(error, AnymailError)
        and status_code is not None
        and (400 <= status_code < 500)
    )


def _message_id(message: mail.EmailMessage) -> str:
    status = getattr(message, "anymail_status", None)
    if status is not None and status.message_id is not None:
        message_id = status.message_id
        if isinstance(message_id, set):
            message_id = ",".join(sorted(str(part) for part in message_id))
        return str(message_id)
    return message.extra_headers.get("Message-ID", "")


def _short(error: BaseException) -> str:
    """The error in one line, addresses masked: the send log shows it to everyone
    who may see the invoice (rule 11)."""
    return text_masked(" ".join(f"{type(error).__name__}: {error}".split())[:500])


def _delivery_failed(delivery: Delivery, error: BaseException) -> None:
    """Nothing was handed over: the claim may be taken again."""
    reason = _short(error)
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, status=Status.CLAIMED).update(
            status=Status.FAILED, error=reason, updated_at=timezone.now()
        )
        audit_record(
            action="delivery.failed",
            target=delivery,
            instance=delivery.invoice.instance,
            reason=reason,
            details={"key": delivery.key},
        )
    logger.warning("Invoice email not handed over", extra=_log(delivery))


def _delivery_unknown(delivery: Delivery, error: BaseException) -> None:
    """The backend may have taken the email: a person checks before resending."""
    reason = f"Hand-over uncertain: {_short(error)}"
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, status=Status.CLAIMED).update(
            status=Status.UNKNOWN, error=reason, updated_at=timezone.now()
        )
        audit_record(
            action="delivery.unknown",
            target=delivery,
            instance=delivery.invoice.instance,
            reason=reason,
            details={"key": delivery.key},
        )
    logger.error("Invoice email hand-over uncertain", extra=_log(delivery))


def _delivery_handed_over(
    *, delivery: Delivery, pdf: bytes, message_id: str, actor
) -> None:
    """Archive the first sent PDF, mark the delivery and the invoice as sent."""
    digest = hashlib.sha256(pdf).hexdigest()
    invoice = delivery.invoice
    storage = invoice.sent_pdf.storage
    archived = ""
    if not invoice.sent_pdf:
        archived = storage.save(_sent_pdf_name(invoice, digest), ContentFile(pdf))
    now = timezone.now()
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if archived and not locked.sent_pdf:
            # Rule 9: the bytes of the first send, never replaced afterwards.
            locked.sent_pdf.name = archived
            locked.sent_pdf_sha256 = digest
        elif archived:
            transaction.on_commit(lambda: storage.delete(archived), robust=True)
        if locked.status == Invoice.Status.FINALISED:
            locked.status = Invoice.Status.SENT
        locked.save(
            update_fields=["sent_pdf", "sent_pdf_sha256", "status", "updated_at"]
        )
        # A provider event may have arrived first and said more than "handed over".
        Delivery.objects.filter(
            pk=delivery.pk, status__in=[Status.CLAIMED, Status.UNKNOWN]
        ).update(status=Status.HANDED_OVER, error="")
        Delivery.objects.filter(pk=delivery.pk).update(
            handed_over_at=now, provider_message_id=message_id, updated_at=now
        )
        audit_record(
            action="invoice.sent",
            target=locked,
            actor=actor,
            instance=invoice.instance,
            details={
                "delivery": delivery.key,
                "provider_message_id": message_id,
                "sent_pdf_sha256": locked.sent_pdf_sha256,
                "resend": delivery_attempt(delivery) > 1,
            },
        )


def _sent_pdf_name(invoice: Invoice, digest: str) -> str:
    stem = get_valid_filename(invoice.number or f"invoice-{invoice.pk}")
    return (
        f"sent/{invoice.instance.slug}/{invoice.month:%Y-%m}/{stem}-{digest[:12]}.pdf"
    )


def _log(delivery: Delivery) -> dict:
    return {
        "instance": delivery.invoice.instance.slug,
        "invoice": delivery.invoice_id,
        "delivery": delivery.key,
    }


# Requesting sends ------------------------------------------------------------------


@dataclass
class SendRequest:
    """What `invoice_send_request` queued, and why it left the others out."""

    queued: list[int] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def _attempt_for(invoice: Invoice, *, resend: bool) -> tuple[int | None, str]:
    """The attempt to queue for `invoice`, or None and why it is left out."""
    if invoice.status == Invoice.Status.SENT and not resend:
        return None, "already sent"
    if invoice.status not in SENDABLE:
        return None, f"{invoice.get_status_display().lower()}, not finalised"
    if not invoice.subject_email:
        return None, "no email address"
    if invoice.pdf_status == Invoice.PdfStatus.FAILED and not invoice.sent_pdf:
        return None, "PDF failed to render"
    deliveries = sorted(invoice.deliveries.all(), key=delivery_attempt)
    if not deliveries:
        return 1, ""
    latest = deliveries[-1]
    if latest.status == Status.CLAIMED:
        return None, "being sent"
    if resend:
        return delivery_attempt(latest) + 1, ""
    if latest.status == Status.FAILED:
        # Nothing was handed over under that key: claim it again.
        return delivery_attempt(latest), ""
    if latest.status == Status.UNKNOWN:
        return None, "hand-over unknown: check, then resend"
    return None, "already sent"


def invoice_send_request(
    *,
    instance: Instance,
    invoices: Iterable[Invoice],
    actor,
    resend: bool = False,
    reason: str = "",
) -> SendRequest:
    """Queue one send task per invoice that may be sent; report the others.

    Without `resend`, only finalised invoices never handed over are queued (a failed
    send is queued again under its own key). With it, sent invoices are sent again
    under a new key. The tasks are queued once this transaction commits.
    """
    outcome = SendRequest()
    with transaction.atomic():
        ids = [invoice.pk for invoice in invoices]
        locked = (
            Invoice.objects.select_for_update(of=("self",))
            .filter(instance=instance, pk__in=ids)
            .select_related("instance")
            .order_by("pk")
        )
        for invoice in locked.prefetch_related("deliveries"):
            attempt, left_out = _attempt_for(invoice, resend=resend)
            if attempt is None:
                outcome.skipped[left_out] += 1
                continue
            _send_queue(
                invoice, attempt=attempt, actor=actor, reason=reason, resend=resend
            )
            outcome.queued.append(invoice.pk)
    logger.info(
        "Invoice sends requested",
        extra={
            "instance": instance.slug,
            "queued": len(outcome.queued),
            "skipped": dict(outcome.skipped),
        },
    )
    return outcome


def _send_queue(invoice: Invoice, *, attempt: int, actor, reason: str, resend: bool):
    """Record the request and queue its task once the transaction commits."""
    from ..tasks.sending import invoice_send_task

    audit_record(
        action="invoice.send_requested",
        target=invoice,
        actor=actor,
        instance=invoice.instance,
        reason=reason,
        details={"attempt": attempt, "resend": resend},
    )
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    transaction.on_commit(
        lambda: invoice_send_task.delay(invoice.pk, attempt, actor_id), robust=True
    )
