"""Renders that fail or die with their worker stay visible and are never sent (C06)."""

import datetime as dt
import os
import signal
import time
from pathlib import Path

import pytest
import time_machine
from django.core import mail

from billing.models import Delivery, Invoice
from billing.services.rendering import invoice_render, invoice_render_sweep
from billing.services.sending import invoice_send
from billing.tasks import invoice_render_sweep_task, invoice_render_task
from portal.celery import app
from portal.exceptions import BillingError, PdfRenderError
from portal.models import AuditEvent
from tests.billing.factories import (
    BillingRunFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.billing.workers import celery_worker, wait_for
from tests.instances.factories import InstanceFactory

UTC = dt.UTC
MAY = dt.date(2026, 5, 1)
STARTED = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def _finalised(**fields) -> Invoice:
    run = BillingRunFactory(instance=InstanceFactory(slug="uk"), month=MAY)
    invoice = InvoiceFactory(
        run=run,
        status=Invoice.Status.FINALISED,
        number="UK-2026-0001",
        issued_on=dt.date(2026, 6, 1),
        due_on=dt.date(2026, 7, 1),
        subject_email="potato.eggplant@vegetables.com",
        **fields,
    )
    InvoiceLineFactory(invoice=invoice)
    return invoice


def _rendering_since(invoice: Invoice, started: dt.datetime) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(
        pdf_status=Invoice.PdfStatus.RENDERING, pdf_render_started_at=started
    )


def _interrupted(invoice: Invoice) -> int:
    return AuditEvent.objects.filter(
        action="invoice.pdf_render_interrupted", object_id=str(invoice.pk)
    ).count()


def test_task_names_are_stable():
    assert invoice_render_task.name == "billing.render_invoice"
    assert invoice_render_sweep_task.name == "billing.sweep_renders"
    assert {"billing.render_invoice", "billing.sweep_renders"} <= set(app.tasks)


@pytest.mark.django_db
def test_invoice_render_records_when_it_started(monkeypatch):
    # given a render that is still drawing at 06:00
    invoice = _finalised()
    seen = {}

    def drawing(*, invoice):
        row = Invoice.objects.get(pk=invoice.pk)
        seen["state"] = (row.pdf_status, row.pdf_render_started_at)
        return b"%PDF-1.7 test"

    monkeypatch.setattr("billing.pdf.invoice_pdf_bytes", drawing)

    # when
    with time_machine.travel(STARTED, tick=False):
        invoice_render(invoice=invoice)

    # then the invoice said "rendering since 06:00" while it drew, then "rendered"
    assert seen["state"] == (Invoice.PdfStatus.RENDERING, STARTED)
    invoice.refresh_from_db()
    assert invoice.pdf_status == Invoice.PdfStatus.RENDERED


@pytest.mark.django_db
def test_invoice_render_sweep_fails_and_requeues_renders_stuck_past_the_limit(
    monkeypatch, django_capture_on_commit_callbacks
):
    # given two renders started at 06:00 and 06:10; the limit is 15 minutes
    stuck = _finalised()
    _rendering_since(stuck, STARTED)
    recent = InvoiceFactory(run=stuck.run, status=Invoice.Status.FINALISED)
    _rendering_since(recent, STARTED + dt.timedelta(minutes=10))
    queued = []
    monkeypatch.setattr(invoice_render_task, "delay", queued.append)

    # when the sweep runs at 06:16
    with django_capture_on_commit_callbacks(execute=True):
        requeued = invoice_render_sweep(as_of=STARTED + dt.timedelta(minutes=16))

    # then only the first is marked "render failed", with why, and queued again
    assert requeued == [stuck.pk]
    assert queued == [stuck.pk]
    stuck.refresh_from_db()
    assert stuck.pdf_status == Invoice.PdfStatus.FAILED
    assert stuck.pdf_error == (
        "Render interrupted: the worker stopped before finishing "
        "(started 2026-06-01 06:00 UTC)."
    )
    assert stuck.status == Invoice.Status.FINALISED
    recent.refresh_from_db()
    assert recent.pdf_status == Invoice.PdfStatus.RENDERING


@pytest.mark.django_db
def test_invoice_render_sweep_stops_requeueing_an_invoice_that_kills_workers(
    monkeypatch, django_capture_on_commit_callbacks
):
    # given an invoice whose render has died three times already
    invoice = _finalised()
    queued = []
    monkeypatch.setattr(invoice_render_task, "delay", queued.append)
    sweeps = []
    for attempt in range(4):
        _rendering_since(invoice, STARTED + dt.timedelta(hours=attempt))

        # when the fourth death is swept
        with django_capture_on_commit_callbacks(execute=True):
            sweeps.append(
                invoice_render_sweep(
                    as_of=STARTED + dt.timedelta(hours=attempt, minutes=20)
                )
            )

    # then it was queued again three times, then left "render failed" for a person
    assert sweeps == [[invoice.pk], [invoice.pk], [invoice.pk], []]
    assert queued == [invoice.pk] * 3
    assert _interrupted(invoice) == 4
    invoice.refresh_from_db()
    assert invoice.pdf_status == Invoice.PdfStatus.FAILED


@pytest.mark.django_db
def test_render_task_failure_shows_failed_and_is_never_sent(monkeypatch):
    # given a render that fails (a missing asset, case W04)
    invoice = _finalised()

    def missing_logo(*, invoice):
        raise PdfRenderError("PDF asset missing: static file 'logo.png'")

    monkeypatch.setattr("billing.pdf.invoice_pdf_bytes", missing_logo)

    # when the render task runs, then a send is attempted
    with pytest.raises(PdfRenderError):
        invoice_render_task.apply(args=(invoice.pk,)).get()
    invoice.refresh_from_db()
    with pytest.raises(BillingError, match="failed to render"):
        invoice_send(invoice=invoice)

    # then the invoice shows "render failed" and nothing was sent
    assert invoice.pdf_status == Invoice.PdfStatus.FAILED
    assert "logo.png" in invoice.pdf_error
    assert invoice.status == Invoice.Status.FINALISED
    assert Delivery.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_render_task_of_a_deleted_draft_is_a_no_op():
    # given a render queued for a draft that a recompute deleted since
    # when / then: no error, nothing to do
    assert invoice_render_task.apply(args=(987654,)).get() is None


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_render_killed_mid_render_is_swept_requeued_and_never_sent(
    monkeypatch, tmp_path
):
    # given (C06) a finalised invoice and a prefork worker whose renders hold
    invoice = _finalised()
    marker = tmp_path / "render.pid"
    block = Path(f"{marker}.block")
    block.touch()
    with celery_worker(
        monkeypatch, pool="prefork", concurrency=1, TEST_RENDER_MARKER=str(marker)
    ) as worker:
        invoice_render_task.delay(invoice.pk)
        pid = int(wait_for(marker.exists, worker=worker) and marker.read_text())

        # when the worker process is killed in the middle of the render
        assert Invoice.objects.get(pk=invoice.pk).pdf_status == "rendering"
        os.kill(pid, signal.SIGKILL)
        time.sleep(3)

        # then nothing finishes it: it is "rendering", and no copy started again
        invoice.refresh_from_db()
        assert invoice.pdf_status == Invoice.PdfStatus.RENDERING
        assert marker.read_text() == str(pid)

        # when the sweep runs past the limit, and renders no longer hold
        block.unlink()
        requeued = invoice_render_sweep(
            as_of=invoice.pdf_render_started_at + dt.timedelta(minutes=16)
        )

        # then it was marked "render failed", queued again and rendered by the
        # worker's new process, and it was never sent
        assert requeued == [invoice.pk]
        assert _interrupted(invoice) == 1
        wait_for(
            lambda: Invoice.objects.get(pk=invoice.pk).pdf_status == "rendered",
            worker=worker,
            what="the re-queued render",
        )
    invoice.refresh_from_db()
    assert marker.read_text() != str(pid)
    assert invoice.status == Invoice.Status.FINALISED
    assert invoice.sent_pdf_sha256 == ""
    assert Delivery.objects.count() == 0
