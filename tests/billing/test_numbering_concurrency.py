"""Eight OS processes finalising one instance's invoices at once (rule 8, issue 3).

Each process is a separate Python interpreter with its own connection to the test
database, so the NumberSequence row lock is contended for real. The processes load
everything first, report "ready", and start together when the test writes "go" to
all of them (a barrier). Only the PDF render is replaced, by a fixed byte string.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 8
PER_PROCESS = 6

WORKER = textwrap.dedent(
    """
    import datetime as dt
    import json
    import sys

    import django

    django.setup()

    from billing import pdf
    from billing.models import Invoice
    from billing.services.lifecycle import invoice_finalise_many

    pdf.invoice_pdf_bytes = lambda *, invoice: b"%PDF-1.7 concurrency test"
    ids = json.loads(sys.argv[1])
    invoices = list(Invoice.objects.select_related("instance").filter(pk__in=ids))
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    outcome = invoice_finalise_many(
        invoices=invoices,
        actor=None,
        as_of=dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC),
    )
    print(json.dumps({
        "numbers": [invoice.number for invoice in outcome.finalised],
        "failed": [error for _, error in outcome.failed],
    }), flush=True)
    """
)


def _database_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return (
        f"postgresql://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}"
        f":{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def _start(ids: list[int]) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", WORKER, json.dumps(ids)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _drafts(count: int) -> list[int]:
    from billing.models import Invoice
    from tests.billing.factories import (
        BillingRunFactory,
        InvoiceFactory,
        InvoiceLineFactory,
    )
    from tests.instances.factories import InstanceFactory

    uk = InstanceFactory(slug="uk", invoice_prefix="UK", time_zone="Europe/London")
    run = BillingRunFactory(instance=uk)
    for n in range(count):
        InvoiceLineFactory(
            invoice=InvoiceFactory(
                run=run, subject_key=f"owner:{n}", subject_name=f"S{n:03d}"
            )
        )
    return list(Invoice.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_invoice_finalise_numbers_are_gapless_across_eight_processes():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL as the portal database (row locks across processes); "
            "set DATABASE_URL=postgresql://... as CI does"
        )
    # given 48 committed drafts of one instance, dealt round-robin to 8 processes
    ids = _drafts(PROCESSES * PER_PROCESS)
    workers = [_start(ids[k::PROCESSES]) for k in range(PROCESSES)]

    # when every process is loaded, all start at once
    try:
        for worker in workers:
            line = worker.stdout.readline().strip()
            assert line == "ready", worker.stderr.read()
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()

    # then: UK-2026-0001 .. UK-2026-0048, each exactly once, none failed
    from billing.models import Invoice, NumberSequence

    taken = [number for result in results for number in result["numbers"]]
    expected = [f"UK-2026-{n:04d}" for n in range(1, PROCESSES * PER_PROCESS + 1)]
    assert [result["failed"] for result in results] == [[]] * PROCESSES
    assert sorted(taken) == expected
    assert (
        sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True))
        == expected
    )
    assert NumberSequence.objects.get().last_number == PROCESSES * PER_PROCESS
