"""Billing runs end to end on replicas: OFN's formula table, published plans, subjects,
idempotency and replica failures. Every expected figure is worked out by hand."""

import datetime as dt
import os
from decimal import Decimal

import psycopg
import pytest
from django.db import IntegrityError, connections, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import BillingRun, Invoice, InvoiceLine, PricingPlan
from billing.services import billing_run_execute
from instances.replicas import register_replica
from portal.exceptions import ReplicaError, ReplicaSchemaMismatch, ReplicaUnavailable
from portal.models import AuditEvent
from portal.periods import Month

UTC = dt.UTC
MAY = Month(2026, 5)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def make_plan(instance, **figures) -> PricingPlan:
    values = {
        "name": "Plan",
        "effective_from": dt.date(2026, 1, 1),
        "fixed_fee": "0",
        "turnover_rate": "0",
        "monthly_cap": None,
        "minimum_billable_turnover": "0",
        "tax_rate": "0",
    }
    values.update(figures)
    for key in ("fixed_fee", "turnover_rate", "minimum_billable_turnover", "tax_rate"):
        values[key] = Decimal(values[key])
    if values["monthly_cap"] is not None:
        values["monthly_cap"] = Decimal(values["monthly_cap"])
    return PricingPlan.objects.create(instance=instance, **values)


def add_shop(writer, shop_id, *, sells="any", owner_id=None, totals=(), **fields):
    """A shop created long before 2026 with complete orders in mid May 2026."""
    owner_id = owner_id or shop_id
    writer.user(owner_id, f"owner{owner_id}@example.com", at(2024, 1, 1))
    writer.enterprise(
        shop_id, owner_id=owner_id, sells=sells, created_at=at(2024, 1, 1), **fields
    )
    writer.insert_many(
        "spree_orders",
        [
            writer.order_row(
                shop_id * 1000 + n,
                distributor_id=shop_id,
                state="complete",
                completed_at=at(2026, 5, 15, 12),
                total=total,
            )
            for n, total in enumerate(totals)
        ],
    )


def invoices(run) -> list[Invoice]:
    return list(run.invoices.order_by("subject_key"))


# OFN's formula table (cases.md): T, F, r, C (0 = none), t, M -> bill, with the tax in
# it worked out by hand (t x the capped charge). T is split into two orders so that the
# sum happens in SQL.
OFN_TABLE = [
    ("0", "10", "0", "0", "0", "0", "10.00", "0.00"),
    ("0", "10", "0", "0", "0", "1", "0.00", "0.00"),
    ("0", "10", "0", "0", "0.1", "0", "11.00", "1.00"),
    ("100", "10", "0.5", "65", "0", "99", "60.00", "0.00"),
    ("100", "10", "0.5", "55", "0", "99", "55.00", "0.00"),
    ("100", "10", "0.5", "0", "0", "0", "60.00", "0.00"),
    ("100", "10", "0", "5", "0", "0", "5.00", "0.00"),
    ("100", "0", "0.5", "45", "0", "0", "45.00", "0.00"),
    ("100", "10", "0.5", "0", "0", "101", "0.00", "0.00"),
    ("100", "10", "0.5", "61", "0.1", "99", "66.00", "6.00"),
    ("100", "10", "0.5", "59", "0.1", "99", "64.90", "5.90"),
    ("100", "10", "0", "9", "0.1", "99", "9.90", "0.90"),
    ("100", "0", "0.5", "49", "0.1", "99", "53.90", "4.90"),
]


def _table_id(row) -> str:
    t, f, r, c, tax, m, bill, _ = row
    return f"T{t}-F{f}-r{r}-C{c}-t{tax}-M{m}={bill}"


@pytest.mark.django_db
@pytest.mark.parametrize("row", OFN_TABLE, ids=[_table_id(r) for r in OFN_TABLE])
def test_billing_run_execute_reproduces_ofn_formula_table(pg_replica, row):
    # given
    turnover, fee, rate, cap, tax_rate, minimum, bill, tax = row
    half = (Decimal(turnover) / 2).quantize(Decimal("0.01"))
    totals = [] if turnover == "0" else [str(half), str(Decimal(turnover) - half)]
    add_shop(pg_replica.writer, 101, totals=totals)
    pg_replica.commit()
    instance = pg_replica.instance("legacy", currency="AUD", time_zone="UTC")
    make_plan(
        instance,
        fixed_fee=fee,
        turnover_rate=rate,
        monthly_cap=None if cap == "0" else cap,
        tax_rate=tax_rate,
        minimum_billable_turnover=minimum,
    )

    # when
    run = billing_run_execute(instance=instance, month=MAY)

    # then
    (invoice,) = invoices(run)
    assert invoice.gross == Decimal(bill)
    assert invoice.tax == Decimal(tax)
    assert invoice.net == Decimal(bill) - Decimal(tax)
    assert sum(line.amount for line in invoice.lines.all()) == invoice.net
    assert {line.turnover for line in invoice.lines.all()} == {Decimal(turnover)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sells", "totals", "expected"),
    [("none", ["45.00"], None), ("any", [], Decimal("5.00"))],
    ids=["profile-with-sales-pays-nothing", "shop-without-sales-pays-fixed-fee"],
)
def test_billing_run_execute_bills_shops_not_profiles(
    pg_replica, sells, totals, expected
):
    # given
    add_shop(pg_replica.writer, 101, sells=sells, totals=totals)
    pg_replica.commit()
    instance = pg_replica.instance("legacy", currency="AUD", time_zone="UTC")
    make_plan(instance, fixed_fee="5", turnover_rate="0.02", monthly_cap="50")

    # when
    run = billing_run_execute(instance=instance, month=MAY)

    # then
    grosses = [invoice.gross for invoice in invoices(run)]
    assert grosses == ([] if expected is None else [expected])


