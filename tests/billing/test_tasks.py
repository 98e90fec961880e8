"""Celery wiring: stable task names, eager fan-out, and a real worker on Redis."""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.db import connection

from billing.models import BillingRun, Invoice, PricingPlan
from billing.tasks import billing_run_task, invoice_render_task
from portal.celery import app

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[2]


def test_task_names_are_stable():
    # Renaming a task strands messages already queued under the old name.
    assert billing_run_task.name == "billing.run_month"
    assert invoice_render_task.name == "billing.render_invoice"
    assert {"billing.run_month", "billing.render_invoice"} <= set(app.tasks)


def _seed_two_shops(replica) -> None:
    w = replica.writer
    w.user(1, "ana@example.org", dt.datetime(2025, 1, 1, tzinfo=UTC))
    w.user(2, "bo@example.org", dt.datetime(2025, 1, 1, tzinfo=UTC))
    for shop_id, owner_id in ((10, 1), (20, 2)):
        w.enterprise(
            shop_id,
            owner_id=owner_id,
            sells="any",
            created_at=dt.datetime(2025, 1, 1, tzinfo=UTC),
        )
    w.order(
        1,
        distributor_id=10,
        state="complete",
        completed_at=dt.datetime(2026, 5, 10, 12, tzinfo=UTC),
        total="100.00",
    )
    replica.commit()


def _plan(instance) -> None:
    PricingPlan.objects.create(
        instance=instance,
        name="Legacy",
        effective_from=dt.date(2024, 1, 1),
        fixed_fee=Decimal("5"),
        turnover_rate=Decimal("0.02"),
    )


@pytest.mark.django_db
def test_billing_run_task_renders_every_draft_in_process(pg_replica):
    # given two shops, each its own subject, and tasks executed in process
    _seed_two_shops(pg_replica)
    instance = pg_replica.instance("uk")
    _plan(instance)

    # when
    billing_run_task.delay(instance.pk, "2026-05")

    # then: 5.00 + 2.00 and 5.00, both rendered
    invoices = Invoice.objects.filter(instance=instance).order_by("subject_key")
    assert [(i.subject_key, i.gross) for i in invoices] == [
        ("owner:1", Decimal("7.00")),
        ("owner:2", Decimal("5.00")),
    ]
    assert {i.pdf_status for i in invoices} == {Invoice.PdfStatus.RENDERED}


def _redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_billing_run_task_on_a_real_worker(pg_replica, monkeypatch):
    # given a PostgreSQL portal database the worker can share, and Redis
    if connection.vendor != "postgresql":
        pytest.skip("a separate worker process needs a shared (PostgreSQL) database")
    try:
        redis.Redis.from_url(_redis_url()).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable")
    _seed_two_shops(pg_replica)
    instance = pg_replica.instance("uk")
    _plan(instance)
    queue = f"ofn-test-{uuid.uuid4().hex[:8]}"
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": f"postgresql://{settings['USER']}@{settings['HOST']}:"
        f"{settings['PORT']}/{settings['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": queue,
        "REDIS_URL": _redis_url(),
    }
    worker = subprocess.Popen(  # noqa: S603 - fixed arguments
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
            "--concurrency",
            "1",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
    )
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", _redis_url())
    monkeypatch.setattr(app.conf, "task_default_queue", queue)
    try:
        # when the run is sent twice, as a duplicated delivery would
        billing_run_task.apply_async((instance.pk, "2026-05"), queue=queue)
        billing_run_task.apply_async((instance.pk, "2026-05"), queue=queue)

        # then the worker computes one run, two drafts, both rendered
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            statuses = list(
                Invoice.objects.filter(instance=instance).values_list(
                    "pdf_status", flat=True
                )
            )
            if statuses == [Invoice.PdfStatus.RENDERED] * 2:
                break
            assert worker.poll() is None, "the Celery worker died"
            time.sleep(0.5)
        assert sorted(
            Invoice.objects.filter(instance=instance).values_list("gross", flat=True)
        ) == [Decimal("5.00"), Decimal("7.00")]
        assert statuses == [Invoice.PdfStatus.RENDERED] * 2
        assert BillingRun.objects.filter(instance=instance).count() == 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)
