"""The monthly schedule, duplicated tasks and the worker's start-up check.

Cases C05 (two beat processes), B10 (a billing run and a send delivered twice) and
W03 (a worker without a usable font refuses to start).
"""

import datetime as dt
import logging
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path

import pytest
import time_machine
from django.core import mail

from billing.models import BillingRun, Delivery, Invoice, IssuerProfile, PricingPlan
from billing.services.lifecycle import invoice_finalise
from billing.services.schedule import monthly_runs_due
from billing.tasks import billing_run_task, invoice_send_task, monthly_tick_task
from billing.tasks import schedule as schedule_tasks
from portal.celery import app
from tests.billing.workers import ROOT, celery_worker, redis_url, wait_for

UTC = dt.UTC
# 06:00 on 1 June 2026 in London is 05:00 UTC (British Summer Time).
UK_RUN_MOMENT = dt.datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
CREATED = dt.datetime(2025, 1, 1, tzinfo=UTC)


def test_task_names_are_stable():
    assert monthly_tick_task.name == "billing.monthly_tick"
    assert "billing.monthly_tick" in app.tasks


def test_beat_schedule_ticks_every_ten_minutes():
    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} == {
        "billing.monthly_tick",
        "billing.sweep_renders",
        "billing.sweep_deliveries",
    }
    assert {entry["schedule"] for entry in schedule.values()} == {600}


def _plan(instance, **fields) -> PricingPlan:
    return PricingPlan.objects.create(
        instance=instance,
        name="Legacy",
        effective_from=dt.date(2024, 1, 1),
        fixed_fee=Decimal("5"),
        turnover_rate=Decimal("0.02"),
        **fields,
    )


def _three_shops(replica) -> None:
    """UK shops 10, 20 and 30 of owners 1, 2 and 3: three billing subjects."""
    w = replica.writer
    for n in (1, 2, 3):
        w.user(n, f"owner{n}@example.org", CREATED)
        w.enterprise(n * 10, owner_id=n, sells="any", created_at=CREATED)
    w.order(
        1,
        distributor_id=10,
        state="complete",
        completed_at=dt.datetime(2026, 5, 10, 12, tzinfo=UTC),
        total="100.00",
    )
    replica.commit()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "due"),
    [
        (UK_RUN_MOMENT - dt.timedelta(seconds=1), []),
        (UK_RUN_MOMENT, ["2026-05"]),
        (dt.datetime(2026, 6, 20, 12, tzinfo=UTC), ["2026-05"]),
    ],
    ids=["05:59:59-local", "06:00-local", "later-that-month"],
)
def test_monthly_runs_due_at_the_instances_local_run_moment(pg_replica, now, due):
    # given UK (Europe/London) with a plan and the default run moment (1st, 06:00)
    _plan(pg_replica.instance("uk"))

    # when / then
    assert [str(run.month) for run in monthly_runs_due(as_of=now)] == due


@pytest.mark.django_db
def test_monthly_runs_due_follows_the_issuers_day_and_hour(pg_replica):
    # given Katuma (Europe/Madrid) billing on the 3rd at 09:00 local (07:00 UTC)
    instance = pg_replica.instance("katuma", time_zone="Europe/Madrid", currency="EUR")
    _plan(instance)
    IssuerProfile.objects.create(
        instance=instance, legal_name="Katuma", monthly_run_day=3, monthly_run_hour=9
    )

    # when / then
    before = dt.datetime(2026, 6, 3, 6, 59, tzinfo=UTC)
    at = dt.datetime(2026, 6, 3, 7, 0, tzinfo=UTC)
    assert monthly_runs_due(as_of=before) == []
    assert [str(run.month) for run in monthly_runs_due(as_of=at)] == ["2026-05"]


@pytest.mark.django_db
def test_monthly_runs_due_skips_instances_without_a_plan(pg_replica):
    pg_replica.instance("uk")

    assert monthly_runs_due(as_of=UK_RUN_MOMENT) == []


