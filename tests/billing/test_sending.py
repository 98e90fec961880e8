"""Sending invoices once (rule 12), archiving what was sent (rule 9), and the send log.

The mailbox is Django's locmem backend (portal.settings.test); SMTP and providers are
the outside world and are replaced by backends that fail the way they would.
"""

import datetime as dt
import os
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from anymail.signals import AnymailTrackingEvent, tracking
from django.core import mail
from django.core.files.base import ContentFile
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse

from billing.delivery_selectors import RunSendSummary, run_send_summary
from billing.models import Delivery, Invoice
from billing.services.deliveries import delivery_event_record, delivery_sweep_unknown
from billing.services.sending import (
    InvoiceNotReady,
    invoice_send,
    invoice_send_request,
)
from billing.tasks import delivery_sweep_task, invoice_send_task
from portal.celery import app
from portal.exceptions import BillingError
from portal.models import AuditEvent, Role
from tests.billing.factories import BillingRunFactory, InvoiceFactory
from tests.instances.factories import InstanceFactory
from tests.portal.factories import AdminFactory, MembershipFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MAY = dt.date(2026, 5, 1)
EMAIL = "potato.eggplant@vegetables.com"
# A stand-in for the rendered PDF; the SHA-256 of b"abc" is the FIPS 180-2 example.
PDF = b"abc"
PDF_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
ROOT = Path(__file__).resolve().parents[2]


def _finalised(
    *, number="UK-2026-0001", email=EMAIL, pdf=PDF, run=None, **fields
) -> Invoice:
    run = run or BillingRunFactory(instance=InstanceFactory(slug="uk"), month=MAY)
    invoice = InvoiceFactory(
        run=run,
        status=Invoice.Status.FINALISED,
        number=number,
        issued_on=dt.date(2026, 6, 1),
        due_on=dt.date(2026, 7, 1),
        subject_email=email,
        subject_name="Potato Farm",
        **fields,
    )
    if pdf is not None:
        invoice.pdf.save(f"{number}.pdf", ContentFile(pdf), save=False)
        invoice.pdf_status = Invoice.PdfStatus.RENDERED
        invoice.save(update_fields=["pdf", "pdf_status"])
    return invoice


def test_task_names_are_stable():
    # Renaming a task strands messages already queued under the old name.
    assert invoice_send_task.name == "billing.send_invoice"
    assert delivery_sweep_task.name == "billing.sweep_deliveries"
    assert {"billing.send_invoice", "billing.sweep_deliveries"} <= set(app.tasks)


def test_invoice_send_emails_the_pdf_to_the_subject_and_archives_it():
    # given a finalised invoice with its PDF rendered
    invoice = _finalised()

    # when
    delivery = invoice_send(invoice=invoice, attempt=1)

    # then one email, to the subject, with the PDF attached
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [EMAIL]
    assert email.subject == "Invoice UK-2026-0001 from OFN UK"
    assert email.attachments == [("UK-2026-0001.pdf", PDF, "application/pdf")]
    assert email.extra_headers["X-OFN-Portal-Delivery"] == (
        f"uk:invoice:{invoice.pk}:email:1"
    )
    # and the claim is handed over under its key, with the email's Message-ID
    assert delivery.key == f"uk:invoice:{invoice.pk}:email:1"
    assert delivery.status == Delivery.Status.HANDED_OVER
    assert delivery.recipient == EMAIL
    assert delivery.provider_message_id == email.extra_headers["Message-ID"]
    assert delivery.provider_message_id.endswith("@ofn-portal.invalid>")
    assert delivery.handed_over_at is not None
    # and the exact bytes sent are archived with their hash; the invoice is sent
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
    assert invoice.sent_pdf_sha256 == PDF_SHA256
    with invoice.sent_pdf.open("rb") as archived:
        assert archived.read() == PDF
    assert list(
        AuditEvent.objects.filter(object_id=str(invoice.pk)).values_list(
            "action", flat=True
        )
    ) == ["invoice.sent"]


