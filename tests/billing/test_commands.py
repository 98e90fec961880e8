"""run_billing and render_invoices, as an operator uses them."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from billing.models import BillingRun, Invoice, PricingPlan

UTC = dt.UTC


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def uk(pg_replica):
    """A UK shop with 251.00 of May turnover; fixed 10.01 + 2 %, VAT 20 % on top."""
    w = pg_replica.writer
    w.user(7, "owner@example.org", dt.datetime(2025, 1, 1, tzinfo=UTC))
    w.enterprise(
        12,
        owner_id=7,
        sells="own",
        name="Hill Farm",
        created_at=dt.datetime(2025, 1, 1, tzinfo=UTC),
    )
    w.order(
        1,
        distributor_id=12,
        state="complete",
        completed_at=dt.datetime(2026, 5, 3, 9, tzinfo=UTC),
        total="200.50",
    )
    w.order(
        2,
        distributor_id=12,
        state="resumed",
        completed_at=dt.datetime(2026, 5, 30, 9, tzinfo=UTC),
        total="50.50",
    )
    w.order(
        3,
        distributor_id=12,
        state="canceled",
        completed_at=dt.datetime(2026, 5, 4, 9, tzinfo=UTC),
        total="999.00",
    )
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    PricingPlan.objects.create(
        instance=instance,
        name="UK standard",
        effective_from=dt.date(2024, 1, 1),
        fixed_fee=Decimal("10.01"),
        turnover_rate=Decimal("0.02"),
        tax_rate=Decimal("0.20"),
    )
    return instance


@pytest.mark.django_db
def test_run_billing_json_lists_every_invoice_and_line(uk):
    # when
    document = json.loads(run("run_billing", "uk", "--month", "2026-05", "--json"))

    # then: 10.01 + 2 % of 251.00 (5.02) = 15.03 net; VAT once on the net: 3.006 -> 3.01
    (invoice,) = document["invoices"]
    assert (document["instance"], document["month"]) == ("uk", "2026-05")
    assert {k: invoice[k] for k in ("subject", "currency", "net", "tax", "gross")} == {
        "subject": "owner:7",
        "currency": "GBP",
        "net": "15.03",
        "tax": "3.01",
        "gross": "18.04",
    }
    assert [
        (
            line["enterprise_id"],
            line["component"],
            line["turnover"],
            line["order_count"],
            line["amount"],
        )
        for line in invoice["lines"]
    ] == [
        (12, "fixed_fee", "251.00", 2, "10.01"),
        (12, "turnover_share", "251.00", 2, "5.02"),
    ]


@pytest.mark.django_db
def test_run_billing_twice_leaves_the_same_invoices(uk):
    first = json.loads(run("run_billing", "uk", "--month", "2026-05", "--json"))
    second = json.loads(run("run_billing", "uk", "--month", "2026-05", "--json"))

    assert first == second
    assert BillingRun.objects.count() == 1
    assert Invoice.objects.count() == 1


@pytest.mark.django_db
def test_run_billing_summary_names_counts_and_total(uk):
    output = run("run_billing", "uk", "--month", "2026-05")

    assert (
        "Instance uk, 2026-05: 1 draft invoices for 1 shops, 18.04 GBP gross." in output
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "Month '2026-13' is not valid: write it as YYYY-MM"),
        ("May", "Month 'May'"),
    ],
    ids=["month-13", "word"],
)
def test_run_billing_rejects_a_bad_month(uk, month, message):
    with pytest.raises(CommandError, match=message):
        run("run_billing", "uk", "--month", month)
    assert not BillingRun.objects.exists()


@pytest.mark.django_db
def test_run_billing_on_a_replica_that_is_down_writes_nothing(pg_replica):
    # given an instance whose replica port has nobody listening
    instance = pg_replica.instance(
        "uk", replica_url="postgresql://portal:s3cret-pw@127.0.0.1:1/ofn"
    )
    PricingPlan.objects.create(
        instance=instance, name="Plan", effective_from=dt.date(2024, 1, 1)
    )

    # when
    with pytest.raises(CommandError) as error:
        run("run_billing", "uk", "--month", "2026-05")

    # then: one line naming the instance and the cause, never the password
    message = str(error.value)
    assert message.startswith("Instance uk: ")
    assert "\n" not in message
    assert "s3cret-pw" not in message
    assert not BillingRun.objects.exists()
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_render_invoices_renders_the_month_as_pdf(uk):
    # given
    run("run_billing", "uk", "--month", "2026-05")

    # when
    output = run("render_invoices", "uk", "--month", "2026-05")

    # then
    invoice = Invoice.objects.get()
    assert "1 PDFs rendered" in output
    assert invoice.pdf_status == Invoice.PdfStatus.RENDERED
    assert invoice.pdf.open("rb").read(5) == b"%PDF-"


@pytest.mark.django_db
def test_render_invoices_without_a_run_says_what_to_do(uk):
    with pytest.raises(CommandError, match="run_billing uk --month 2026-04"):
        run("render_invoices", "uk", "--month", "2026-04")


@pytest.mark.django_db
def test_run_billing_refuses_a_month_that_has_not_started(uk):
    june = dt.datetime(2026, 6, 15, 12, tzinfo=UTC)
    with (
        time_machine.travel(june, tick=False),
        pytest.raises(CommandError, match="2026-07 has not started yet in Europe/Lon"),
    ):
        run("run_billing", "uk", "--month", "2026-07")
    assert not BillingRun.objects.exists()


@pytest.mark.django_db
def test_run_billing_bills_a_month_in_progress_only_when_asked(uk):
    # given 15 May 2026: the shop has sold 200.50 so far (the 30 May order is in future)
    with time_machine.travel(dt.datetime(2026, 5, 15, 12, tzinfo=UTC), tick=False):
        with pytest.raises(CommandError, match="2026-05 is not over yet.*--open-month"):
            run("run_billing", "uk", "--month", "2026-05")

        # when
        document = json.loads(
            run("run_billing", "uk", "--month", "2026-05", "--open-month", "--json")
        )

    # then: the draft exists; the month boundary is 31 May 23:00 UTC (BST)
    assert document["invoices"][0]["status"] == "draft"
    assert BillingRun.objects.count() == 1