@pytest.mark.django_db
def test_monthly_tick_from_two_beats_bills_the_month_once(pg_replica, monkeypatch):
    # given (C05) UK with 3 billable shops, each its own subject
    _three_shops(pg_replica)
    instance = pg_replica.instance("uk")
    _plan(instance)
    queued = []
    monkeypatch.setattr(
        schedule_tasks.billing_run_task,
        "apply_async",
        lambda args, **options: queued.append((args, options)),
    )

    # when two beat processes fire the tick at 06:00 local, before either run starts
    with time_machine.travel(UK_RUN_MOMENT, tick=False):
        ticks = [monthly_tick_task.apply().get(), monthly_tick_task.apply().get()]
    # and the workers then execute both queued runs
    for args, _ in queued:
        billing_run_task.apply(args=args).get()

    # then both ticks queued May, yet there is one run and 3 invoices, not 6
    assert ticks == [1, 1]
    assert [args for args, _ in queued] == [(instance.pk, "2026-05")] * 2
    assert BillingRun.objects.filter(instance=instance).count() == 1
    assert sorted(
        Invoice.objects.filter(instance=instance).values_list("subject_key", flat=True)
    ) == ["owner:1", "owner:2", "owner:3"]


@pytest.mark.django_db
def test_monthly_tick_after_the_run_queues_nothing(pg_replica):
    # given UK's May run done by the 06:00 tick (tasks run in process)
    _three_shops(pg_replica)
    instance = pg_replica.instance("uk")
    _plan(instance)
    with time_machine.travel(UK_RUN_MOMENT, tick=False):
        first = monthly_tick_task.apply().get()

    # when the next beat ticks ten minutes later
    with time_machine.travel(UK_RUN_MOMENT + dt.timedelta(minutes=10), tick=False):
        second = monthly_tick_task.apply().get()

    # then
    assert (first, second) == (1, 0)
    assert Invoice.objects.filter(instance=instance).count() == 3


def _subject_17(replica) -> None:
    """Subject 17: owner 17 with one shop, 100.00 of sales in May."""
    w = replica.writer
    w.user(17, "potato.eggplant@vegetables.com", CREATED)
    w.enterprise(170, owner_id=17, sells="any", created_at=CREATED)
    w.order(
        1,
        distributor_id=170,
        state="complete",
        completed_at=dt.datetime(2026, 5, 10, 12, tzinfo=UTC),
        total="100.00",
    )
    replica.commit()


@pytest.mark.django_db
def test_billing_run_task_delivered_twice_keeps_one_invoice_and_says_so(
    pg_replica, caplog
):
    # given (B10) the run task for (uk, 2026-05), delivered twice
    _subject_17(pg_replica)
    instance = pg_replica.instance("uk")
    _plan(instance)

    # when
    with caplog.at_level(logging.INFO, logger="billing"):
        billing_run_task.apply(args=(instance.pk, "2026-05")).get()
        billing_run_task.apply(args=(instance.pk, "2026-05")).get()

    # then one invoice of 5.00 + 2 % of 100.00 = 7.00, computed twice
    invoice = Invoice.objects.get(instance=instance)
    assert (invoice.subject_key, invoice.net) == ("owner:17", Decimal("7.00"))
    assert BillingRun.objects.get(instance=instance).computations == 2
    # and the second execution logged that it changed nothing
    computed = [
        record
        for record in caplog.records
        if record.getMessage() == "Billing run computed"
    ]
    assert [record.changed for record in computed] == [[invoice.pk], []]