CANADA = [
    ("499.99", "0.00", ["below_minimum"]),
    ("500.00", "10.00", ["turnover_share"]),
    ("4321.00", "86.42", ["turnover_share"]),
    ("7500.00", "150.00", ["turnover_share"]),
    ("12000.00", "150.00", ["turnover_share", "cap"]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sales", "bill", "components"), CANADA, ids=[c[0] for c in CANADA]
)
def test_billing_run_execute_ofn_canada_plan(pg_replica, sales, bill, components):
    # given: an order at 2026-05-31 23:30 Toronto time (EDT) is still May's
    add_shop(pg_replica.writer, 101)
    pg_replica.writer.order(
        1,
        distributor_id=101,
        state="complete",
        completed_at=at(2026, 6, 1, 3, 30),
        total=sales,
    )
    pg_replica.commit()
    instance = pg_replica.instance(
        "ca", currency="CAD", time_zone="America/Toronto", invoice_prefix="CA"
    )
    make_plan(
        instance,
        turnover_rate="0.02",
        monthly_cap="150",
        minimum_billable_turnover="500",
    )

    # when
    run = billing_run_execute(instance=instance, month=MAY)

    # then: a shop under the minimum still gets a 0.00 draft with the reason, for review
    (invoice,) = invoices(run)
    lines = list(invoice.lines.all())
    assert invoice.currency == "CAD"
    assert (invoice.net, invoice.tax, invoice.gross) == (
        Decimal(bill),
        Decimal("0.00"),
        Decimal(bill),
    )
    assert [line.component for line in lines] == components
    assert {line.turnover for line in lines} == {Decimal(sales)}


def _snapshot(run) -> list[tuple]:
    return [
        (
            invoice.pk,
            invoice.subject_key,
            invoice.gross,
            [
                (line.pk, line.enterprise_id, line.component, line.amount)
                for line in invoice.lines.all()
            ],
        )
        for invoice in invoices(run)
    ]


@pytest.mark.django_db
def test_billing_run_execute_twice_keeps_the_same_invoices(pg_replica):
    # given
    add_shop(pg_replica.writer, 101, totals=["100.00"])
    add_shop(pg_replica.writer, 102, totals=["250.00", "50.00"])
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    make_plan(instance, fixed_fee="10", turnover_rate="0.01")
    first = billing_run_execute(instance=instance, month=MAY)
    before = _snapshot(first)

    # when
    second = billing_run_execute(instance=instance, month=MAY)

    # then: 10 + 1.00 and 10 + 3.00, once each, same rows
    assert second.pk == first.pk
    assert BillingRun.objects.count() == 1
    assert Invoice.objects.count() == 2
    assert _snapshot(second) == before
    assert [gross for _, _, gross, _ in before] == [Decimal("11"), Decimal("13")]
    second.refresh_from_db()
    assert second.computations == 2


@pytest.mark.django_db
def test_invoice_unique_per_instance_subject_and_month(pg_replica):
    # given
    add_shop(pg_replica.writer, 17, totals=["100.00"])
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    make_plan(instance, fixed_fee="10")
    run = billing_run_execute(instance=instance, month=MAY)
    (invoice,) = invoices(run)

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            run=run,
            instance=instance,
            month=invoice.month,
            subject_key="owner:17",
            subject_name="Duplicate",
            currency="GBP",
            tax_rate=Decimal("0"),
            net=Decimal("0"),
            tax=Decimal("0"),
            gross=Decimal("0"),
        )
    assert Invoice.objects.count() == 1


@pytest.mark.django_db
def test_billing_run_execute_groups_shops_by_billing_subject(pg_replica):
    # given: shops 201 and 202 share external id 17; shop 203's owner is user 17;
    # shop 204 has its own owner
    w = pg_replica.writer
    add_shop(w, 201, owner_id=1, external_billing_id="17", totals=["100.00"])
    add_shop(w, 202, owner_id=2, external_billing_id="17", totals=["300.00"])
    add_shop(w, 203, owner_id=17, totals=["50.00"])
    add_shop(w, 204, owner_id=4)
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    make_plan(instance, fixed_fee="10", turnover_rate="0.02")

    # when
    run = billing_run_execute(instance=instance, month=MAY)

    # then
    by_subject = {invoice.subject_key: invoice for invoice in invoices(run)}
    assert sorted(by_subject) == ["external:17", "owner:17", "owner:4"]
    shared = by_subject["external:17"]
    assert [(line.enterprise_id, line.amount) for line in shared.lines.all()] == [
        (201, Decimal("10")),
        (201, Decimal("2")),
        (202, Decimal("10")),
        (202, Decimal("6")),
    ]
    assert shared.gross == Decimal("28.00")
    assert by_subject["owner:17"].gross == Decimal("11.00")
    assert by_subject["owner:17"].subject_email == "owner17@example.com"
    assert by_subject["owner:4"].gross == Decimal("10.00")
    assert run.shops_billed == 4


