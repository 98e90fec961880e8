"""Turnover and month boundaries (cases B01, B03, B07), on both replica kinds."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from billing.selectors import shop_sales
from portal.periods import Month, month_bounds_utc

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("process_zone", ["UTC", "Europe/London"])
def test_shop_sales_b01_buckets_orders_by_melbourne_month(any_replica, process_zone):
    # given
    w = any_replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(101, owner_id=1, sells="any", created_at=at(2025, 1, 1))
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
    any_replica.commit()
    instance = any_replica.instance(
        "au", currency="AUD", time_zone="Australia/Melbourne"
    )

    # when
    with override_settings(TIME_ZONE=process_zone):
        october = shop_sales(instance=instance, month=Month(2026, 10), billable_days={})
        november = shop_sales(
            instance=instance, month=Month(2026, 11), billable_days={}
        )

    # then
    assert october[101].turnover == Decimal("40.00")
    assert november[101].turnover == Decimal("60.00")
    assert november[101].last_order_at == at(2026, 10, 31, 14, 30)
    assert month_bounds_utc(Month(2026, 11), "Australia/Melbourne") == (
        at(2026, 10, 31, 13),
        at(2026, 11, 30, 13),
    )