def _outbox(folder: Path) -> list:
    if not folder.exists():
        return []
    return [message_from_bytes(path.read_bytes()) for path in folder.glob("*.log")]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_billing_run_and_send_delivered_twice_on_a_real_worker(
    pg_replica, monkeypatch, tmp_path
):
    # given (B10) subject 17 in UK and a worker with two processes
    _subject_17(pg_replica)
    instance = pg_replica.instance("uk")
    _plan(instance)
    outbox = tmp_path / "outbox"
    with celery_worker(
        monkeypatch, pool="prefork", concurrency=2, TEST_EMAIL_DIR=str(outbox)
    ) as worker:
        # when the run task is delivered twice
        billing_run_task.delay(instance.pk, "2026-05")
        billing_run_task.delay(instance.pk, "2026-05")
        wait_for(
            lambda: BillingRun.objects.filter(
                instance=instance, computations=2
            ).exists(),
            worker=worker,
            what="both runs",
        )
        # then one draft; finalised, it renders on the worker
        invoice = Invoice.objects.get(instance=instance)
        invoice_finalise(invoice=invoice)
        wait_for(
            lambda: Invoice.objects.get(pk=invoice.pk).pdf_status == "rendered",
            worker=worker,
            what="the render",
        )

        # when its send task is delivered twice, to both processes at once
        invoice_send_task.delay(invoice.pk, 1)
        invoice_send_task.delay(invoice.pk, 1)
        wait_for(
            lambda: Invoice.objects.get(pk=invoice.pk).status == "sent",
            worker=worker,
            what="the send",
        )
        wait_for(
            lambda: not Delivery.objects.filter(status="claimed").exists(),
            worker=worker,
        )
        # give the second copy time to run to its end
        time.sleep(2)

    # then one invoice, one delivery and one email, with the archived PDF attached
    assert Invoice.objects.filter(instance=instance).count() == 1
    delivery = Delivery.objects.get()
    assert delivery.key == f"uk:invoice:{invoice.pk}:email:1"
    assert delivery.status == Delivery.Status.HANDED_OVER
    emails = _outbox(outbox)
    assert [email["To"] for email in emails] == ["potato.eggplant@vegetables.com"]
    invoice.refresh_from_db()
    attachment = next(
        part for part in emails[0].walk() if part.get_filename() == "UK-2026-0001.pdf"
    )
    with invoice.sent_pdf.open("rb") as archived:
        assert attachment.get_payload(decode=True) == archived.read()
    assert mail.outbox == []


def _ascii_only_fonts(folder: Path) -> Path:
    """A fontconfig set-up whose only font is DejaVu Sans cut down to ASCII."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    fonts = folder / "fonts"
    fonts.mkdir()
    font = TTFont("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    subsetter = subset.Subsetter()
    subsetter.populate(unicodes=range(0x20, 0x7F))
    subsetter.subset(font)
    font.save(fonts / "AsciiSans.ttf")
    return _fontconfig(folder, fonts)


def _fontconfig(folder: Path, fonts: Path) -> Path:
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig><dir>{fonts}</dir><cachedir>{folder / 'cache'}</cachedir>"
        "</fontconfig>"
    )
    return config


def _start_worker(fonts_conf: Path) -> subprocess.CompletedProcess:
    queue = f"ofn-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": queue,
        "REDIS_URL": redis_url(),
        "FONTCONFIG_FILE": str(fonts_conf),
    }
    return subprocess.run(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.celery_worker
@pytest.mark.parametrize(
    ("fonts", "message"),
    [
        (
            "ascii",
            "Worker stopped: PDF fonts cannot draw £ ß ç ñ ü Ł €: install the "
            "system package fonts-dejavu-core (DejaVu Sans)",
        ),
        (
            "none",
            "Worker stopped: PDF fonts: fontconfig finds no font at all: install "
            "the system package fonts-dejavu-core (DejaVu Sans)",
        ),
    ],
    ids=["glyphs-missing", "no-font"],
)
def test_worker_without_a_usable_font_refuses_to_start(tmp_path, fonts, message):
    # given (W03) a machine whose fonts cannot draw £ € ñ ç ü ß Ł, or has none
    if fonts == "ascii":
        config = _ascii_only_fonts(tmp_path)
    else:
        (tmp_path / "empty").mkdir()
        config = _fontconfig(tmp_path, tmp_path / "empty")

    # when a worker starts
    result = _start_worker(config)

    # then it exits with an error status and says what to install
    assert result.returncode != 0
    assert message in result.stderr


def test_worker_with_dejavu_passes_the_start_up_check():
    # given the fonts of this machine (fonts-dejavu-core installed)
    from portal.celery import pdf_fonts_required

    # when / then: the check lets the worker start
    assert pdf_fonts_required() is None
