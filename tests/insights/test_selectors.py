"""Local day and month buckets (cases D02, M01), on both replica kinds."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insights.selectors import Bucket, orders_per_local_day, orders_per_local_month
from instances.replicas import register_replica
from portal.periods import Month
from tests.replicas import build_replica, destroy_replica

UTC = dt.UTC
NONE = Bucket(0, Decimal("0"))


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _shop_with_orders(replica, orders) -> None:
    w = replica.writer
    w.user(1, "owner@example.com", at(2025, 1, 1))
    w.enterprise(1, owner_id=1, sells="any", created_at=at(2025, 1, 1))
    w.insert_many(
        "spree_orders",
        [
            w.order_row(
                n, distributor_id=1, state=state, completed_at=when, total=total
            )
            for n, (when, total, state) in enumerate(orders, 1)
        ],
    )
    replica.commit()


@pytest.fixture
def second_replica(any_replica, tmp_path):
    """Another empty replica of the same kind, for a second instance."""
    replica = build_replica(any_replica.vendor, tmp_path)
    yield replica
    destroy_replica(replica)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "active_zone", [None, "Asia/Kolkata"], ids=["no-active-zone", "active-kolkata"]
)
def test_orders_per_local_day_d02_uses_each_instance_zone(
    any_replica, second_replica, active_zone
):
    # given: AU 2026-10-31T14:30Z is 1 Nov 01:30 in Melbourne; CA 2026-11-01T03:30Z is
    # 31 Oct 23:30 in Toronto. A cancelled AU order must not count.
    _shop_with_orders(
        any_replica,
        [
            (at(2026, 10, 31, 14, 30), "60.00", "complete"),
            (at(2026, 10, 31, 20), "5.00", "canceled"),
        ],
    )
    _shop_with_orders(second_replica, [(at(2026, 11, 1, 3, 30), "25.00", "complete")])
    au = any_replica.instance("au", currency="AUD", time_zone="Australia/Melbourne")
    ca = second_replica.instance("ca", currency="CAD", time_zone="America/Toronto")
    days = {"start": dt.date(2026, 10, 31), "end": dt.date(2026, 11, 2)}
    au_alias = register_replica(au)

    # when: interleaved, in one thread, under a London process zone
    with override_settings(TIME_ZONE="Europe/London"):
        if active_zone:
            timezone.activate(active_zone)
        try:
            with CaptureQueriesContext(connections[au_alias]) as au_queries:
                au_first = orders_per_local_day(instance=au, **days)
            ca_first = orders_per_local_day(instance=ca, **days)
            au_second = orders_per_local_day(instance=au, **days)
            ca_second = orders_per_local_day(instance=ca, **days)
        finally:
            timezone.deactivate()

    # then
    assert au_first == au_second
    assert au_first == {
        dt.date(2026, 10, 31): NONE,
        dt.date(2026, 11, 1): Bucket(1, Decimal("60.00")),
    }
    assert ca_first == ca_second
    assert ca_first == {
        dt.date(2026, 10, 31): Bucket(1, Decimal("25.00")),
        dt.date(2026, 11, 1): NONE,
    }
    (query,) = au_queries.captured_queries
    assert "GROUP BY" in query["sql"]
    assert "Australia/Melbourne" in query["sql"]


@pytest.mark.django_db
def test_orders_per_local_month_m01_paris_buckets(any_replica):
    # given: T1 is 1 Mar 00:30 CET, T2 31 Mar 23:30 CEST, T3 1 Apr 00:30 CEST
    _shop_with_orders(
        any_replica,
        [
            (at(2026, 2, 28, 23, 30), "40.00", "complete"),
            (at(2026, 3, 31, 21, 30), "60.00", "complete"),
            (at(2026, 3, 31, 22, 30), "25.00", "complete"),
        ],
    )
    fr = any_replica.instance("fr", currency="EUR", time_zone="Europe/Paris")
    alias = register_replica(fr)

    # when
    with (
        override_settings(TIME_ZONE="UTC"),
        CaptureQueriesContext(connections[alias]) as queries,
    ):
        months = orders_per_local_month(
            instance=fr, first=Month(2026, 2), last=Month(2026, 4)
        )

    # then: grouping by UTC would give Feb 40.00 / Mar 85.00 / Apr 0.00
    assert {str(month): bucket.turnover for month, bucket in months.items()} == {
        "2026-02": Decimal("0"),
        "2026-03": Decimal("100.00"),
        "2026-04": Decimal("25.00"),
    }
    assert [bucket.order_count for bucket in months.values()] == [0, 2, 1]
    assert len(queries.captured_queries) == 1


@pytest.mark.django_db
def test_orders_per_local_day_d05_window_starts_at_local_midnight(any_replica):
    # given: E1 is 4 June 23:30 in Madrid, E2 5 June 00:30
    _shop_with_orders(
        any_replica,
        [
            (at(2026, 6, 4, 21, 30), "10.00", "complete"),
            (at(2026, 6, 4, 22, 30), "20.00", "complete"),
        ],
    )
    es = any_replica.instance("es", currency="EUR", time_zone="Europe/Madrid")

    # when: local 5 to 11 June
    days = orders_per_local_day(
        instance=es, start=dt.date(2026, 6, 5), end=dt.date(2026, 6, 12)
    )

    # then
    assert len(days) == 7
    assert days[dt.date(2026, 6, 5)] == Bucket(1, Decimal("20.00"))
    assert sum(bucket.order_count for bucket in days.values()) == 1