def test_invoice_send_task_delivered_twice_sends_one_email():
    # given (B10) the send task of one invoice, delivered twice
    invoice = _finalised()

    # when
    first = invoice_send_task.apply(args=(invoice.pk, 1)).get()
    second = invoice_send_task.apply(args=(invoice.pk, 1)).get()

    # then one email and one delivery; the copy is a logged no-op
    assert first == f"uk:invoice:{invoice.pk}:email:1"
    assert second is None
    assert len(mail.outbox) == 1
    assert Delivery.objects.count() == 1


def test_invoice_send_requires_a_rendered_pdf():
    # given a finalised invoice whose PDF is still waiting to render
    invoice = _finalised(pdf=None)

    # when / then: the task will retry it, and nothing was claimed
    with pytest.raises(InvoiceNotReady):
        invoice_send(invoice=invoice)
    assert Delivery.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": Invoice.Status.DRAFT}, "only finalised invoices are sent"),
        ({"status": Invoice.Status.VOID}, "only finalised invoices are sent"),
        ({"subject_email": ""}, "has no email address"),
        ({"subject_email": "not an address"}, "has no valid email address"),
        (
            {"pdf_status": Invoice.PdfStatus.FAILED},
            "failed to render: retry the render before sending",
        ),
    ],
    ids=["draft", "void", "no-email", "bad-email", "render-failed"],
)
def test_invoice_send_refuses_an_invoice_that_may_not_be_sent(fields, message):
    # given
    invoice = _finalised()
    Invoice.objects.filter(pk=invoice.pk).update(**fields)
    invoice.refresh_from_db()

    # when / then: a clear error, no claim, no email
    with pytest.raises(BillingError, match=message):
        invoice_send(invoice=invoice)
    assert Delivery.objects.count() == 0
    assert mail.outbox == []


class UnreachableBackend(LocmemBackend):
    """The mail server refuses the connection: nothing was handed over."""

    def open(self):
        raise ConnectionRefusedError("connection refused")