@pytest.mark.django_db
def test_billing_run_execute_reads_replica_in_constant_queries(pg_replica):
    # given: 50 shops, ten of them start mid-month (partial windows), 3 orders each
    w = pg_replica.writer
    for shop_id in range(1, 51):
        created = at(2026, 5, 10) if shop_id % 5 == 0 else at(2024, 1, 1)
        w.user(shop_id, f"o{shop_id}@example.com", at(2024, 1, 1))
        w.enterprise(shop_id, owner_id=shop_id, sells="any", created_at=created)
        w.insert_many(
            "spree_orders",
            [
                w.order_row(
                    shop_id * 10 + n,
                    distributor_id=shop_id,
                    state="complete",
                    completed_at=at(2026, 5, 20, n),
                    total="10.00",
                )
                for n in range(3)
            ],
        )
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    make_plan(instance, fixed_fee="31", turnover_rate="0.10")
    alias = register_replica(instance)

    # when
    with CaptureQueriesContext(connections[alias]) as replica:
        run = billing_run_execute(instance=instance, month=MAY)

    # then: shops, versions, sales and owners' emails: four queries for 50 shops
    assert len(replica.captured_queries) == 4
    assert run.invoices.count() == 50
    # full month 31 + 3.00; from 10 May 22/31 x 31 = 22 + 3.00
    grosses = sorted({invoice.gross for invoice in run.invoices.all()})
    assert grosses == [Decimal("25.00"), Decimal("34.00")]


WRONG_PASSWORD = "wrong-Secret-7f3a"  # noqa: S105 - the point of the test
AUTH_PROBE_URL = (
    f"postgresql://ofn_portal_auth_probe:{WRONG_PASSWORD}@127.0.0.1:5432/postgres"
)


def _require_password_auth():
    """Skip (fail on CI) when the local server accepts any password for the probe."""
    try:
        with psycopg.connect(AUTH_PROBE_URL, connect_timeout=3):
            accepted = True
    except psycopg.OperationalError as error:
        accepted = "password authentication failed" not in str(error)
    if accepted:
        reason = (
            "role ofn_portal_auth_probe needs a password: run bin/pg-auth-probe-setup"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _assert_one_line_error(error: ReplicaError, slug: str, *causes: str) -> str:
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"Instance {slug}: ")
    assert any(cause in message for cause in causes), message
    assert BillingRun.objects.count() == 0
    assert Invoice.objects.count() == 0
    assert InvoiceLine.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    return message


@pytest.mark.django_db
@pytest.mark.usefixtures("_replica_connections_allowed")
def test_billing_run_execute_replica_down_writes_nothing(pg_replica):
    # given: nothing listens on port 1
    instance = pg_replica.instance(
        "down", replica_url="postgresql://portal:Pa55-word@127.0.0.1:1/ofn"
    )
    make_plan(instance, fixed_fee="10")

    # when
    with pytest.raises(ReplicaUnavailable) as caught:
        billing_run_execute(instance=instance, month=MAY)

    # then
    message = _assert_one_line_error(caught.value, "down", "Connection refused")
    assert "Pa55-word" not in message


@pytest.mark.django_db
def test_billing_run_execute_missing_column_writes_nothing(pg_replica):
    # given
    add_shop(pg_replica.writer, 101, totals=["10.00"])
    pg_replica.writer.connection.execute("ALTER TABLE spree_orders DROP COLUMN state")
    pg_replica.commit()
    instance = pg_replica.instance("old")
    make_plan(instance, fixed_fee="10")

    # when
    with pytest.raises(ReplicaSchemaMismatch) as caught:
        billing_run_execute(instance=instance, month=MAY)

    # then
    _assert_one_line_error(caught.value, "old", "spree_orders.state")


@pytest.mark.django_db
@pytest.mark.usefixtures("_replica_connections_allowed")
def test_billing_run_execute_wrong_password_never_shows_it(pg_replica):
    # given
    _require_password_auth()
    instance = pg_replica.instance("auth", replica_url=AUTH_PROBE_URL)
    make_plan(instance, fixed_fee="10")

    # when
    with pytest.raises(ReplicaUnavailable) as caught:
        billing_run_execute(instance=instance, month=MAY)

    # then
    message = _assert_one_line_error(
        caught.value, "auth", "password authentication failed"
    )
    assert WRONG_PASSWORD not in message
    assert WRONG_PASSWORD not in repr(caught.value.args)
