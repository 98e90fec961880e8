"""Turnover and month boundaries (cases B01, B03, B07, D04) and the measures of plan
segments, on both replica kinds."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import PricingPlan
from billing.selectors import PerOrder, measure_window, segment_sales, shop_sales
from billing.services import billing_run_execute
from insights.selectors import shop_last_order_dates
from instances.replicas import register_replica
from portal.periods import Month, month_bounds_utc

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _b01_replica(replica):
    w = replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(101, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    # O1: local 2026-10-31 23:59:59 AEDT; O2: local 2026-11-01 01:30 AEDT
    w.order(
        1,
        distributor_id=101,
        state="complete",
        completed_at=at(2026, 10, 31, 12, 59, 59),
        total="40.00",
    )
    w.order(
        2,
        distributor_id=101,
        state="complete",
        completed_at=at(2026, 10, 31, 14, 30),
        total="60.00",
    )
    replica.commit()
    return replica.instance("au", currency="AUD", time_zone="Australia/Melbourne")


PROCESS_ZONES = [
    ("UTC", None),
    ("Europe/London", None),
    ("UTC", "Pacific/Kiritimati"),
    ("Europe/London", "America/Los_Angeles"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("process_zone", "active_zone"),
    PROCESS_ZONES,
    ids=[f"{p}-active-{a}" for p, a in PROCESS_ZONES],
)
def test_shop_sales_b01_buckets_orders_by_melbourne_month(
    any_replica, process_zone, active_zone
):
    # given
    instance = _b01_replica(any_replica)
    alias = register_replica(instance)

    # when
    with override_settings(TIME_ZONE=process_zone):
        if active_zone:
            timezone.activate(active_zone)
        try:
            october = shop_sales(
                instance=instance, month=Month(2026, 10), billable_days={}
            )
            with CaptureQueriesContext(connections[alias]) as queries:
                november = shop_sales(
                    instance=instance, month=Month(2026, 11), billable_days={}
                )
            last_dates = shop_last_order_dates(instance=instance)
        finally:
            timezone.deactivate()

    # then
    assert october[101].turnover == Decimal("40.00")
    assert october[101].order_count == 1
    assert november[101].turnover == Decimal("60.00")
    assert november[101].order_count == 1
    assert november[101].last_order_at == at(2026, 10, 31, 14, 30)
    assert last_dates == {101: dt.date(2026, 11, 1)}
    (query,) = queries.captured_queries
    assert "'2026-10-31 13:00:00'" in query["sql"]
    assert "'2026-11-30 13:00:00'" in query["sql"]
    assert query["sql"].index(">= '2026-10-31 13:00:00'") < query["sql"].index(
        "< '2026-11-30 13:00:00'"
    )


def test_month_bounds_utc_b01_november_in_melbourne():
    assert month_bounds_utc(Month(2026, 11), "Australia/Melbourne") == (
        at(2026, 10, 31, 13),
        at(2026, 11, 30, 13),
    )


@pytest.mark.django_db
def test_shop_last_order_dates_ignores_orders_that_are_not_turnover(any_replica):
    # given: a cancelled order after the last complete one, and a cart
    instance = _b01_replica(any_replica)
    w = any_replica.writer
    w.order(
        3,
        distributor_id=101,
        state="canceled",
        completed_at=at(2026, 11, 5, 2),
        total="9.00",
    )
    w.order(4, distributor_id=101, state="cart", completed_at=None, total="1.00")
    any_replica.commit()

    # when
    last_dates = shop_last_order_dates(instance=instance)
    before_o2 = shop_last_order_dates(instance=instance, until=at(2026, 10, 31, 14))

    # then
    assert last_dates == {101: dt.date(2026, 11, 1)}
    assert before_o2 == {101: dt.date(2026, 10, 31)}


@pytest.mark.django_db
def test_shop_sales_b03_counts_complete_and_resumed_only(any_replica):
    # given
    w = any_replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(303, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    orders = [
        ("complete", at(2026, 6, 10, 10), "100.00"),  # Q1
        ("canceled", at(2026, 6, 11, 10), "50.00"),  # Q2
        ("resumed", at(2026, 6, 12, 10), "30.00"),  # Q3
        ("cart", None, "20.00"),  # Q4
        ("returned", at(2026, 6, 13, 10), "70.00"),
        ("awaiting_return", at(2026, 6, 14, 10), "80.00"),
    ]
    w.insert_many(
        "spree_orders",
        [
            w.order_row(
                n, distributor_id=303, state=state, completed_at=when, total=total
            )
            for n, (state, when, total) in enumerate(orders, 1)
        ],
    )
    any_replica.commit()
    instance = any_replica.instance("es", currency="EUR", time_zone="Europe/Madrid")

    # when
    june = shop_sales(instance=instance, month=Month(2026, 6), billable_days={})

    # then
    assert june[303].turnover == Decimal("130.00")
    assert june[303].order_count == 2


@pytest.mark.django_db
def test_shop_sales_b07_uses_current_total_not_payments(any_replica):
    # given: paid 80.00 on 3 July, edited down to 60.00, 20.00 refunded on 5 July
    w = any_replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(707, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    w.order(
        1,
        distributor_id=707,
        state="complete",
        completed_at=at(2026, 7, 3, 15),
        total="60.00",
        item_total="60.00",
        payment_state="paid",
        payment_total="60.00",
    )
    w.insert_many(
        "spree_payments",
        [
            {
                "id": n,
                "order_id": 1,
                "amount": amount,
                "state": "completed",
                "created_at": when,
                "updated_at": when,
                "captured_at": when,
            }
            for n, (amount, when) in enumerate(
                [("80.00", at(2026, 7, 3, 15)), ("-20.00", at(2026, 7, 5, 9))], 1
            )
        ],
    )
    any_replica.commit()
    instance = any_replica.instance("ca", currency="CAD", time_zone="America/Toronto")

    # when
    july = shop_sales(instance=instance, month=Month(2026, 7), billable_days={})

    # then
    assert july[707].turnover == Decimal("60.00")
    assert july[707].order_count == 1


@pytest.mark.django_db
def test_billing_run_execute_d04_exact_decimal_sum_reaches_minimum(any_replica):
    # given: 100.10 + 200.20 + 199.70 is 499.99999999999994 in binary floating point
    w = any_replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(101, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    w.insert_many(
        "spree_orders",
        [
            w.order_row(
                n,
                distributor_id=101,
                state="complete",
                completed_at=at(2026, 5, n, 12),
                total=total,
            )
            for n, total in enumerate(["100.10", "200.20", "199.70"], 1)
        ],
    )
    any_replica.commit()
    instance = any_replica.instance("uk")
    PricingPlan.objects.create(
        instance=instance,
        name="1 % from 500",
        effective_from=dt.date(2026, 1, 1),
        turnover_rate=Decimal("0.01"),
        minimum_billable_turnover=Decimal("500"),
    )

    # when
    sales = shop_sales(instance=instance, month=Month(2026, 5), billable_days={})
    run = billing_run_execute(instance=instance, month=Month(2026, 5))

    # then
    assert sales[101].turnover == Decimal("500.00")
    assert str(sales[101].turnover) == "500.00"
    (invoice,) = run.invoices.all()
    assert [(line.component, line.amount) for line in invoice.lines.all()] == [
        ("turnover_share", Decimal("5.00"))
    ]
    assert invoice.gross == Decimal("5.00")


@pytest.mark.django_db
def test_segment_sales_measures_plan_segments_by_local_day(any_replica):
    # given: shop 101 billed by one plan 1-15 May and by a per-order plan 16-31 May
    # (London); shop 102 by one plan all month
    w = any_replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(101, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    w.enterprise(102, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    orders = [
        (101, at(2026, 5, 15, 22, 30), "100.10"),  # 15 May 23:30 BST
        (101, at(2026, 5, 15, 23, 30), "200.20"),  # 16 May 00:30 BST
        (101, at(2026, 5, 31, 22, 59), "199.70"),  # 31 May 23:59 BST
        (101, at(2026, 5, 31, 23, 0), "55.00"),  # 1 June
        (102, at(2026, 5, 3, 9), "10.00"),
        (102, at(2026, 5, 20, 9), "20.00"),
    ]
    w.insert_many(
        "spree_orders",
        [
            w.order_row(
                n, distributor_id=shop, state="complete", completed_at=when, total=total
            )
            for n, (shop, when, total) in enumerate(orders, 1)
        ],
    )
    any_replica.commit()
    instance = any_replica.instance("uk")
    may = [dt.date(2026, 5, d) for d in range(1, 32)]

    def window(shop, days):
        return measure_window(instance=instance, shop_id=shop, days=days)

    windows = {
        "a": window(101, may[:15]),
        "b": window(101, may[15:]),
        "c": window(102, may),
    }
    per_order = {"b": PerOrder("total", Decimal("0.02"), Decimal("0.30"), Decimal("5"))}
    alias = register_replica(instance)

    # when
    with CaptureQueriesContext(connections[alias]) as queries:
        sales = segment_sales(
            instance=instance,
            month=Month(2026, 5),
            windows=windows,
            per_order=per_order,
        )

    # then: 2 % of 200.20 = 4.004 and of 199.70 = 3.994, unrounded: 7.998
    assert len(queries.captured_queries) == 1
    assert {
        key: (s.turnover, s.order_count, s.per_order_fees) for key, s in sales.items()
    } == {
        "a": (Decimal("100.10"), 1, Decimal("0")),
        "b": (Decimal("399.90"), 2, Decimal("7.998")),
        "c": (Decimal("30.00"), 2, Decimal("0")),
    }
    assert sales["b"].last_order_at == at(2026, 5, 31, 22, 59)