class DroppedBackend(LocmemBackend):
    """The connection drops after DATA: the server may have taken the email."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class RefusingProvider(AnymailTestBackend):
    """A provider answering with a client error: the message was not accepted."""

    def post_to_esp(self, payload, message):
        response = requests.Response()
        response.status_code = 422
        response.reason = "Unprocessable Entity"
        response._content = b'{"Message": "Invalid To: potato.eggplant@vegetables.com"}'
        raise AnymailAPIError(
            "Postmark refused", status_code=422, response=response, backend=self
        )


def test_invoice_send_retry_after_an_unreachable_server_hands_over_once(settings):
    # given a mail server that refuses the first connection
    invoice = _finalised()
    settings.EMAIL_BACKEND = f"{__name__}.UnreachableBackend"

    # when the first try fails (the task retries this error)
    with pytest.raises(ConnectionRefusedError):
        invoice_send(invoice=invoice, attempt=1)

    # then the claim is failed: nothing left
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "ConnectionRefusedError: connection refused" in delivery.error

    # when the retry finds the server back, then a late copy arrives
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retried = invoice_send(invoice=invoice, attempt=1)
    copy = invoice_send(invoice=invoice, attempt=1)

    # then the same key was claimed again and handed over once
    assert retried.key == delivery.key
    assert retried.status == Delivery.Status.HANDED_OVER
    assert copy is None
    assert len(mail.outbox) == 1
    assert Delivery.objects.count() == 1


def test_invoice_send_marks_an_uncertain_hand_over_unknown_and_never_retries(
    settings,
):
    # given a connection that drops while the email is being handed over
    invoice = _finalised()
    settings.EMAIL_BACKEND = f"{__name__}.DroppedBackend"

    # when
    with pytest.raises(BillingError, match="failed half way"):
        invoice_send(invoice=invoice, attempt=1)

    # then the delivery is unknown, and another copy of the task sends nothing
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.UNKNOWN
    assert "SMTPServerDisconnected" in delivery.error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert invoice_send(invoice=invoice, attempt=1) is None
    assert mail.outbox == []
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.FINALISED
    assert invoice.sent_pdf_sha256 == ""


def test_invoice_send_through_a_provider_records_its_message_id(settings):
    # given an anymail provider (its test backend numbers messages from 0)
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    invoice = _finalised()

    # when
    delivery = invoice_send(invoice=invoice)

    # then the provider's id is kept, and the key travels in the metadata
    assert delivery.provider_message_id == "0"
    assert mail.outbox[0].anymail_test_params["metadata"] == {
        "delivery_key": f"uk:invoice:{invoice.pk}:email:1"
    }


def test_invoice_send_refused_by_the_provider_is_failed_not_unknown(settings):
    # given a provider answering 422 (it refused the message: nothing left)
    settings.EMAIL_BACKEND = f"{__name__}.RefusingProvider"
    invoice = _finalised()

    # when / then
    with pytest.raises(BillingError, match="was refused"):
        invoice_send(invoice=invoice)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    # and the provider's answer is kept, its address masked (rule 11)
    assert "Test API response 422 (Unprocessable Entity)" in delivery.error
    assert "Invalid To: p***@vegetables.com" in delivery.error
    assert "eggplant" not in delivery.error
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.FINALISED


def test_invoice_send_task_retries_only_named_transient_errors():
    # Retrying anything else could hand an email over twice.
    retried = set(invoice_send_task.autoretry_for)
    assert ConnectionError in retried
    assert smtplib.SMTPException in retried
    assert InvoiceNotReady in retried
    assert Exception not in retried
    assert BillingError not in retried


def test_invoice_resend_attaches_the_archived_bytes_under_a_new_key():
    # given an invoice sent once, whose PDF was re-rendered since (B08: a typo fix)
    invoice = _finalised()
    invoice_send(invoice=invoice, attempt=1)
    invoice.refresh_from_db()
    invoice.pdf.save("retyped.pdf", ContentFile(b"re-rendered"), save=True)

    # when it is sent again on purpose
    delivery = invoice_send(invoice=invoice, attempt=2)

    # then the second email carries the archived bytes, which never change
    assert delivery.key == f"uk:invoice:{invoice.pk}:email:2"
    assert [m.attachments[0][1] for m in mail.outbox] == [PDF, PDF]
    invoice.refresh_from_db()
    assert invoice.sent_pdf_sha256 == PDF_SHA256
    assert invoice.status == Invoice.Status.SENT


def test_invoice_send_request_queues_finalised_unsent_invoices_only(
    django_capture_on_commit_callbacks,
):
    # given a run with one finalised, one sent, one draft and one without email
    run = BillingRunFactory(instance=InstanceFactory(slug="uk"), month=MAY)
    ready = _finalised(run=run, number="UK-2026-0001")
    sent = _finalised(run=run, number="UK-2026-0002")
    invoice_send(invoice=sent)
    draft = InvoiceFactory(run=run)
    no_email = _finalised(run=run, number="UK-2026-0003", email="")
    mail.outbox.clear()

    # when every invoice of the run is requested, twice (a double click)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = invoice_send_request(
            instance=run.instance,
            invoices=[ready, sent, draft, no_email],
            actor=None,
        )
        invoice_send_request(instance=run.instance, invoices=[ready], actor=None)

    # then only the ready invoice was queued, and emailed once
    assert outcome.queued == [ready.pk]
    assert dict(outcome.skipped) == {
        "already sent": 1,
        "draft, not finalised": 1,
        "no email address": 1,
    }
    assert [m.to for m in mail.outbox] == [[EMAIL]]
    assert Delivery.objects.filter(invoice=ready).count() == 1


def test_invoice_send_request_resend_takes_the_next_key(
    django_capture_on_commit_callbacks,
):
    # given an invoice sent once
    invoice = _finalised()
    invoice_send(invoice=invoice)

    # when it is resent on purpose
    with django_capture_on_commit_callbacks(execute=True):
        outcome = invoice_send_request(
            instance=invoice.instance,
            invoices=[invoice],
            actor=None,
            resend=True,
            reason="Address corrected",
        )

    # then a second delivery under attempt 2, and the reason is on record
    assert outcome.queued == [invoice.pk]
    assert sorted(Delivery.objects.values_list("key", flat=True)) == [
        f"uk:invoice:{invoice.pk}:email:1",
        f"uk:invoice:{invoice.pk}:email:2",
    ]
    assert len(mail.outbox) == 2
    requested = AuditEvent.objects.get(action="invoice.send_requested")
    assert requested.reason == "Address corrected"


def test_delivery_sweep_unknown_turns_old_claims_unknown():
    # given a claim made at 10:00 whose worker died before the hand-over
    invoice = _finalised()
    delivery = Delivery.objects.create(
        key=f"uk:invoice:{invoice.pk}:email:1",
        invoice=invoice,
        channel=Delivery.Channel.EMAIL,
        recipient=EMAIL,
        status=Delivery.Status.CLAIMED,
    )
    claimed_at = dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    Delivery.objects.filter(pk=delivery.pk).update(updated_at=claimed_at)

    # when the sweep runs 29 minutes, then 31 minutes later (the limit is 30)
    early = delivery_sweep_unknown(as_of=claimed_at + dt.timedelta(minutes=29))
    late = delivery_sweep_unknown(as_of=claimed_at + dt.timedelta(minutes=31))

    # then only the second turns it unknown, and sending again is not automatic
    assert (early, late) == (0, 1)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.UNKNOWN
    assert invoice_send(invoice=invoice, attempt=1) is None
    assert mail.outbox == []


def _tracking(event_type, message_id, event_id, metadata=None):
    return AnymailTrackingEvent(
        event_type=event_type,
        timestamp=dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        event_id=event_id,
        message_id=message_id,
        metadata=metadata or {},
        recipient=EMAIL,
        description="",
    )


def test_tracking_signal_records_delivered_then_bounced_once():
    # given an invoice handed over to a provider under message id "pm-1"
    invoice = _finalised()
    delivery = invoice_send(invoice=invoice)
    Delivery.objects.filter(pk=delivery.pk).update(provider_message_id="pm-1")

    # when the provider reports delivered, the same event again, then a bounce
    for event in (
        _tracking("delivered", "pm-1", "e1"),
        _tracking("delivered", "pm-1", "e1"),
        _tracking("bounced", "pm-1", "e2"),
        _tracking("delivered", "pm-1", "e3"),
    ):
        tracking.send(sender=object, event=event, esp_name="Postmark")

    # then three events are kept, and the bounce stays visible
    delivery.refresh_from_db()
    assert [e["type"] for e in delivery.events] == [
        "delivered",
        "bounced",
        "delivered",
    ]
    assert delivery.status == Delivery.Status.BOUNCED


def test_delivery_event_record_finds_a_delivery_by_its_key():
    # given a claim whose provider id is not recorded yet
    invoice = _finalised()
    delivery = invoice_send(invoice=invoice)
    Delivery.objects.filter(pk=delivery.pk).update(provider_message_id="")

    # when the provider's event carries the key from the email's metadata
    found = delivery_event_record(
        provider="Mailgun",
        event_type="delivered",
        message_id="mg-7",
        delivery_key=delivery.key,
    )

    # then
    assert found.pk == delivery.pk
    assert found.status == Delivery.Status.DELIVERED
    assert (
        delivery_event_record(
            provider="Mailgun", event_type="delivered", message_id="other"
        )
        is None
    )


def test_postmark_webhook_marks_the_delivery_delivered(client, settings):
    # given an invoice handed over to Postmark as message "pm-42"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    invoice = _finalised()
    delivery = invoice_send(invoice=invoice)
    Delivery.objects.filter(pk=delivery.pk).update(provider_message_id="pm-42")

    # when Postmark posts its delivery webhook with the shared secret
    response = client.post(
        "/anymail/postmark/tracking/",
        data={
            "RecordType": "Delivery",
            "MessageID": "pm-42",
            "Recipient": EMAIL,
            "DeliveredAt": "2026-06-01T09:00:00Z",
            "Details": "Test delivery webhook details",
            "Tag": "",
            "Metadata": {"delivery_key": delivery.key},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic aG9vazpzM2NyZXQ=",
    )

    # then
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.events[0]["provider"] == "Postmark"


def _section(page: str, marker: str) -> str:
    """The <section> of `page` carrying `marker`."""
    start = page.index(marker)
    return page[start : page.index("</section>", start)]


def _send_log_page(client, user, invoice):
    client.force_login(user)
    return client.get(
        reverse(
            "billing:invoice",
            kwargs={"slug": invoice.instance.slug, "pk": invoice.pk},
        )
    )


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (Role.MANAGER, EMAIL, None),
        (Role.ACCOUNTANT, "p***@vegetables.com", "eggplant"),
    ],
    ids=["manager", "accountant"],
)
def test_invoice_page_send_log_masks_the_address_for_accountants(
    client, role, shown, hidden
):
    # given a sent invoice
    invoice = _finalised()
    invoice_send(invoice=invoice)
    user = MembershipFactory(instance=invoice.instance, role=role).user

    # when
    response = _send_log_page(client, user, invoice)

    # then the send log shows the status, hash and the address as the role may
    assert response.status_code == 200
    page = _section(response.content.decode(), 'data-test="invoice-deliveries"')
    assert 'data-test="delivery-row" data-status="handed_over"' in page
    assert f'data-test="sent-pdf-sha256">{PDF_SHA256}<' in page
    assert f'data-test="delivery-recipient">{shown}<' in page
    if hidden:
        assert hidden not in page


def test_run_send_view_queues_the_emails_for_a_manager(
    client, django_capture_on_commit_callbacks
):
    # given a run with two finalised invoices, one already sent
    run = BillingRunFactory(instance=InstanceFactory(slug="uk"), month=MAY)
    ready = _finalised(run=run, number="UK-2026-0001")
    sent = _finalised(run=run, number="UK-2026-0002")
    invoice_send(invoice=sent)
    mail.outbox.clear()
    client.force_login(MembershipFactory(instance=run.instance).user)

    # when the manager sends the run's finalised invoices
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("billing:run-send", kwargs={"slug": "uk", "month": "2026-05"})
        )

    # then only the unsent one is emailed, and the page says so
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[EMAIL]]
    assert Delivery.objects.get(invoice=ready).status == Delivery.Status.HANDED_OVER
    page = client.get(response.url).content.decode()
    assert "1 invoice email queued" in page
    # and the send panel counts 2 sent, none left to send, 2 emails handed over
    panel = _section(page, 'data-test="run-send"')
    assert 'data-test="send-to-send">0<' in panel
    assert 'data-test="send-sent">2<' in panel
    assert (
        '<tr data-test="delivery-count" data-status="handed_over"><td><span '
        'class="badge badge-delivery-handed_over">Handed over</span></td>'
        '<td class="numeric">2</td></tr>'
    ) in panel
    assert 'data-test="send-all"' not in panel


@pytest.mark.parametrize(
    ("who", "status"),
    [("accountant", 403), ("outsider", 404), ("admin", 302)],
    ids=["accountant", "outsider", "admin"],
)
def test_send_views_answer_by_role(client, who, status):
    # given
    invoice = _finalised()
    users = {
        "accountant": lambda: (
            MembershipFactory(instance=invoice.instance, role=Role.ACCOUNTANT).user
        ),
        "outsider": lambda: MembershipFactory(role=Role.MANAGER).user,
        "admin": AdminFactory,
    }
    client.force_login(users[who]())

    # when
    response = client.post(
        reverse("billing:invoice-send", kwargs={"slug": "uk", "pk": invoice.pk})
    )

    # then
    assert response.status_code == status
    if status != 302:
        assert Delivery.objects.count() == 0


def test_invoice_send_view_resend_needs_a_reason(client):
    # given a sent invoice and its manager
    invoice = _finalised()
    invoice_send(invoice=invoice)
    client.force_login(MembershipFactory(instance=invoice.instance).user)
    url = reverse("billing:invoice-send", kwargs={"slug": "uk", "pk": invoice.pk})

    # when the manager asks to send it again without saying why
    response = client.post(url, {"resend": "on", "reason": " "}, follow=True)

    # then nothing is queued, and the page asks for the reason
    assert "Say why the invoice is sent again" in response.content.decode()
    assert Delivery.objects.count() == 1


def test_run_send_summary_counts_invoices_by_send_state_in_two_queries(
    django_assert_num_queries,
):
    # given a run with one invoice in each send state
    run = BillingRunFactory(instance=InstanceFactory(slug="uk"), month=MAY)
    _finalised(run=run, number="UK-2026-0001")  # ready
    _finalised(run=run, number="UK-2026-0002", pdf=None)  # PDF still rendering
    _finalised(
        run=run, number="UK-2026-0003", pdf=None, pdf_status=Invoice.PdfStatus.FAILED
    )
    _finalised(run=run, number="UK-2026-0004", email="")  # no address
    invoice_send(invoice=_finalised(run=run, number="UK-2026-0005"))  # sent
    failed = _finalised(run=run, number="UK-2026-0006")
    Delivery.objects.create(
        key=f"uk:invoice:{failed.pk}:email:1",
        invoice=failed,
        channel=Delivery.Channel.EMAIL,
        recipient=EMAIL,
        status=Delivery.Status.FAILED,
    )
    InvoiceFactory(run=run)  # a draft

    # when
    with django_assert_num_queries(2):
        summary = run_send_summary(instance=run.instance, run=run)

    # then the ready, the rendering and the failed send are to send (3)
    assert summary == RunSendSummary(
        to_send=3,
        waiting_for_pdf=1,
        pdf_failed=1,
        no_email=1,
        sent=1,
        deliveries=[
            ("handed_over", "Handed over", 1),
            ("failed", "Failed", 1),
        ],
    )


@pytest.mark.parametrize(
    ("role", "button"),
    [(Role.MANAGER, True), (Role.ACCOUNTANT, False)],
    ids=["manager", "accountant"],
)
def test_run_page_offers_sending_to_managers_only(client, role, button):
    # given a run with one finalised invoice ready to send
    invoice = _finalised()
    client.force_login(MembershipFactory(instance=invoice.instance, role=role).user)

    # when
    page = client.get(
        reverse("billing:run", kwargs={"slug": "uk", "month": "2026-05"})
    ).content.decode()

    # then
    panel = _section(page, 'data-test="run-send"')
    assert 'data-test="send-to-send">1<' in panel
    assert ("Send finalised invoices (1)" in panel) is button


def test_production_settings_refuse_a_provider_without_a_webhook_secret():
    # given production settings choosing Postmark, without ANYMAIL_WEBHOOK_SECRET
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANYMAIL_")},
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": "x7$k2!vQ9pL#mN4rT8wZ1yB6cF3hJ5sD0gA&eU-iO+pXqRtYvW",
        "DATABASE_URL": "postgresql://portal:secret@127.0.0.1:5432/portal",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "portal.example.org",
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "server-token",
    }

    # when
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # then the tracking webhook is never left open to forged events
    assert result.returncode != 0
    assert "needs ANYMAIL_WEBHOOK_SECRET" in result.stderr
